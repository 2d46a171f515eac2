#pragma once
/// @file
/// FitBackups: what `fit` offers its callbacks for backing up the whole training and resuming it
/// (BackupAndRestore uses it through `Model::fit_backups()`, which is set only while fit runs).
///
/// A backup is a training::TrainingState file: weights, optimizer, every callback's state, the
/// data stream's position, the epoch in progress. Requests take effect at the next point where
/// every callback has run its hook, so that no callback is caught half-way:
/// - a backup asked for in `on_train_batch_end` is written after every callback's
///   `on_train_batch_end` of that batch (and the loss check); asked for in `on_epoch_end`, after
///   every callback's `on_epoch_end`;
/// - a restore asked for in `on_train_begin` happens after every callback's `on_train_begin`
///   (which resets them for a new fit): fit then continues at the saved batch of the saved epoch,
///   so a run killed and resumed ends bit for bit as the uninterrupted run (same seed, thread
///   count, data and callbacks in the same order). A resumed epoch does not call
///   `on_epoch_begin` again: it ran before the backup, and the callbacks' states hold its effects.

#include <string>

namespace regula::callbacks {

/// The files of one backup: `latest`, and `previous` (empty: none kept) where the backup
/// before it is moved when a new one is written (Keras 3's double_checkpoint).
struct BackupFiles {
  std::string latest;
  std::string previous;
};

class FitBackups {
 public:
  virtual ~FitBackups() = default;
  /// Writes the training state to `files.latest` (atomically; the older one moved to
  /// `files.previous` when that is set) at the next point where every callback's hook has run.
  virtual void request_backup(const BackupFiles& files) = 0;
  /// After every callback's `on_train_begin`, restores the training from `files.latest`, or from
  /// `files.previous` when the latest is missing or unreadable (a warning says why). Neither
  /// present: the fit starts afresh. Both present and unreadable: IOError naming both.
  virtual void request_restore(const BackupFiles& files) = 0;
  /// Whether fit is ending with an error (on_train_end is called on its way out): a backup must
  /// then be kept, whatever delete_checkpoint says.
  virtual bool failed() const = 0;
};

}  // namespace regula::callbacks
