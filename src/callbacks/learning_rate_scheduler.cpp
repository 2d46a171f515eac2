#include "regula/callbacks/learning_rate_scheduler.hpp"

#include <cmath>
#include <cstdio>

#include "regula/callbacks/monitor.hpp"
#include "regula/error.hpp"
#include "regula/model/model.hpp"

namespace regula::callbacks {

LearningRateScheduler::LearningRateScheduler(Schedule schedule, int verbose)
    : schedule_(std::move(schedule)), verbose_(verbose) {
  if (!schedule_) throw ValueError("LearningRateScheduler: schedule is empty; allowed: a function (epoch, lr) -> lr");
}

void LearningRateScheduler::on_epoch_begin(int epoch, Logs&) {
  optimizers::Optimizer& optimizer = model().optimizer();
  const double lr = schedule_(epoch, optimizer.learning_rate());
  // Checked here so the error names the schedule and epoch rather than the optimizer.
  if (!std::isfinite(lr) || lr < 0.0)
    throw ValueError("LearningRateScheduler: schedule returned learning rate " + python_float(lr) + " at epoch " +
                     std::to_string(epoch) + " (0-based); allowed: finite and >= 0");
  optimizer.set_learning_rate(lr);
  if (verbose_ > 0) {
    std::printf("Epoch %d: LearningRateScheduler setting learning rate to %s.\n", epoch + 1, python_float(lr).c_str());
    std::fflush(stdout);
  }
}

void LearningRateScheduler::on_epoch_end(int, Logs& logs) {
  logs.set("learning_rate", model().optimizer().learning_rate());
}

}  // namespace regula::callbacks
