// BackupAndRestore: Keras 3's rules (save_freq, the restored epoch overriding initial_epoch,
// double_checkpoint, delete_checkpoint), and regula's exact resume: a fit interrupted at any
// batch and fitted again ends bit for bit as the fit that was never interrupted — weights,
// History, the best checkpoint's bytes, the CSV log.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>

#include "regula/callbacks/backup_and_restore.hpp"
#include "regula/regula.hpp"
#include "resume_fixture.hpp"

namespace rg = regula;
namespace fs = std::filesystem;
using rg::testing_support::ImageData;
using rg::testing_support::same_bits;
using rg::testing_support::small_images;
using rg::testing_support::stateful_model;

namespace {

constexpr int kEpochs = 4;

/// Stands for the process being killed: throws at the start of batch `batch` of epoch `epoch`
/// (a batch of -1: at that epoch's end, after every other callback's on_epoch_end).
/// It can also stand for a callback that stops training at the end of batch `stop_at`.
class Interrupt final : public rg::callbacks::Callback {
 public:
  explicit Interrupt(std::optional<std::pair<int, int64_t>> at = std::nullopt,
                     std::optional<std::pair<int, int64_t>> stop_at = std::nullopt)
      : at_(at), stop_at_(stop_at) {}
  void on_epoch_begin(int epoch, rg::callbacks::Logs&) override { epoch_ = epoch; }
  void on_train_batch_end(int64_t batch, rg::callbacks::Logs&) override {
    if (stop_at_ && stop_at_->first == epoch_ && stop_at_->second == batch) model().stop_training = true;
  }
  void on_train_batch_begin(int64_t batch, rg::callbacks::Logs&) override {
    if (at_ && at_->first == epoch_ && at_->second == batch) throw std::runtime_error("killed");
  }
  void on_epoch_end(int epoch, rg::callbacks::Logs&) override {
    if (at_ && at_->first == epoch && at_->second == -1) throw std::runtime_error("killed");
  }
  // The epoch in progress is part of what a resumed fit must know.
  rg::SavedState state() const override { return {.numbers = {{"epoch", epoch_}}}; }
  void set_state(const rg::SavedState& s) override { epoch_ = static_cast<int>(s.number("Interrupt", "epoch")); }

 private:
  std::optional<std::pair<int, int64_t>> at_;
  std::optional<std::pair<int, int64_t>> stop_at_;
  int epoch_ = 0;
};

std::string file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// One fit of the recipe into `dir`, as a process would run it: augmented shuffled batches, the
/// article's callbacks (EarlyStopping with restore_best_weights, ReduceLROnPlateau,
/// ModelCheckpoint save_best_only, CSVLogger) after BackupAndRestore.
struct FitRun {
  FitRun(const fs::path& dir, const ImageData& data, rg::callbacks::BackupAndRestoreOptions backup_options,
         std::optional<std::pair<int, int64_t>> interrupt_at = std::nullopt,
         std::optional<std::pair<int, int64_t>> stop_at = std::nullopt)
      : model(stateful_model(5)),
        datagen({.rotation_range = 15, .width_shift_range = 0.1, .horizontal_flip = true}),
        backup((dir / "backup").string(), backup_options),
        early_stopping({.monitor = "val_loss", .patience = 10, .restore_best_weights = true}),
        reduce_lr({.monitor = "val_loss", .factor = 0.5, .patience = 0, .min_delta = 10.0}),
        checkpoint((dir / "best.h5").string(), {.monitor = "val_loss", .save_best_only = true}),
        csv((dir / "log.csv").string()),
        interrupt(interrupt_at, stop_at) {
    fs::create_directories(dir);
    try {
      model->fit(datagen.flow(data.x.slice_rows(0, 48), data.y.slice_rows(0, 48), {.batch_size = 8, .seed = 99}),
                 {.epochs = kEpochs,
                  .verbose = 0,
                  .callbacks = {&backup, &early_stopping, &reduce_lr, &checkpoint, &csv, &interrupt},
                  .validation_data = rg::ValidationData{data.x.slice_rows(48, 64), data.y.slice_rows(48, 64)}});
    } catch (const std::runtime_error& e) {
      if (std::string(e.what()) != "killed") throw;
      interrupted = true;
    }
  }
  std::unique_ptr<rg::Model> model;
  rg::preprocessing::ImageDataGenerator datagen;
  rg::callbacks::BackupAndRestore backup;
  rg::callbacks::EarlyStopping early_stopping;
  rg::callbacks::ReduceLROnPlateau reduce_lr;
  rg::callbacks::ModelCheckpoint checkpoint;
  rg::callbacks::CSVLogger csv;
  Interrupt interrupt;
  bool interrupted = false;
};

class BackupAndRestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("regula-backup-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  /// The resumed run (interrupted at `at`, then fitted again) against the uninterrupted one.
  void expect_exact_resume(rg::callbacks::BackupAndRestoreOptions options, std::pair<int, int64_t> at,
                           std::optional<std::pair<int, int64_t>> stop_at = std::nullopt) {
    fs::remove_all(dir_ / "straight");
    fs::remove_all(dir_ / "resumed");
    const ImageData data = small_images(64);
    const FitRun straight(dir_ / "straight", data, options, std::nullopt, stop_at);
    ASSERT_FALSE(straight.interrupted);
    {
      const FitRun first(dir_ / "resumed", data, options, at, stop_at);
      ASSERT_TRUE(first.interrupted);
      ASSERT_TRUE(fs::exists(first.backup.files().latest));
    }
    const FitRun resumed(dir_ / "resumed", data, options, std::nullopt, stop_at);
    ASSERT_FALSE(resumed.interrupted);
    EXPECT_TRUE(same_bits(resumed.model->get_weights(), straight.model->get_weights()));
    EXPECT_EQ(resumed.model->optimizer().iterations(), straight.model->optimizer().iterations());
    EXPECT_EQ(resumed.model->optimizer().learning_rate(), straight.model->optimizer().learning_rate());
    // History goes on from the backup: it holds every epoch, those before the interruption too.
    ASSERT_EQ(resumed.model->history().size(), straight.model->history().size());
    for (const char* key : {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"})
      EXPECT_EQ(resumed.model->history()[key], straight.model->history()[key]) << key;
    EXPECT_EQ(resumed.early_stopping.best(), straight.early_stopping.best());
    EXPECT_EQ(resumed.checkpoint.best(), straight.checkpoint.best());
    const std::string best = file_bytes(dir_ / "straight" / "best.h5");
    EXPECT_GT(best.size(), 1000u);
    EXPECT_TRUE(file_bytes(dir_ / "resumed" / "best.h5") == best) << "the best checkpoints differ";
    EXPECT_EQ(file_bytes(dir_ / "resumed" / "log.csv"), file_bytes(dir_ / "straight" / "log.csv"));
    // delete_checkpoint: a fit that ended normally leaves no backup.
    EXPECT_FALSE(fs::exists(dir_ / "resumed" / "backup"));
  }

  fs::path dir_;
};

}  // namespace

TEST_F(BackupAndRestoreTest, EveryEpochBackupResumesExactlyAfterAnInterruptionMidEpoch) {
  expect_exact_resume({}, {2, 3});
}

TEST_F(BackupAndRestoreTest, BatchBackupsResumeExactlyMidEpoch) {
  // Every 4 batches of 6: backups fall inside epochs and on their last batch; interrupted at
  // epoch 3's second batch, the last backup is at epoch 2, batch 6 of 6 (validation to come).
  expect_exact_resume({.save_freq = 4}, {3, 1});
  expect_exact_resume({.save_freq = 5}, {2, 5});
}

TEST_F(BackupAndRestoreTest, AnInterruptionAtAnEpochEndResumesExactly) {
  expect_exact_resume({}, {1, -1});
  expect_exact_resume({.save_freq = 3, .double_checkpoint = true}, {2, -1});
}

TEST_F(BackupAndRestoreTest, AStopAskedForMidEpochStillEndsThatEpochAfterAResume) {
  // A callback stops training at epoch 1's third batch; the backup of that batch (every batch)
  // holds the stop. Resumed, the epoch still validates and ends (History, CSV, checkpoint), as
  // the uninterrupted fit did, and no epoch follows.
  expect_exact_resume({.save_freq = 1}, {1, -1}, std::make_pair(1, int64_t{2}));
  EXPECT_EQ(FitRun(dir_ / "count", small_images(64), {}, std::nullopt, std::make_pair(1, int64_t{2})).model->history().size(), 2u);
}

TEST_F(BackupAndRestoreTest, AFitEndingWithANonFiniteLossKeepsItsBackup) {
  // fit's NaN error calls on_train_end on its way out; delete_checkpoint must not remove the
  // backup then ("a fit that ends with an error keeps it").
  rg::testing_support::ImageData data = small_images(64);
  for (int64_t i = 40 * 64; i < data.x.size(); ++i) data.x[i] = std::nanf("");
  auto model = stateful_model(5);
  rg::callbacks::BackupAndRestore backup((dir_ / "backup").string(), {.save_freq = 1});
  EXPECT_THROW(model->fit(data.x, data.y, {.batch_size = 8, .epochs = 1, .verbose = 0, .callbacks = {&backup}, .shuffle = false}),
               rg::NumericalError);
  EXPECT_TRUE(fs::exists(backup.files().latest));
}

TEST_F(BackupAndRestoreTest, TheRestoredEpochOverridesInitialEpoch) {
  // Keras's rule: the fit restarts at the epoch of the backup, whatever initial_epoch says.
  const ImageData data = small_images(64);
  { FitRun first(dir_, data, {.delete_checkpoint = false}, std::make_pair(2, int64_t{0})); }
  auto model = stateful_model(5);
  rg::callbacks::BackupAndRestore backup((dir_ / "backup").string(), {.delete_checkpoint = false});
  struct EpochsSeen final : rg::callbacks::Callback {
    std::vector<int> epochs;
    void on_epoch_end(int epoch, rg::callbacks::Logs&) override { epochs.push_back(epoch); }
  } seen;
  // The callback list differs from the saved run's: the backup refuses it, naming the file.
  try {
    model->fit(data.x, data.y, {.epochs = kEpochs, .verbose = 0, .callbacks = {&backup, &seen}});
    ADD_FAILURE() << "a backup of another callback list was restored";
  } catch (const rg::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("latest.training_state.h5"), std::string::npos) << e.what();
  }
  // A backup of this very fit, written at epoch 0's end (the kill comes in epoch 1's end, before
  // its backup): the next fit starts at epoch 1, though initial_epoch says 0.
  fs::remove_all(dir_ / "backup");
  struct StopAfterEpoch final : rg::callbacks::Callback {
    void on_epoch_end(int epoch, rg::callbacks::Logs&) override {
      if (epoch == 1) throw std::runtime_error("killed");
    }
  } stop;
  auto first = stateful_model(5);
  EXPECT_THROW(first->fit(data.x, data.y, {.epochs = kEpochs, .verbose = 0, .callbacks = {&backup, &stop, &seen}}), std::runtime_error);
  EXPECT_EQ(seen.epochs, (std::vector<int>{0}));  // killed in epoch 1's end, before its backup
  seen.epochs.clear();
  struct Nothing final : rg::callbacks::Callback {
  } nothing;
  auto second = stateful_model(5);
  second->fit(data.x, data.y, {.epochs = kEpochs, .verbose = 0, .callbacks = {&backup, &nothing, &seen}, .initial_epoch = 0});
  EXPECT_EQ(seen.epochs, (std::vector<int>{1, 2, 3}));
}

TEST_F(BackupAndRestoreTest, DoubleCheckpointFallsBackWhenTheLatestIsUnreadable) {
  const ImageData data = small_images(64);
  const rg::callbacks::BackupAndRestoreOptions options{.save_freq = 2, .double_checkpoint = true};
  const FitRun straight(dir_ / "straight", data, options);
  {
    const FitRun first(dir_ / "resumed", data, options, std::make_pair(2, int64_t{3}));
    ASSERT_TRUE(fs::exists(first.backup.files().previous));
    std::ofstream(first.backup.files().latest, std::ios::trunc) << "torn";  // a half-written disk block
  }
  const FitRun resumed(dir_ / "resumed", data, options);
  EXPECT_TRUE(same_bits(resumed.model->get_weights(), straight.model->get_weights()));
  EXPECT_EQ(resumed.model->history()["val_loss"], straight.model->history()["val_loss"]);
  EXPECT_EQ(file_bytes(dir_ / "resumed" / "log.csv"), file_bytes(dir_ / "straight" / "log.csv"));

  // Without the one before it, an unreadable backup is an IOError naming it, and nothing trains.
  {
    const FitRun first(dir_ / "single", data, {.save_freq = 2}, std::make_pair(1, int64_t{1}));
    std::ofstream(first.backup.files().latest, std::ios::trunc) << "torn";
  }
  try {
    const FitRun again(dir_ / "single", data, {.save_freq = 2});
    ADD_FAILURE() << "an unreadable backup was not reported";
  } catch (const rg::IOError& e) {
    EXPECT_NE(std::string(e.what()).find("latest.training_state.h5"), std::string::npos) << e.what();
  }
}

TEST_F(BackupAndRestoreTest, DeleteCheckpointKeepsTheBackupOnlyWhenAsked) {
  const ImageData data = small_images(64);
  { const FitRun run(dir_ / "kept", data, {.delete_checkpoint = false}); }
  EXPECT_TRUE(fs::exists(dir_ / "kept" / "backup" / "latest.training_state.h5"));
  { const FitRun run(dir_ / "deleted", data, {}); }
  EXPECT_FALSE(fs::exists(dir_ / "deleted" / "backup"));
  // A fit that ends with an error keeps its backup (the point of having one).
  { const FitRun run(dir_ / "failed", data, {}, std::make_pair(1, int64_t{2})); }
  EXPECT_TRUE(fs::exists(dir_ / "failed" / "backup" / "latest.training_state.h5"));
  // A backup directory that holds other files is not removed, only the backup in it.
  fs::create_directories(dir_ / "shared" / "backup");
  std::ofstream(dir_ / "shared" / "backup" / "notes.txt") << "mine";
  { const FitRun run(dir_ / "shared", data, {}); }
  EXPECT_TRUE(fs::exists(dir_ / "shared" / "backup" / "notes.txt"));
  EXPECT_FALSE(fs::exists(dir_ / "shared" / "backup" / "latest.training_state.h5"));
}

TEST_F(BackupAndRestoreTest, TemporariesOfKilledWritersAreRemovedAtTheNextStart) {
  const ImageData data = small_images(64);
  fs::create_directories(dir_ / "backup");
  // pid 2^22 + 1 is above Linux's pid_max (4,194,304), so no live process has it.
  const fs::path stale = dir_ / "backup" / "latest.training_state.h5.tmp-4194305-0";
  const fs::path live = dir_ / "backup" / ("latest.training_state.h5.tmp-" + std::to_string(::getpid()) + "-9");
  std::ofstream(stale) << "partial";
  std::ofstream(live) << "being written";
  { const FitRun run(dir_, data, {}, std::make_pair(0, int64_t{2})); }
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(live));
}

TEST(BackupAndRestore, OptionsAreCheckedAsKerasChecksThem) {
  EXPECT_THROW(rg::callbacks::BackupAndRestore(""), rg::ValueError);
  EXPECT_THROW(rg::callbacks::BackupAndRestore("b", {.save_freq = "batch"}), rg::ValueError);
  EXPECT_THROW(rg::callbacks::BackupAndRestore("b", {.save_freq = 0}), rg::ValueError);
  try {
    rg::callbacks::BackupAndRestore("b", {.save_freq = -3});
    ADD_FAILURE();
  } catch (const rg::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("'epoch' or a number of training batches >= 1"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(rg::callbacks::BackupAndRestore("b", {.save_freq = 100}));
  // Outside fit there is nothing to back up.
  auto model = stateful_model(5);
  rg::callbacks::BackupAndRestore backup("b");
  backup.set_model(model.get());
  rg::callbacks::Logs logs;
  EXPECT_THROW(backup.on_train_begin(logs), rg::StateError);
}
