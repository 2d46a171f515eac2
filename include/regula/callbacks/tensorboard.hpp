#pragma once
/// @file
/// TensorBoard (Keras `keras.callbacks.TensorBoard`): writes the training curves, weight
/// histograms and the model's architecture as TensorBoard event files
/// (`tensorboard --logdir logs`).
///
/// ```cpp
/// callbacks::TensorBoard tensorboard({.log_dir = "logs", .histogram_freq = 1});
/// model.fit(x, y, {.epochs = 10, .validation_split = 0.2, .callbacks = {&tensorboard}});
/// ```
///
/// Keras's layout and rules (keras/src/callbacks/tensorboard.py):
/// - `log_dir/train` holds the training series, `log_dir/validation` the validation ones; each
///   `fit` opens a new event file in each (regula/io/event_file_writer.hpp gives the format),
///   and closes them at train end. The validation file is made at the first epoch with
///   validation values, so a fit without validation has no `validation` folder.
/// - At every epoch end, for each name in the epoch's logs: `epoch_<name>` at step = epoch index
///   (0-based), in `train` for the training values and in `validation` for the `val_` ones with
///   the prefix removed (`val_loss` → `epoch_loss` in `validation`). `epoch_learning_rate` (the
///   optimizer's current learning rate) is added to `train`. Values are float32; a NaN stays NaN.
/// - update_freq "batch" or N: after every N-th training batch, `batch_<name>` for each name in
///   the batch's logs (the running means the progress bar shows), at step = the number of
///   training batches since train begin (1 for the first), in `train`. "epoch" writes none.
/// - histogram_freq N > 0: every N epochs (epoch % N == 0), one histogram per weight of every
///   layer (trainable or not), tagged `<layer>/<weight>_0/histogram` (Keras 2's weight names with
///   ':' replaced by '_'), at step = epoch, in `train`.
/// - write_graph: at train begin the model's architecture, as Keras's `model.to_json()`
///   (regula::model_config), in `train` with tag `keras` at step 0 (a rank-0 string tensor, plugin
///   `graph_keras_model`, content "1"): TensorBoard's Graphs tab draws it.
/// - `evaluate(..., {.callbacks = {&tensorboard}})`: at test end, `evaluation_<name>_vs_iterations`
///   at step = the optimizer's iterations, in `validation`. (`fit`'s own validation calls no test
///   hooks in regula, so it writes only the `epoch_` series.)
/// - Event files are flushed at every epoch end and at test end, so a running TensorBoard sees
///   each epoch as it ends.
/// - Beyond Keras, a fit resumed from a backup (BackupAndRestore) continues the event files of the
///   interrupted run instead of starting new ones (`state`).
///
/// Errors: a negative histogram_freq, or an update_freq other than "epoch", "batch" or a positive
/// integer, is a ValueError (listing what is allowed) at construction. A log_dir that cannot be
/// created or written is an IOError naming the directory and the reason, at train begin.
/// Not built: Keras's write_images, write_steps_per_second, profile_batch and the embeddings
/// options.

#include <cstdint>
#include <memory>
#include <string>

#include "regula/model/callback.hpp"

namespace regula::io {
class EventFileWriter;
}

namespace regula::callbacks {

/// Keras's `update_freq`: "epoch", "batch" (every batch) or a number of batches.
struct UpdateFreq {
  UpdateFreq(const char* name) : name(name) {}
  UpdateFreq(std::string name) : name(std::move(name)) {}
  UpdateFreq(int batches) : batches(batches) {}
  UpdateFreq(int64_t batches) : batches(batches) {}
  /// "epoch" or "batch", or empty for a number of batches.
  std::string name;
  int64_t batches = 0;
};

/// Options in Keras's argument order, with its defaults.
struct TensorBoardOptions {
  std::string log_dir = "logs";
  int histogram_freq = 0;
  bool write_graph = true;
  UpdateFreq update_freq = "epoch";
};

class TensorBoard final : public Callback {
 public:
  /// Throws ValueError for an empty log_dir, histogram_freq < 0, or a bad update_freq.
  explicit TensorBoard(TensorBoardOptions options = {});
  ~TensorBoard() override;
  TensorBoard(const TensorBoard&) = delete;
  TensorBoard& operator=(const TensorBoard&) = delete;

  const std::string& log_dir() const { return options_.log_dir; }
  /// Training batches between batch summaries; 0 for update_freq "epoch".
  int64_t batch_frequency() const { return batch_frequency_; }

  void on_train_begin(Logs& logs) override;
  void on_train_end(Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_batch_begin(int64_t batch, Logs& logs) override;
  void on_train_batch_end(int64_t batch, Logs& logs) override;
  void on_test_end(Logs& logs) override;
  /// Resuming: the global batch counter (the step of batch summaries), and each event file's
  /// path and length (flushed first). Restored, the files this fit's on_train_begin opened are
  /// removed and the saved ones continue from those lengths: a resumed run's curves go on in the
  /// same files, without the records written after the backup.
  SavedState state() const override;
  void set_state(const SavedState& state) override;

 private:
  /// The writer of `log_dir/run` in `slot`, opened on first use.
  io::EventFileWriter& writer(std::unique_ptr<io::EventFileWriter>& slot, const char* run);
  io::EventFileWriter& train_writer();
  io::EventFileWriter& validation_writer();
  void write_weight_histograms(int epoch);
  void close_writers();

  TensorBoardOptions options_;
  int64_t batch_frequency_ = 0;
  int64_t global_train_batch_ = 0;
  std::unique_ptr<io::EventFileWriter> train_;
  std::unique_ptr<io::EventFileWriter> validation_;
};

}  // namespace regula::callbacks
