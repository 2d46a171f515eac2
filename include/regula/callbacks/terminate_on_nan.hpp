#pragma once
/// @file
/// TerminateOnNaN (Keras `keras.callbacks.TerminateOnNaN`): stops training when a batch reports a
/// NaN or infinite loss.
///
/// Keras rule: on each train batch end, when `logs["loss"]` is present and NaN or ±inf, print
/// `Batch N: Invalid loss, terminating training` (N is the 0-based batch index, as Keras prints
/// it) and set `model().stop_training`; `fit` then ends after that batch, finishing the epoch
/// (validation, epoch-end hooks) as Keras 3 does. Without this callback, `fit` throws
/// NumericalError on a non-finite loss, naming the epoch and batch.

#include "regula/model/callback.hpp"

namespace regula::callbacks {

class TerminateOnNaN final : public Callback {
 public:
  void on_train_batch_end(int64_t batch, Logs& logs) override;
  /// Resuming: whether it has stopped training.
  SavedState state() const override;
  void set_state(const SavedState& state) override;
  /// Whether this callback stopped the training.
  bool terminated() const { return terminated_; }

 private:
  bool terminated_ = false;
};

}  // namespace regula::callbacks
