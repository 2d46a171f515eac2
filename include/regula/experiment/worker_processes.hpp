#pragma once
/// @file
/// Trials as separate processes on one machine: `WorkerProcesses` starts commands (e.g.
/// `regula trial DIR`) as child processes, each with its own environment overrides (such as its
/// share of the threads) and its output going to a log file, keeps at most `capacity` of them
/// running, and reports each one as it finishes.
///
/// A search drives it with ask/tell: start a worker per suggestion while there is room, wait for
/// any to finish, tell the search, repeat. Spreading trials over machines (MPI) would replace this
/// class and keep that loop: whatever runs a trial only needs its directory and reports through
/// the trial's outcome file.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace regula::experiment {

/// How a worker process ended.
struct WorkerExit {
  /// The tag given to `start` (a trial number).
  int64_t tag = 0;
  /// The exit status when it exited (0 = success), else -1.
  int exit_status = -1;
  /// The signal that killed it (e.g. 9 when killed for memory), else 0.
  int signal = 0;
  /// Wall-clock seconds from start to end.
  double seconds = 0.0;

  bool succeeded() const { return exit_status == 0; }
  /// "exit status 1", "killed by signal 9 (Killed)".
  std::string describe() const;
};

/// The environment that gives a worker `threads` threads (OMP_NUM_THREADS, REGULA_NUM_THREADS).
std::map<std::string, std::string> thread_environment(int threads);

/// A worker's first call: when this process was started by WorkerProcesses, it is sent SIGTERM
/// when its driver dies (even by SIGKILL), and it ends at once (exit status 1, with a message) if
/// the driver is already gone. Does nothing in a process started otherwise.
void die_with_driver();

/// An exclusive lock on a directory (flock on `<dir>/.lock`) held while one process works in it,
/// released when the lock is destroyed or the process ends (even killed).
class DirectoryLock {
 public:
  /// Locks `dir` (which must exist); nullopt when another process holds it.
  static std::optional<DirectoryLock> try_lock(const std::string& dir);
  DirectoryLock(DirectoryLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DirectoryLock& operator=(DirectoryLock&&) = delete;
  ~DirectoryLock();

 private:
  explicit DirectoryLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

class WorkerProcesses {
 public:
  /// At most `capacity` (>= 1) workers at once; ValueError otherwise.
  explicit WorkerProcesses(int capacity);
  /// Stops (SIGTERM, then SIGKILL after a grace period) and reaps the workers still running, so
  /// that an error in the driver leaves no stray processes.
  ~WorkerProcesses();
  WorkerProcesses(const WorkerProcesses&) = delete;
  WorkerProcesses& operator=(const WorkerProcesses&) = delete;

  int capacity() const { return capacity_; }
  /// Workers running now.
  size_t running() const { return workers_.size(); }
  bool full() const { return running() >= static_cast<size_t>(capacity_); }

  /// Starts `argv` (argv[0] is the program's path) as a worker tagged `tag`, with this process's
  /// environment plus `environment` (name → value, replacing) and REGULA_WORKER_PARENT (this
  /// process's id, for die_with_driver), its standard output and error appended to `log_path`. Returns its process id. Throws StateError when full, ValueError for an
  /// empty argv, IOError (naming the program or the log) when it cannot be started.
  int start(int64_t tag, const std::vector<std::string>& argv, const std::map<std::string, std::string>& environment,
            const std::string& log_path);

  /// Blocks until a worker ends and returns how it ended; StateError when none is running.
  /// Throws Interrupted when a stop is asked for meanwhile (utils/stop_request.hpp); destroying
  /// the WorkerProcesses then stops the workers.
  WorkerExit wait_any();

 private:
  struct Worker {
    int64_t tag;
    std::chrono::steady_clock::time_point started;
  };
  int capacity_;
  std::map<int, Worker> workers_;  // by process id
};

}  // namespace regula::experiment
