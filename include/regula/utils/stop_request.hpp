#pragma once
/// @file
/// Stop requests: how a signal (SIGINT, SIGTERM) or another thread asks a long run to end cleanly.
/// `fit` looks at the request after every training batch and at every epoch end: it writes the
/// backup of its BackupAndRestore callback (if it has one) and throws Interrupted, naming the
/// signal and the backup. The search and ablation drivers look at it while they wait for their
/// worker processes, and stop them.

namespace regula {

/// Asks the running work to stop. `signal_number` names the cause in messages (0: a request
/// from the program). Async-signal-safe: signal handlers call it.
void request_stop(int signal_number = 0) noexcept;
/// Whether a stop was asked for and not cleared.
bool stop_requested() noexcept;
/// The signal of the request (0 for a program's request, or none).
int stop_signal() noexcept;
/// Forgets the request (a program that goes on after handling it).
void clear_stop_request() noexcept;
/// "SIGTERM", "SIGINT", … for `signal_number`; "a stop request" for 0.
const char* stop_cause(int signal_number) noexcept;
/// Makes SIGINT and SIGTERM request a stop; a second one of either ends the process at once, as
/// it would have without the handler (the process's own choice when a clean end takes too long).
/// Call it first in main, before any other thread starts: it blocks both signals in the calling
/// thread (threads made later inherit that) and receives them on a thread of its own, so that no
/// signal interrupts a compute kernel. Child processes started later inherit the blocked mask
/// unless they reset it (WorkerProcesses does).
void stop_on_signals();

}  // namespace regula
