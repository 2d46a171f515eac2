#include "regula/utils/stop_request.hpp"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <thread>

namespace regula {
namespace {

// -1: no request; otherwise the signal number (0 for a program's request).
std::atomic<int> requested{-1};
static_assert(std::atomic<int>::is_always_lock_free, "stop requests may come from any thread");

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// The one thread that receives SIGINT and SIGTERM. Every other thread keeps them blocked, so a
// signal never interrupts a compute kernel: a signal frame pushed on top of a JIT kernel that
// keeps data below its stack pointer corrupts it (seen with oneDNN 2.6's AVX-512 GEMM: heap
// corruption after a SIGTERM mid-step, none with its AVX2 kernels or without the signal).
void wait_for_signals() {
  const sigset_t set = stop_signals();
  for (;;) {
    int signal_number = 0;
    if (sigwait(&set, &signal_number) != 0) continue;
    if (requested.load() >= 0) {
      // The second signal: its default action, now (the process ends as without the handler).
      struct sigaction fallback {};
      fallback.sa_handler = SIG_DFL;
      sigaction(signal_number, &fallback, nullptr);
      pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
      raise(signal_number);
      return;
    }
    request_stop(signal_number);
  }
}

}  // namespace

void request_stop(int signal_number) noexcept { requested.store(signal_number); }

bool stop_requested() noexcept { return requested.load() >= 0; }

int stop_signal() noexcept { return requested.load() < 0 ? 0 : requested.load(); }

void clear_stop_request() noexcept { requested.store(-1); }

const char* stop_cause(int signal_number) noexcept {
  switch (signal_number) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case 0: return "a stop request";
    default: return "a signal";
  }
}

void stop_on_signals() {
  static std::atomic<bool> started{false};
  if (started.exchange(true)) return;
  // Blocked here, before other threads start, so that every thread made later inherits the mask.
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread(wait_for_signals).detach();
}

}  // namespace regula
