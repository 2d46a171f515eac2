#pragma once
/// @file
/// ReduceLROnPlateau (Keras 3 `keras.callbacks.ReduceLROnPlateau`): multiplies the learning rate
/// by `factor` when a monitored quantity has stopped improving for `patience` epochs.
///
/// Keras rules, at each epoch end (counters and best are reset at train begin):
/// - `logs["learning_rate"]` is set to the optimizer's current learning rate (before any change).
/// - the monitored value is read; when absent a warning is printed (once) and nothing else happens.
/// - if in cooldown (cooldown_counter > 0): cooldown_counter -= 1, wait = 0.
/// - if improved by more than |min_delta| (Keras 3's MonitorCallback: min `current + |d| < best`,
///   max `current - |d| > best`; a negative min_delta counts as its absolute value):
///   best = current, wait = 0;
/// - else if not in cooldown: wait += 1; when wait >= patience and lr > float32(min_lr), where
///   lr is read as the float32 the optimizer's variable holds: lr = max(lr * factor, min_lr),
///   `Epoch N: ReduceLROnPlateau reducing learning rate to X.` (verbose > 0; X as Python prints
///   that double, e.g. 0.010000000149011612 for 0.1 · 0.1), cooldown_counter = cooldown, wait = 0.
/// An optimizer whose learning rate follows a schedule cannot be reduced: ValueError at train
/// begin (Keras fails at the first reduction).
/// Allowed: factor < 1 (Keras's ValueError) and >= 0; patience, cooldown >= 0; min_lr finite and
/// >= 0; min_delta finite; mode "auto" ("acc"/"auc" in the name → max, else min), "min", "max"
/// (Keras warns on an unknown mode; regula throws ValueError).

#include <string>

#include "regula/callbacks/monitor.hpp"
#include "regula/model/callback.hpp"

namespace regula::callbacks {

/// Options in Keras's argument order and with its defaults.
struct ReduceLROnPlateauOptions {
  std::string monitor = "val_loss";
  double factor = 0.1;
  int patience = 10;
  int verbose = 0;
  std::string mode = "auto";
  double min_delta = 1e-4;
  int cooldown = 0;
  double min_lr = 0.0;
};

class ReduceLROnPlateau final : public Callback {
 public:
  explicit ReduceLROnPlateau(ReduceLROnPlateauOptions options = {});

  const ReduceLROnPlateauOptions& options() const { return options_; }
  int wait() const { return wait_; }
  int cooldown_counter() const { return cooldown_counter_; }
  bool in_cooldown() const { return cooldown_counter_ > 0; }
  double best() const { return best_; }

  void on_train_begin(Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  /// Resuming: wait, cooldown counter and best value.
  SavedState state() const override;
  void set_state(const SavedState& state) override;

 private:
  ReduceLROnPlateauOptions options_;
  Monitor monitor_;
  int wait_ = 0;
  int cooldown_counter_ = 0;
  double best_;
};

}  // namespace regula::callbacks
