// Worker processes for parallel trials: commands run as children with their own environment and
// log, at most `capacity` at once, each reported as it ends (exit status or signal).

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include "regula/error.hpp"
#include "regula/experiment/worker_processes.hpp"
#include "test_support.hpp"

namespace rg = regula;
using regula::testing_support::expect_error;
using regula::testing_support::TemporaryDirectory;
using rg::experiment::WorkerProcesses;

namespace {

// This test program doubles as a worker: started with REGULA_TEST_WORKER=sleep, it does what a
// regula worker does first (die_with_driver) and then sleeps, before any test runs.
const bool kIsWorker = [] {
  const char* role = std::getenv("REGULA_TEST_WORKER");
  if (role == nullptr || std::string(role) != "sleep") return false;
  rg::experiment::die_with_driver();
  std::this_thread::sleep_for(std::chrono::seconds(60));
  std::_Exit(0);
}();

/// Whether process `pid` has ended (gone, or a zombie nobody has reaped yet).
bool has_ended(pid_t pid) {
  if (::kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, name, state;
  stat >> pid_field >> name >> state;
  return state == "Z" || state == "X";
}

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<std::string> shell(const std::string& script) { return {"/bin/sh", "-c", script}; }

}  // namespace

TEST(WorkerProcesses, AWorkerGetsItsEnvironmentAndLogAndReportsItsExitStatus) {
  TemporaryDirectory dir;
  WorkerProcesses workers(1);
  const auto log = (dir.path() / "log.txt").string();
  workers.start(7, shell("echo \"threads=$OMP_NUM_THREADS\"; echo oops >&2; exit 3"), {{"OMP_NUM_THREADS", "5"}}, log);
  const rg::experiment::WorkerExit exit = workers.wait_any();
  EXPECT_EQ(exit.tag, 7);
  EXPECT_EQ(exit.exit_status, 3);
  EXPECT_FALSE(exit.succeeded());
  EXPECT_EQ(exit.describe(), "exit status 3");
  EXPECT_GE(exit.seconds, 0.0);
  EXPECT_EQ(read(log), "threads=5\noops\n");  // standard output and error both go to the log
  EXPECT_EQ(workers.running(), 0u);
}

TEST(WorkerProcesses, AtMostCapacityRunAndEachIsReportedOnce) {
  TemporaryDirectory dir;
  WorkerProcesses workers(2);
  workers.start(0, shell("sleep 0.3"), {}, (dir.path() / "0.txt").string());
  workers.start(1, shell("exit 0"), {}, (dir.path() / "1.txt").string());
  EXPECT_TRUE(workers.full());
  expect_error<rg::StateError>([&] { workers.start(2, shell("exit 0"), {}, (dir.path() / "2.txt").string()); },
                               {"all 2 are running"});
  const rg::experiment::WorkerExit first = workers.wait_any();
  EXPECT_EQ(first.tag, 1);  // the quick one ends first
  EXPECT_TRUE(first.succeeded());
  workers.start(2, shell("exit 0"), {}, (dir.path() / "2.txt").string());
  std::set<int64_t> rest = {workers.wait_any().tag, workers.wait_any().tag};
  EXPECT_EQ(rest, (std::set<int64_t>{0, 2}));
  expect_error<rg::StateError>([&] { workers.wait_any(); }, {"none is running"});
}

TEST(WorkerProcesses, AKilledWorkerIsReportedWithItsSignal) {
  TemporaryDirectory dir;
  WorkerProcesses workers(1);
  workers.start(0, shell("kill -9 $$"), {}, (dir.path() / "log.txt").string());
  const rg::experiment::WorkerExit exit = workers.wait_any();
  EXPECT_EQ(exit.signal, 9);
  EXPECT_FALSE(exit.succeeded());
  EXPECT_NE(exit.describe().find("killed by signal 9"), std::string::npos) << exit.describe();
}

TEST(WorkerProcesses, BadCommandsAreClearErrors) {
  TemporaryDirectory dir;
  expect_error<rg::ValueError>([] { WorkerProcesses(0); }, {"capacity 0 must be >= 1"});
  WorkerProcesses workers(1);
  expect_error<rg::ValueError>([&] { workers.start(0, {}, {}, (dir.path() / "log.txt").string()); }, {"empty"});
  expect_error<rg::IOError>(
      [&] { workers.start(0, {"/nonexistent/regula-worker"}, {}, (dir.path() / "log.txt").string()); },
      {"cannot start '/nonexistent/regula-worker'"});
  EXPECT_EQ(workers.running(), 0u);
}

TEST(WorkerProcesses, WorkersStillRunningAreStoppedWhenTheDriverEnds) {
  TemporaryDirectory dir;
  const auto start = std::chrono::steady_clock::now();
  {
    WorkerProcesses workers(2);
    workers.start(0, {"/bin/sleep", "30"}, {}, (dir.path() / "0.txt").string());
    workers.start(1, {"/bin/sleep", "30"}, {}, (dir.path() / "1.txt").string());
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
}

TEST(WorkerProcesses, AWorkerDiesWithItsDriverEvenWhenTheDriverIsKilled) {
  // kill -9 of `regula search` gives its workers no chance to be stopped by the driver: they must
  // end by themselves (the parent-death signal that die_with_driver asks for).
  ASSERT_FALSE(kIsWorker);
  TemporaryDirectory dir;
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t driver = ::fork();
  ASSERT_GE(driver, 0);
  if (driver == 0) {
    ::close(pipe_fds[0]);
    WorkerProcesses workers(1);
    const pid_t worker = workers.start(0, {"/proc/self/exe"}, {{"REGULA_TEST_WORKER", "sleep"}}, (dir.path() / "w.txt").string());
    if (::write(pipe_fds[1], &worker, sizeof worker) != static_cast<ssize_t>(sizeof worker)) std::_Exit(2);
    ::pause();
    std::_Exit(0);
  }
  ::close(pipe_fds[1]);
  pid_t worker = 0;
  ASSERT_EQ(::read(pipe_fds[0], &worker, sizeof worker), static_cast<ssize_t>(sizeof worker));
  ::close(pipe_fds[0]);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the worker reaches die_with_driver
  ASSERT_FALSE(has_ended(worker));
  ::kill(driver, SIGKILL);
  ::waitpid(driver, nullptr, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!has_ended(worker) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(has_ended(worker)) << "the worker " << worker << " outlived its killed driver";
  if (!has_ended(worker)) ::kill(worker, SIGKILL);
}

TEST(DirectoryLock, OneProcessAtATimeAndReleasedWhenItsHolderDies) {
  TemporaryDirectory dir;
  const std::string path = dir.path().string();
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t holder = ::fork();
  ASSERT_GE(holder, 0);
  if (holder == 0) {
    const auto lock = rg::experiment::DirectoryLock::try_lock(path);
    const char held = lock ? 'y' : 'n';
    if (::write(pipe_fds[1], &held, 1) != 1) std::_Exit(2);
    ::pause();
    std::_Exit(0);
  }
  char held = 0;
  ASSERT_EQ(::read(pipe_fds[0], &held, 1), 1);
  EXPECT_EQ(held, 'y');
  EXPECT_FALSE(rg::experiment::DirectoryLock::try_lock(path).has_value()) << "two processes held the lock";
  ::kill(holder, SIGKILL);
  ::waitpid(holder, nullptr, 0);
  EXPECT_TRUE(rg::experiment::DirectoryLock::try_lock(path).has_value()) << "a dead holder kept the lock";
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}
