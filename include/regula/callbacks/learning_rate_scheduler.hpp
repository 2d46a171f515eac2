#pragma once
/// @file
/// LearningRateScheduler (Keras `keras.callbacks.LearningRateScheduler`): sets the learning rate
/// at each epoch begin from `schedule(epoch, lr)`.
///
/// Keras rules: at epoch begin, `lr = schedule(epoch, current lr)` (epoch 0-based) is given to the
/// optimizer, printing `Epoch N: LearningRateScheduler setting learning rate to X.` (verbose > 0,
/// N 1-based); at epoch end `logs["learning_rate"]` is set to the optimizer's learning rate.
/// A schedule result that is NaN, infinite or negative is a ValueError naming the epoch (Keras's
/// check is that it is a float).
///
/// ```cpp
/// callbacks::LearningRateScheduler scheduler(
///     [](int epoch, double lr) { return epoch < 10 ? lr : lr * std::exp(-0.1); });
/// ```

#include <functional>

#include "regula/model/callback.hpp"

namespace regula::callbacks {

class LearningRateScheduler final : public Callback {
 public:
  using Schedule = std::function<double(int epoch, double learning_rate)>;
  /// Throws ValueError when `schedule` is empty.
  explicit LearningRateScheduler(Schedule schedule, int verbose = 0);

  void on_epoch_begin(int epoch, Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;

 private:
  Schedule schedule_;
  int verbose_;
};

}  // namespace regula::callbacks
