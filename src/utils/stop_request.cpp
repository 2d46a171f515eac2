#include "regula/utils/stop_request.hpp"

#include <atomic>
#include <csignal>

namespace regula {
namespace {

// -1: no request; otherwise the signal number (0 for a program's request).
std::atomic<int> requested{-1};
static_assert(std::atomic<int>::is_always_lock_free, "stop requests are made from signal handlers");

extern "C" void on_stop_signal(int signal_number) {
  if (requested.load() >= 0) {
    // The second signal: the default action, now.
    std::signal(signal_number, SIG_DFL);
    std::raise(signal_number);
    return;
  }
  request_stop(signal_number);
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
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

}  // namespace regula
