#pragma once
/// @file
/// ModelCheckpoint (Keras 3 `keras.callbacks.ModelCheckpoint`): saves the model (or its weights)
/// at the end of epochs, optionally only when a monitored quantity improves.
///
/// ```cpp
/// callbacks::ModelCheckpoint checkpoint("best-{epoch:02d}-{val_accuracy:.4f}.h5",
///                                       {.monitor = "val_accuracy", .save_best_only = true});
/// model.fit(x, y, {.epochs = 10, .callbacks = {&checkpoint}, .validation_split = 0.2});
/// ```
///
/// Keras 3 rules, applied at each epoch end (save_freq = "epoch"):
/// - the file name is `filepath` formatted with `epoch` (1-based) and the epoch logs, using the
///   subset of Python's format specs Keras users write: `{name}` (an int for epoch, Python's
///   `str(float)` for logs), `{name:d}` / `{name:0Nd}` / `{name:Nd}` (integers, i.e. epoch) and
///   `{name:.Nf}`; `{{` and `}}` are literal braces. An unknown name is a ValueError listing the
///   available names; another spec is a ValueError.
/// - save_best_only: the value of `monitor` is compared with the best so far (±inf, or
///   `initial_value_threshold`) by strict < (min) or > (max), with monitor.hpp's mode rules
///   ("auto": names containing "acc"/"auc" are maximized). On improvement the file is written and
///   `Epoch N: <monitor> improved from <best:.5f> to <current:.5f>, saving model to <path>` is
///   printed (verbose > 0); otherwise `Epoch N: <monitor> did not improve from <best:.5f>`.
///   When the monitored key is absent Keras 3 warns (`UserWarning: Can save best model only with
///   <monitor> available, skipping save at epoch <0-based epoch>.`, to stderr, every such epoch)
///   and saves nothing (earlier Keras 3 releases saved anyway, leaving the last epoch's model
///   under the best one's name).
/// - otherwise every epoch is written, printing `Epoch N: saving model to <path>` (verbose > 0).
/// - files are written by regula::save_model (with the epoch count, so fit(initial_epoch) can resume)
///   or, with save_weights_only, regula::save_weights; both write atomically. Missing parent folders
///   are created.
/// - after each file is written, `Epoch N: finished saving model to <path>` (verbose > 0).
/// Differences: Keras prints each message after a newline (it follows the progress bar); regula's
/// progress lines already end in one. With save_weights_only the path must end in `.weights.h5` (Keras 3's rule);
/// otherwise in `.h5` or `.hdf5` (the `.keras` zip format is not supported).

#include <optional>
#include <string>

#include "regula/callbacks/monitor.hpp"
#include "regula/callbacks/save_frequency.hpp"
#include "regula/model/callback.hpp"

namespace regula::callbacks {

/// Options in Keras's argument order and with its defaults.
struct ModelCheckpointOptions {
  std::string monitor = "val_loss";
  int verbose = 0;
  bool save_best_only = false;
  bool save_weights_only = false;
  /// "auto", "min" or "max".
  std::string mode = "auto";
  /// "epoch", or a number of training batches: every N batches (counted across epochs), with
  /// the batch's logs (the epoch's running means, no val_ values) and `{batch}` (1-based, within
  /// the epoch) usable in the file name, as Keras.
  SaveFrequency save_freq = "epoch";
  /// The starting "best" for save_best_only (Keras's initial_value_threshold).
  std::optional<double> initial_value_threshold = std::nullopt;
};

class ModelCheckpoint final : public Callback {
 public:
  /// Throws ValueError for an empty filepath, a bad extension, an unknown mode, a save_freq other
  /// than "epoch" or a non-finite initial_value_threshold.
  explicit ModelCheckpoint(std::string filepath, ModelCheckpointOptions options = {});

  const ModelCheckpointOptions& options() const { return options_; }
  /// The best monitored value so far (±inf or the threshold before any).
  double best() const { return best_; }
  /// The path of the last file written (empty before any).
  const std::string& last_saved() const { return last_saved_; }

  void on_epoch_begin(int epoch, Logs& logs) override;
  void on_train_batch_end(int64_t batch, Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  /// Resuming: the best value so far and the last file written (so save_best_only does not
  /// overwrite the best model after a resume).
  SavedState state() const override;
  void set_state(const SavedState& state) override;

 private:
  std::string filepath_;
  ModelCheckpointOptions options_;
  Monitor monitor_;
  /// Saves (or not, for save_best_only) at the end of `batch` (0-based) of `epoch`, or at the
  /// epoch's end when `batch` is -1.
  void save(int epoch, int64_t batch, const Logs& logs);

  double best_;
  std::string last_saved_;
  int current_epoch_ = 0;
  int64_t batches_since_save_ = 0;
};

/// `pattern` formatted as Keras's `filepath.format(epoch=epoch + 1, **logs)` for the 0-based
/// `epoch`, with the spec subset described above; with a 0-based `batch` (not -1), also
/// `batch=batch + 1`.
std::string format_checkpoint_path(const std::string& pattern, int epoch, const Logs& logs, int64_t batch = -1);

}  // namespace regula::callbacks
