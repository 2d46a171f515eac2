#include "regula/utils/stop_request.hpp"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
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
// signal never interrupts a compute kernel. Seen on a 2-core AMD EPYC with AVX-512: a SIGTERM
// that arrived while oneDNN 2.6's AVX-512 GEMM ran was followed by heap corruption in that GEMM
// (3 runs in 6), never with its AVX2 kernels (ONEDNN_MAX_CPU_ISA=AVX2, 11 runs) nor once the
// signal was taken here (19 runs). Why the interrupted kernel goes wrong was not found; a thread
// that never takes the signal cannot be hurt by it.
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
    // A thread of its own, not a signal handler: it may write. Said at once, since a run acts on
    // the request only at the end of its current training batch.
    std::fprintf(stderr, "\nregula: %s received: stopping cleanly after the current training batch (%s again stops at once)\n",
                 stop_cause(signal_number), stop_cause(signal_number));
    std::fflush(stderr);
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
