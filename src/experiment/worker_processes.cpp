// Child processes through posix_spawn (no fork of a process that may hold OpenMP threads), reaped
// by polling waitpid on their own process ids only, so that other children of the program are
// left alone.

#include "regula/experiment/worker_processes.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "regula/error.hpp"
#include "regula/utils/stop_request.hpp"

extern char** environ;

namespace regula::experiment {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(20);
constexpr auto kTerminateGrace = std::chrono::seconds(5);

/// This process's environment with `overrides` replacing or adding variables, as "NAME=value".
std::vector<std::string> merged_environment(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> entries;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('='));
    if (!overrides.contains(name)) entries.push_back(entry);
  }
  for (const auto& [name, value] : overrides) entries.push_back(name + "=" + value);
  return entries;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

}  // namespace

constexpr const char* kParentVariable = "REGULA_WORKER_PARENT";

void die_with_driver() {
  const char* parent = std::getenv(kParentVariable);
  if (parent == nullptr || *parent == '\0') return;
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  // The driver may have died before the line above: then this process has another parent.
  if (std::to_string(::getppid()) != parent) {
    std::fprintf(stderr, "regula: the driver process %s has ended; this worker stops\n", parent);
    std::exit(1);
  }
}

std::optional<DirectoryLock> DirectoryLock::try_lock(const std::string& dir) {
  const std::string path = dir + "/.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw IOError(fmt::format("{}: cannot open the lock file: {}", path, std::strerror(errno)));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  return DirectoryLock(fd);
}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

std::map<std::string, std::string> thread_environment(int threads) {
  return {{"OMP_NUM_THREADS", std::to_string(threads)}, {"REGULA_NUM_THREADS", std::to_string(threads)}};
}

std::string WorkerExit::describe() const {
  if (signal != 0) return fmt::format("killed by signal {} ({})", signal, strsignal(signal));
  return fmt::format("exit status {}", exit_status);
}

WorkerProcesses::WorkerProcesses(int capacity) : capacity_(capacity) {
  if (capacity < 1) throw ValueError(fmt::format("worker processes: capacity {} must be >= 1", capacity));
}

WorkerProcesses::~WorkerProcesses() {
  for (const auto& [pid, worker] : workers_) ::kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + kTerminateGrace;
  while (!workers_.empty()) {
    for (auto it = workers_.begin(); it != workers_.end();) {
      int status = 0;
      it = ::waitpid(it->first, &status, WNOHANG) != 0 ? workers_.erase(it) : std::next(it);
    }
    if (workers_.empty()) break;
    if (std::chrono::steady_clock::now() > deadline)
      for (const auto& [pid, worker] : workers_) ::kill(pid, SIGKILL);
    std::this_thread::sleep_for(kPollInterval);
  }
}

int WorkerProcesses::start(int64_t tag, const std::vector<std::string>& argv,
                           const std::map<std::string, std::string>& environment, const std::string& log_path) {
  if (full()) throw StateError(fmt::format("worker processes: all {} are running; wait for one first", capacity_));
  if (argv.empty()) throw ValueError("worker processes: the command is empty");
  std::vector<std::string> args = argv;
  std::map<std::string, std::string> with_parent = environment;
  with_parent[kParentVariable] = std::to_string(::getpid());
  std::vector<std::string> env = merged_environment(with_parent);
  std::vector<char*> c_args = c_strings(args);
  std::vector<char*> c_env = c_strings(env);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  // The worker starts with no signal blocked (a driver that receives its stop signals on a thread
  // of its own blocks them everywhere else: utils/stop_request.hpp), and in a process group of its
  // own: a Ctrl-C at the terminal reaches the driver only, which stops its workers with one
  // SIGTERM each, so that each backs up and stops cleanly (a second signal would end it at once).
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
  pid_t pid = 0;
  const int error = ::posix_spawn(&pid, argv[0].c_str(), &actions, &attributes, c_args.data(), c_env.data());
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0)
    throw IOError(fmt::format("worker processes: cannot start '{}' (output to '{}'): {}", argv[0], log_path,
                              std::strerror(error)));
  workers_.emplace(pid, Worker{tag, std::chrono::steady_clock::now()});
  return pid;
}

WorkerExit WorkerProcesses::wait_any() {
  if (workers_.empty()) throw StateError("worker processes: none is running");
  for (;;) {
    if (stop_requested())
      throw Interrupted(fmt::format("stopped by {} while {} worker process{} ran (they are stopped)",
                                    stop_cause(stop_signal()), workers_.size(), workers_.size() == 1 ? "" : "es"));
    for (auto it = workers_.begin(); it != workers_.end(); ++it) {
      int status = 0;
      const pid_t done = ::waitpid(it->first, &status, WNOHANG);
      if (done == 0) continue;
      WorkerExit exit;
      exit.tag = it->second.tag;
      exit.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - it->second.started).count();
      if (done < 0) {
        exit.exit_status = -1;  // reaped elsewhere: its outcome is unknown
      } else if (WIFEXITED(status)) {
        exit.exit_status = WEXITSTATUS(status);
      } else if (WIFSIGNALED(status)) {
        exit.signal = WTERMSIG(status);
      }
      workers_.erase(it);
      return exit;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace regula::experiment
