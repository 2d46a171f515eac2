#pragma once
/// @file
/// BackupAndRestore (Keras 3 `keras.callbacks.BackupAndRestore`): backs up the training while
/// `fit` runs, so that a fit interrupted (killed, out of time, a machine lost) and started again
/// with the same callback goes on where the last backup was taken.
///
/// ```cpp
/// callbacks::BackupAndRestore backup("runs/exp1/backup", {.save_freq = 200});
/// model.fit(x, y, {.epochs = 50, .callbacks = {&backup, &early_stopping, &checkpoint}});
/// // killed at epoch 43; the same program run again continues at the last backup
/// ```
///
/// Keras 3's rules (keras/src/callbacks/backup_and_restore.py):
/// - `save_freq` "epoch" backs up at every epoch end; an integer N every N training batches
///   (counted across epochs, as Keras counts them).
/// - At train begin the backup in `backup_dir`, if there is one, is restored, and the epoch it
///   was taken in overrides fit's `initial_epoch`. No backup: the fit starts afresh.
/// - `double_checkpoint`: each new backup keeps the one before it (`_latest…`), and a latest
///   backup that cannot be read falls back to it (with a warning).
/// - `delete_checkpoint`: when fit ends normally (on_train_end, EarlyStopping included) the backup
///   is removed; a fit that ends with an error keeps it.
/// Beyond Keras — which saves weights and optimizer and replays the interrupted epoch from its
/// first batch, losing every callback's state (keras-team/keras#17012) — a backup is the whole
/// training::TrainingState: weights, optimizer, every callback's state (patience counters, best
/// values, ModelCheckpoint's best, History), the data order and position, augmentation and
/// dropout draws, CSVLogger's and TensorBoard's files. A fit restored from it continues at the
/// batch after the backup and ends bit for bit as the uninterrupted fit would have (same seed,
/// thread count, data, and callbacks in the same order). See model/fit_backups.hpp for when
/// backups are taken.
/// Departures: `delete_checkpoint` removes the backup files and then `backup_dir` only when it is
/// empty (Keras removes the whole directory, whatever it holds). `save_freq=False` (Keras's
/// preemption-only mode) is not offered: give "epoch" or a number of batches.
///
/// Files: `backup_dir/latest.training_state.h5` and, with double_checkpoint,
/// `backup_dir/_latest.training_state.h5` (training/training_state.hpp gives the layout).

#include <cstdint>
#include <string>

#include "regula/callbacks/save_frequency.hpp"
#include "regula/model/callback.hpp"
#include "regula/model/fit_backups.hpp"

namespace regula::callbacks {

/// Options after backup_dir, in Keras's order and with its defaults.
struct BackupAndRestoreOptions {
  SaveFrequency save_freq = "epoch";
  bool double_checkpoint = false;
  bool delete_checkpoint = true;
};

class BackupAndRestore final : public Callback {
 public:
  /// Throws ValueError for an empty backup_dir or a save_freq that is neither "epoch" nor >= 1.
  explicit BackupAndRestore(std::string backup_dir, BackupAndRestoreOptions options = {});

  const std::string& backup_dir() const { return backup_dir_; }
  const BackupAndRestoreOptions& options() const { return options_; }
  /// The backup's files.
  BackupFiles files() const;

  /// Asks fit to restore the backup (if any). Throws StateError outside fit.
  void on_train_begin(Logs& logs) override;
  void on_train_batch_end(int64_t batch, Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  /// Removes the backup (delete_checkpoint).
  void on_train_end(Logs& logs) override;
  /// The batches counted towards the next backup.
  SavedState state() const override;
  void set_state(const SavedState& state) override;

 private:
  void request_backup();

  std::string backup_dir_;
  BackupAndRestoreOptions options_;
  int64_t batches_since_backup_ = 0;
};

}  // namespace regula::callbacks
