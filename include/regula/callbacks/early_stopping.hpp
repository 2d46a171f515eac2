#pragma once
/// @file
/// EarlyStopping (Keras 3 `keras.callbacks.EarlyStopping`): stops `fit` when a monitored quantity
/// has stopped improving.
///
/// Keras 3 rules, applied at each epoch end:
/// - the monitored value is read from the epoch logs; when absent a warning is printed (once) and
///   the epoch is skipped; epochs `< start_from_epoch` are skipped too.
/// - with restore_best_weights, the first monitored epoch's weights are kept as the best.
/// - `wait` is incremented, then the epoch is an improvement when
///   `monitor_op(current - min_delta, best)` holds (min_delta is made positive and takes the sign
///   of the mode: subtracted-negative when minimizing). On improvement: best and best_epoch are
///   updated (and the weights kept), and wait is reset to 0 only if the value also improves on
///   `baseline` (when given).
/// - otherwise training stops when `wait >= patience` and `epoch > 0`.
/// - at train end: `Epoch N: early stopping` (verbose > 0, N 1-based) and, with
///   restore_best_weights, the best epoch's weights are restored whether or not training stopped
///   early, printing `Restoring model weights from the end of the best epoch: N.` (verbose > 0).
/// Differences: an unknown mode is a ValueError (Keras warns and uses "auto"); "auto" follows the
/// name ("acc"/"auc" → max, else min); `best` is reset at each train begin so an instance can be
/// reused for a second fit (Keras 3 keeps it from the first).

#include <optional>
#include <string>
#include <vector>

#include "regula/callbacks/monitor.hpp"
#include "regula/model/callback.hpp"
#include "regula/tensor/tensor.hpp"

namespace regula::callbacks {

/// Options in Keras's argument order and with its defaults.
struct EarlyStoppingOptions {
  std::string monitor = "val_loss";
  double min_delta = 0.0;
  /// Epochs without improvement before stopping; >= 0.
  int patience = 0;
  int verbose = 0;
  /// "auto", "min" or "max".
  std::string mode = "auto";
  std::optional<double> baseline = std::nullopt;
  bool restore_best_weights = false;
  /// Epochs (0-based) before this one are not monitored; >= 0.
  int start_from_epoch = 0;
};

class EarlyStopping final : public Callback {
 public:
  /// Throws ValueError for a negative patience or start_from_epoch, a non-finite min_delta or
  /// baseline, an empty monitor or an unknown mode.
  explicit EarlyStopping(EarlyStoppingOptions options = {});

  const EarlyStoppingOptions& options() const { return options_; }
  /// The 0-based epoch at which training was stopped; 0 when it was not (as Keras).
  int stopped_epoch() const { return stopped_epoch_; }
  /// The 0-based epoch with the best monitored value so far.
  int best_epoch() const { return best_epoch_; }
  /// The best monitored value so far (±inf before any).
  double best() const { return best_; }
  /// Epochs since the last improvement (Keras's `wait`).
  int wait() const { return wait_; }

  void on_train_begin(Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(Logs& logs) override;
  /// Resuming: wait, stopped and best epoch, best value and the kept best weights.
  SavedState state() const override;
  void set_state(const SavedState& state) override;

 private:
  EarlyStoppingOptions options_;
  Monitor monitor_;
  int wait_ = 0;
  int stopped_epoch_ = 0;
  int best_epoch_ = 0;
  double best_;
  std::vector<Tensor> best_weights_;
  bool has_best_weights_ = false;
};

}  // namespace regula::callbacks
