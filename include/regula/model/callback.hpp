#pragma once
/// @file
/// Callback (Keras `keras.callbacks.Callback`): hooks called by `fit`, `evaluate` and `predict`.
///
/// Epoch indices are 0-based, as in Keras (the progress line prints them 1-based). A callback
/// reaches the model through `model()`: `model().stop_training = true` ends `fit` after the
/// current epoch; `model().optimizer().set_learning_rate(…)` changes the learning rate.
/// Callbacks run in list order; `fit` appends History and the progress logger after the user's,
/// so values a callback writes into the epoch logs (e.g. `learning_rate`) reach both. As in
/// Keras 3, each validation inside `fit` runs the test hooks of fit's callbacks (on_test_begin,
/// on_test_batch_*, on_test_end), after the epoch's last batch and before on_epoch_end.

#include <cstdint>

#include "regula/model/logs.hpp"
#include "regula/utils/saved_state.hpp"

namespace regula {
class Model;
}

namespace regula::callbacks {

class Callback {
 public:
  virtual ~Callback() = default;

  /// Called by `fit`/`evaluate`/`predict` before the first hook.
  void set_model(Model* model) { model_ = model; }
  /// The model being trained; throws StateError when the callback is not attached to one.
  Model& model() const;
  bool has_model() const { return model_ != nullptr; }

  virtual void on_train_begin(Logs& /*logs*/) {}
  virtual void on_train_end(Logs& /*logs*/) {}
  virtual void on_epoch_begin(int /*epoch*/, Logs& /*logs*/) {}
  virtual void on_epoch_end(int /*epoch*/, Logs& /*logs*/) {}
  virtual void on_train_batch_begin(int64_t /*batch*/, Logs& /*logs*/) {}
  virtual void on_train_batch_end(int64_t /*batch*/, Logs& /*logs*/) {}
  virtual void on_test_begin(Logs& /*logs*/) {}
  virtual void on_test_end(Logs& /*logs*/) {}
  virtual void on_test_batch_begin(int64_t /*batch*/, Logs& /*logs*/) {}
  virtual void on_test_batch_end(int64_t /*batch*/, Logs& /*logs*/) {}
  virtual void on_predict_begin(Logs& /*logs*/) {}
  virtual void on_predict_end(Logs& /*logs*/) {}
  virtual void on_predict_batch_begin(int64_t /*batch*/, Logs& /*logs*/) {}
  virtual void on_predict_batch_end(int64_t /*batch*/, Logs& /*logs*/) {}

  /// What resuming a fit needs of this callback: its counters, best values and kept weights
  /// (beyond Keras, whose BackupAndRestore loses them: keras-team/keras#17012). Empty for
  /// callbacks that keep nothing from one epoch to the next. A TrainingState holds it.
  virtual SavedState state() const { return {}; }
  /// Restores `state()`. Called after `on_train_begin` (which resets a callback for a new fit)
  /// and before the first resumed batch. Throws ValueError for a state this callback did not
  /// write (naming the missing entry), before changing anything.
  virtual void set_state(const SavedState& state);

 private:
  Model* model_ = nullptr;
};

}  // namespace regula::callbacks
