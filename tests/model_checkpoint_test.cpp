// ModelCheckpoint: Keras 3's file-name formatting, save_best_only schedule and messages.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "regula/callbacks/model_checkpoint.hpp"
#include "regula/error.hpp"
#include "regula/layers/dense.hpp"
#include "regula/layers/input.hpp"
#include "regula/model/model.hpp"
#include "regula/model/model_file.hpp"

namespace rg = regula;
namespace cb = regula::callbacks;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("regula_checkpoint_test_" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::unique_ptr<rg::Model> tiny_model() {
  auto input = rg::layers::Input({2});
  auto out = rg::layers::Dense(2, {.activation = "softmax"})(input);
  return std::make_unique<rg::Model>(input, out);
}

cb::Logs logs_of(std::initializer_list<std::pair<const char*, double>> values) {
  cb::Logs logs;
  for (const auto& [k, v] : values) logs.set(k, v);
  return logs;
}

std::set<std::string> files_in(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

TEST(ModelCheckpoint, FormatsFileNamesLikePython) {
  const cb::Logs logs = logs_of({{"loss", 0.5}, {"val_accuracy", 0.91234}, {"val_loss", 0.25}});
  EXPECT_EQ(cb::format_checkpoint_path("best-{epoch:02d}-{val_accuracy:.4f}.h5", 2, logs), "best-03-0.9123.h5");
  EXPECT_EQ(cb::format_checkpoint_path("m{epoch}.h5", 9, logs), "m10.h5");
  EXPECT_EQ(cb::format_checkpoint_path("m{epoch:d}_{val_loss}.h5", 0, logs), "m1_0.25.h5");
  EXPECT_EQ(cb::format_checkpoint_path("m{epoch:3d}.h5", 0, logs), "m  1.h5");
  EXPECT_EQ(cb::format_checkpoint_path("{{x}}-{loss:.1f}.h5", 0, logs), "{x}-0.5.h5");
  try {
    cb::format_checkpoint_path("m-{val_acc:.2f}.h5", 0, logs);
    FAIL() << "no error";
  } catch (const rg::ValueError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("val_acc"), std::string::npos) << msg;
    EXPECT_NE(msg.find("epoch, loss, val_accuracy, val_loss"), std::string::npos) << msg;
  }
  EXPECT_THROW(cb::format_checkpoint_path("m-{loss:e}.h5", 0, logs), rg::ValueError);
  EXPECT_THROW(cb::format_checkpoint_path("m-{loss:02d}.h5", 0, logs), rg::ValueError);
  EXPECT_THROW(cb::format_checkpoint_path("m-{epoch.h5", 0, logs), rg::ValueError);
}

TEST(ModelCheckpoint, AnIntegerSaveFreqSavesEveryNBatchesAsKeras) {
  // Keras: save_freq=N saves after every N-th training batch, counted across epochs, with the
  // batch's logs; {batch} is the 1-based batch within its epoch. verbose prints "saving" and then
  // "finished saving" for each file.
  const fs::path dir = fresh_dir("batches");
  auto model = tiny_model();
  model->compile({.optimizer = rg::optimizers::SGD({.learning_rate = 0.1}), .loss = "sparse_categorical_crossentropy"});
  const rg::Tensor x({6, 2}, {0, 1, 1, 0, 1, 1, 0, 0, 0.5f, 0.5f, 1, 0.5f});
  const rg::Tensor y({6}, {0, 1, 1, 0, 0, 1});
  cb::ModelCheckpoint checkpoint((dir / "m-{epoch}-{batch}.h5").string(), {.verbose = 1, .save_freq = 2});
  testing::internal::CaptureStdout();
  model->fit(x, y, {.batch_size = 2, .epochs = 2, .verbose = 0, .callbacks = {&checkpoint}, .shuffle = false});
  const std::string out = testing::internal::GetCapturedStdout();
  // 3 batches an epoch: after batches 2, 4 (epoch 2's first) and 6 (its third).
  EXPECT_EQ(files_in(dir), (std::set<std::string>{"m-1-2.h5", "m-2-1.h5", "m-2-3.h5"}));
  EXPECT_NE(out.find("Epoch 2: saving model to " + (dir / "m-2-1.h5").string() + "\nEpoch 2: finished saving model to " +
                     (dir / "m-2-1.h5").string()),
            std::string::npos)
      << out;
  EXPECT_THROW(cb::ModelCheckpoint("m.h5", {.save_freq = 0}), rg::ValueError);
}

TEST(ModelCheckpoint, ValidatesOptions) {
  EXPECT_THROW(cb::ModelCheckpoint("m.h5", {.save_freq = "batch"}), rg::ValueError);
  EXPECT_THROW(cb::ModelCheckpoint("m.h5", {.mode = "up"}), rg::ValueError);
  EXPECT_THROW(cb::ModelCheckpoint("m.keras"), rg::ValueError);
  EXPECT_THROW(cb::ModelCheckpoint("m.h5", {.save_weights_only = true}), rg::ValueError);
  EXPECT_NO_THROW(cb::ModelCheckpoint("m.weights.h5", {.save_weights_only = true}));
}

TEST(ModelCheckpoint, SaveBestOnlyWritesOnImprovementWithKerasMessages) {
  const fs::path dir = fresh_dir("best");
  auto model = tiny_model();
  cb::ModelCheckpoint checkpoint((dir / "best-{epoch:02d}.h5").string(), {.verbose = 1, .save_best_only = true});
  checkpoint.set_model(model.get());
  const double val_loss[] = {0.3, 0.4, 0.2, 0.2, 0.1};
  testing::internal::CaptureStdout();
  for (int epoch = 0; epoch < 5; ++epoch) {
    cb::Logs logs = logs_of({{"loss", 1.0}, {"val_loss", val_loss[epoch]}});
    checkpoint.on_epoch_end(epoch, logs);
  }
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(files_in(dir), (std::set<std::string>{"best-01.h5", "best-03.h5", "best-05.h5"}));
  const std::string p1 = (dir / "best-01.h5").string(), p3 = (dir / "best-03.h5").string(),
                    p5 = (dir / "best-05.h5").string();
  EXPECT_EQ(out, "Epoch 1: val_loss improved from inf to 0.30000, saving model to " + p1 +
                     "\nEpoch 1: finished saving model to " + p1 +
                     "\nEpoch 2: val_loss did not improve from 0.30000\n"
                     "Epoch 3: val_loss improved from 0.30000 to 0.20000, saving model to " + p3 +
                     "\nEpoch 3: finished saving model to " + p3 +
                     "\nEpoch 4: val_loss did not improve from 0.20000\n"
                     "Epoch 5: val_loss improved from 0.20000 to 0.10000, saving model to " + p5 +
                     "\nEpoch 5: finished saving model to " + p5 + "\n");
  EXPECT_DOUBLE_EQ(checkpoint.best(), 0.1);
  EXPECT_EQ(rg::saved_epoch(p5), 5);
}

TEST(ModelCheckpoint, MaxModeAndInitialThreshold) {
  const fs::path dir = fresh_dir("max");
  auto model = tiny_model();
  cb::ModelCheckpoint checkpoint((dir / "acc-{epoch}.h5").string(),
                                 {.monitor = "val_accuracy", .save_best_only = true, .initial_value_threshold = 0.5});
  checkpoint.set_model(model.get());
  const double acc[] = {0.4, 0.6, 0.55, 0.7};
  for (int epoch = 0; epoch < 4; ++epoch) {
    cb::Logs logs = logs_of({{"val_accuracy", acc[epoch]}});
    checkpoint.on_epoch_end(epoch, logs);
  }
  EXPECT_EQ(files_in(dir), (std::set<std::string>{"acc-2.h5", "acc-4.h5"}));
}

TEST(ModelCheckpoint, EveryEpochWithoutSaveBestOnly) {
  const fs::path dir = fresh_dir("every");
  auto model = tiny_model();
  const std::string pattern = (dir / "w-{epoch}.weights.h5").string();
  cb::ModelCheckpoint checkpoint(pattern, {.verbose = 1, .save_weights_only = true});
  checkpoint.set_model(model.get());
  testing::internal::CaptureStdout();
  for (int epoch = 0; epoch < 2; ++epoch) {
    cb::Logs logs = logs_of({{"loss", 1.0}});
    checkpoint.on_epoch_end(epoch, logs);
  }
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(files_in(dir), (std::set<std::string>{"w-1.weights.h5", "w-2.weights.h5"}));
  const std::string w1 = (dir / "w-1.weights.h5").string(), w2 = (dir / "w-2.weights.h5").string();
  EXPECT_EQ(out, "Epoch 1: saving model to " + w1 + "\nEpoch 1: finished saving model to " + w1 +
                     "\nEpoch 2: saving model to " + w2 + "\nEpoch 2: finished saving model to " + w2 + "\n");
  auto other = tiny_model();
  rg::load_weights(*other, (dir / "w-2.weights.h5").string());
}

TEST(ModelCheckpoint, MissingMonitorWarnsAndSavesNothing) {
  // Keras 3's rule: save_best_only cannot tell the best without the monitored value, so it skips
  // (saving anyway would leave the last epoch's model under the name of the best).
  const fs::path dir = fresh_dir("missing");
  auto model = tiny_model();
  cb::ModelCheckpoint checkpoint((dir / "m-{epoch}.h5").string(), {.save_best_only = true});
  checkpoint.set_model(model.get());
  testing::internal::CaptureStderr();
  for (int epoch = 0; epoch < 2; ++epoch) {
    cb::Logs logs = logs_of({{"loss", 1.0}});
    checkpoint.on_epoch_end(epoch, logs);
  }
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err,
            "UserWarning: Can save best model only with val_loss available, skipping save at epoch 0.\n"
            "UserWarning: Can save best model only with val_loss available, skipping save at epoch 1.\n");
  EXPECT_EQ(files_in(dir), (std::set<std::string>{}));
  EXPECT_TRUE(checkpoint.last_saved().empty());
}

TEST(ModelCheckpoint, OverwritingAFixedNameLeavesNoTemporaryFiles) {
  const fs::path dir = fresh_dir("atomic");
  auto model = tiny_model();
  cb::ModelCheckpoint checkpoint((dir / "latest.h5").string());
  checkpoint.set_model(model.get());
  for (int epoch = 0; epoch < 3; ++epoch) {
    cb::Logs logs = logs_of({{"val_loss", 1.0}});
    checkpoint.on_epoch_end(epoch, logs);
  }
  EXPECT_EQ(files_in(dir), (std::set<std::string>{"latest.h5"}));
  EXPECT_EQ(rg::saved_epoch((dir / "latest.h5").string()), 3);
}

}  // namespace
