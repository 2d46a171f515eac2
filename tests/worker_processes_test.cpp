// Worker processes for parallel trials: commands run as children with their own environment and
// log, at most `capacity` at once, each reported as it ends (exit status or signal).

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <set>

#include "regula/error.hpp"
#include "regula/experiment/worker_processes.hpp"
#include "test_support.hpp"

namespace rg = regula;
using regula::testing_support::expect_error;
using regula::testing_support::TemporaryDirectory;
using rg::experiment::WorkerProcesses;

namespace {

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
