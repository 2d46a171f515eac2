// TrainingBackups: the backups that callbacks ask fit for, written and read as TrainingState files.

#include "src/training/training_backups.hpp"

#include <cstdio>
#include <filesystem>
#include <utility>

#include "regula/backend/context.hpp"
#include "regula/error.hpp"
#include "regula/model/model.hpp"
#include "regula/training/training_state.hpp"

namespace regula::training {
namespace {

constexpr const char* kLossTotal = "loop/loss_total";
constexpr const char* kLossCount = "loop/loss_count";
constexpr const char* kStopTraining = "loop/stop_training";
constexpr const char* kThreads = "loop/threads";

struct LoadedBackup {
  TrainingState state;
  std::string path;
};

/// The state in the first of the files that reads; nullopt when neither exists.
std::optional<LoadedBackup> load_first_readable(const callbacks::BackupFiles& files) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool has_latest = fs::exists(files.latest, ec);
  const bool has_previous = !files.previous.empty() && fs::exists(files.previous, ec);
  if (!has_latest && !has_previous) return std::nullopt;
  std::string latest_error;
  if (has_latest) {
    try {
      return LoadedBackup{load_training_state(files.latest), files.latest};
    } catch (const IOError& e) {
      if (!has_previous) throw;
      latest_error = e.what();
    }
  }
  try {
    LoadedBackup loaded{load_training_state(files.previous), files.previous};
    if (has_latest)
      std::fprintf(stderr, "Warning: the latest backup cannot be read (%s); restoring the one before it, %s\n",
                   latest_error.c_str(), files.previous.c_str());
    return loaded;
  } catch (const IOError& e) {
    if (!has_latest) throw;
    throw IOError("neither backup can be read: " + latest_error + "; " + e.what());
  }
}

}  // namespace

TrainingBackups::TrainingBackups(Model& model, std::vector<callbacks::Callback*> callbacks, data::BatchSource& source)
    : model_(model), callbacks_(std::move(callbacks)), source_(source) {}

void TrainingBackups::request_restore(const callbacks::BackupFiles& files) {
  pending_restore_ = files;
  // Until a backup is asked for, one taken on a stop request keeps no earlier file.
  if (!last_files_) last_files_ = callbacks::BackupFiles{.latest = files.latest, .previous = ""};
}

void TrainingBackups::write_pending(const LoopPosition& position) {
  if (!pending_backup_) return;
  const callbacks::BackupFiles files = std::move(*pending_backup_);
  pending_backup_.reset();
  write(files, position);
}

std::optional<std::string> TrainingBackups::write_now(const LoopPosition& position) {
  pending_backup_.reset();
  if (!last_files_) return std::nullopt;
  if (last_written_ != std::make_pair(position.epoch, position.batch)) write(*last_files_, position);
  return last_files_->latest;
}

void TrainingBackups::write(const callbacks::BackupFiles& files, const LoopPosition& position) {
  const std::filesystem::path folder = std::filesystem::path(files.latest).parent_path();
  std::error_code ec;
  if (!folder.empty()) std::filesystem::create_directories(folder, ec);
  TrainingState state = capture_training_state(model_, callbacks_, &source_, position.epoch, position.batch);
  state.epoch_progress.numbers[kLossTotal] = position.loss_total;
  state.epoch_progress.numbers[kLossCount] = static_cast<double>(position.loss_count);
  state.epoch_progress.numbers[kStopTraining] = position.stop_training ? 1.0 : 0.0;
  state.epoch_progress.numbers[kThreads] = static_cast<double>(backend::context().num_threads());
  save_training_state(state, files.latest, files.previous);
  last_written_ = std::make_pair(position.epoch, position.batch);
}

std::optional<LoopPosition> TrainingBackups::restore_pending() {
  if (!pending_restore_) return std::nullopt;
  const callbacks::BackupFiles files = std::move(*pending_restore_);
  pending_restore_.reset();
  const std::optional<LoadedBackup> loaded = load_first_readable(files);
  if (!loaded) return std::nullopt;
  const TrainingState& state = loaded->state;
  const std::string owner = "restoring the backup " + loaded->path;
  LoopPosition position;
  position.epoch = state.epoch;
  position.batch = state.batch;
  position.loss_total = state.epoch_progress.number(owner, kLossTotal);
  position.loss_count = static_cast<int64_t>(state.epoch_progress.number(owner, kLossCount));
  position.stop_training = state.epoch_progress.number(owner, kStopTraining) != 0.0;
  // Sums split over another number of threads round differently: the run goes on, but not bit for bit.
  const auto threads = state.epoch_progress.numbers.find(kThreads);
  if (threads != state.epoch_progress.numbers.end() && static_cast<int>(threads->second) != backend::context().num_threads())
    std::fprintf(stderr,
                 "Warning: %s was written by a run with %d threads and this one has %d: it continues, but not bit for "
                 "bit as the interrupted run would have (give it %d threads for that)\n",
                 loaded->path.c_str(), static_cast<int>(threads->second), backend::context().num_threads(),
                 static_cast<int>(threads->second));
  // A backup of another model, optimizer or callback list is refused naming the file.
  try {
    restore_training_state(state, model_, callbacks_, &source_);
  } catch (const ShapeError& e) {
    throw ShapeError(loaded->path + ": " + e.what());
  } catch (const ValueError& e) {
    throw ValueError(loaded->path + ": " + e.what());
  }
  return position;
}

}  // namespace regula::training
