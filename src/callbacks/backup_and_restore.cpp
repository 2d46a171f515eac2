#include "regula/callbacks/backup_and_restore.hpp"

#include <filesystem>
#include <system_error>

#include "regula/error.hpp"
#include "regula/io/file_bytes.hpp"
#include "regula/model/model.hpp"

namespace regula::callbacks {
namespace {

namespace fs = std::filesystem;

FitBackups& backups_of(const Callback& callback) {
  FitBackups* backups = callback.model().fit_backups();
  if (backups == nullptr) throw StateError("BackupAndRestore: works inside fit only (the model is not being fitted)");
  return *backups;
}

}  // namespace

BackupAndRestore::BackupAndRestore(std::string backup_dir, BackupAndRestoreOptions options)
    : backup_dir_(std::move(backup_dir)), options_(std::move(options)) {
  if (backup_dir_.empty()) throw ValueError("BackupAndRestore: backup_dir='' is not allowed; allowed: a directory path");
  options_.save_freq.check("BackupAndRestore");
}

BackupFiles BackupAndRestore::files() const {
  const fs::path dir(backup_dir_);
  return {.latest = (dir / "latest.training_state.h5").string(), .previous = (dir / "_latest.training_state.h5").string()};
}

void BackupAndRestore::on_train_begin(Logs&) {
  batches_since_backup_ = 0;
  io::remove_stale_temporaries(backup_dir_);  // left by a process killed while writing a backup
  backups_of(*this).request_restore(files());
}

void BackupAndRestore::request_backup() {
  std::error_code ec;
  fs::create_directories(backup_dir_, ec);
  if (ec) throw IOError("BackupAndRestore: cannot create the backup directory '" + backup_dir_ + "': " + ec.message());
  BackupFiles target = files();
  if (!options_.double_checkpoint) target.previous.clear();
  backups_of(*this).request_backup(target);
}

void BackupAndRestore::on_train_batch_end(int64_t, Logs&) {
  if (options_.save_freq.per_epoch()) return;
  if (++batches_since_backup_ < options_.save_freq.batches) return;
  batches_since_backup_ = 0;
  request_backup();
}

void BackupAndRestore::on_epoch_end(int, Logs&) {
  if (options_.save_freq.per_epoch()) request_backup();
}

void BackupAndRestore::on_train_end(Logs&) {
  if (!options_.delete_checkpoint || backups_of(*this).failed()) return;
  const BackupFiles f = files();
  std::error_code ec;
  fs::remove(f.latest, ec);
  fs::remove(f.previous, ec);
  if (fs::is_empty(backup_dir_, ec) && !ec) fs::remove(backup_dir_, ec);
}

SavedState BackupAndRestore::state() const {
  SavedState s;
  s.numbers["batches_since_backup"] = static_cast<double>(batches_since_backup_);
  return s;
}

void BackupAndRestore::set_state(const SavedState& s) {
  batches_since_backup_ = static_cast<int64_t>(s.number("BackupAndRestore::set_state", "batches_since_backup"));
}

}  // namespace regula::callbacks
