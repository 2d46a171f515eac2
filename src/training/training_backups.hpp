#pragma once
// TrainingBackups: fit's side of callbacks::FitBackups. It keeps the requests callbacks make
// during their hooks and carries them out where fit says every hook has run: a backup writes the
// TrainingState of the model, the callbacks, the data stream and the loop's own position; a
// restore puts one back and tells fit where to go on.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "regula/data/batch_source.hpp"
#include "regula/model/callback.hpp"
#include "regula/model/fit_backups.hpp"

namespace regula {
class Model;
}

namespace regula::training {

/// Where the loop stands between two steps, and what it carries from batch to batch.
struct LoopPosition {
  /// The epoch in progress (0-based) and the batches of it done (the epoch's step count: all
  /// done, validation and on_epoch_end still to come; 0 after on_epoch_end: the next epoch).
  int epoch = 0;
  int64_t batch = 0;
  /// The epoch's running loss mean (Keras's loss tracker): weighted total and sample count.
  double loss_total = 0.0;
  int64_t loss_count = 0;
  bool stop_training = false;
};

class TrainingBackups final : public callbacks::FitBackups {
 public:
  /// `callbacks`: every callback of the fit in order (fit's own included), `source`: the
  /// training batches.
  TrainingBackups(Model& model, std::vector<callbacks::Callback*> callbacks, data::BatchSource& source);

  void request_backup(const callbacks::BackupFiles& files) override { pending_backup_ = last_files_ = files; }
  void request_restore(const callbacks::BackupFiles& files) override;
  bool failed() const override { return failed_; }
  /// fit is about to end with an error.
  void fail() { failed_ = true; }

  /// Writes the backup asked for since the last call, if any, at `position`.
  void write_pending(const LoopPosition& position);
  /// Writes a backup at `position` where the callbacks keep theirs (a stop was asked for); returns
  /// its path, or nothing when no callback backs this fit up.
  std::optional<std::string> write_now(const LoopPosition& position);
  /// Carries out the restore asked for, if any: the position to go on from, or nullopt when
  /// none was asked for or there was no backup yet.
  std::optional<LoopPosition> restore_pending();

 private:
  void write(const callbacks::BackupFiles& files, const LoopPosition& position);

  Model& model_;
  std::vector<callbacks::Callback*> callbacks_;
  data::BatchSource& source_;
  std::optional<callbacks::BackupFiles> pending_backup_;
  std::optional<callbacks::BackupFiles> pending_restore_;
  /// Where backups of this fit go (the last request's files).
  std::optional<callbacks::BackupFiles> last_files_;
  /// The position of the last backup written (a stop request right after it writes none again).
  std::optional<std::pair<int, int64_t>> last_written_;
  bool failed_ = false;
};

}  // namespace regula::training
