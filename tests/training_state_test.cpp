// TrainingState: captured between two steps, saved, loaded and restored into a freshly built
// model, the next training steps are bit for bit those of the run that was never interrupted.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "regula/regula.hpp"
#include "resume_fixture.hpp"
#include "regula/training/training_state.hpp"

namespace rg = regula;
namespace fs = std::filesystem;
using rg::testing_support::ImageData;
using rg::testing_support::same_bits;
using rg::testing_support::small_images;
using rg::testing_support::stateful_model;

namespace {

constexpr int kEpochs = 3;
constexpr int64_t kBatches = 4;

/// A training run driven step by step, as fit drives it: augmented, shuffled batches; callbacks
/// that keep counters and best values; the epoch's running loss mean.
struct SteppedRun {
  explicit SteppedRun(uint64_t model_seed, const ImageData& data)
      : model(stateful_model(model_seed)),
        datagen({.rotation_range = 15, .width_shift_range = 0.1, .horizontal_flip = true}),
        source(datagen.flow(data.x, data.y, {.batch_size = 16, .seed = 99})),
        early_stopping({.monitor = "loss", .patience = 10, .restore_best_weights = true}),
        reduce_lr({.monitor = "loss", .factor = 0.5, .patience = 0, .min_delta = 10.0}) {
    for (rg::callbacks::Callback* cb : callbacks()) {
      cb->set_model(model.get());
      rg::callbacks::Logs logs;
      cb->on_train_begin(logs);
    }
  }

  std::vector<rg::callbacks::Callback*> callbacks() { return {&early_stopping, &reduce_lr, &history}; }

  /// Trains from (epoch, batch) to the end; `stop_at` (epoch, batch) returns early there.
  void train(int from_epoch, int64_t from_batch, std::optional<std::pair<int, int64_t>> stop_at = std::nullopt) {
    for (int epoch = from_epoch; epoch < kEpochs; ++epoch) {
      if (epoch != from_epoch || from_batch == 0) {
        for (const rg::metrics::MetricPtr& m : model->metrics()) m->reset();
        loss_total = 0.0;
        loss_count = 0;
      }
      for (int64_t b = epoch == from_epoch ? from_batch : 0; b < kBatches; ++b) {
        if (stop_at && stop_at->first == epoch && stop_at->second == b) return;
        source.next(batch);
        const double loss = model->train_on_batch(batch.x, batch.y);
        loss_total += loss * static_cast<double>(batch.x.dim(0));
        loss_count += batch.x.dim(0);
      }
      rg::callbacks::Logs logs;
      logs.set("loss", loss_total / static_cast<double>(loss_count));
      logs.set("accuracy", model->metrics()[0]->result());
      for (rg::callbacks::Callback* cb : callbacks()) cb->on_epoch_end(epoch, logs);
    }
  }

  rg::training::TrainingState capture(int epoch, int64_t b) {
    rg::training::TrainingState state = rg::training::capture_training_state(*model, callbacks(), &source, epoch, b);
    state.epoch_progress.numbers["loss_total"] = loss_total;
    state.epoch_progress.numbers["loss_count"] = static_cast<double>(loss_count);
    return state;
  }

  void restore(const rg::training::TrainingState& state, bool with_source = true) {
    rg::training::restore_training_state(state, *model, callbacks(), with_source ? &source : nullptr);
    loss_total = state.epoch_progress.number("test", "loss_total");
    loss_count = static_cast<int64_t>(state.epoch_progress.number("test", "loss_count"));
  }

  std::unique_ptr<rg::Model> model;
  rg::preprocessing::ImageDataGenerator datagen;
  rg::preprocessing::NumpyArrayIterator source;
  rg::callbacks::EarlyStopping early_stopping;
  rg::callbacks::ReduceLROnPlateau reduce_lr;
  rg::callbacks::History history;
  rg::data::Batch batch;
  double loss_total = 0.0;
  int64_t loss_count = 0;
};

class TrainingStateFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("regula-training-state-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

}  // namespace

TEST_F(TrainingStateFile, ResumingFromTheFileContinuesBitForBit) {
  const ImageData data = small_images(64);
  SteppedRun uninterrupted(1, data);
  uninterrupted.train(0, 0, std::make_pair(1, int64_t{2}));
  rg::training::save_training_state(uninterrupted.capture(1, 2), path("state.h5"));
  uninterrupted.train(1, 2);

  // A fresh process would build the model anew: another seed gives other initial weights.
  SteppedRun resumed(7, data);
  ASSERT_FALSE(same_bits(resumed.model->get_weights(), uninterrupted.model->get_weights()));
  const rg::training::TrainingState loaded = rg::training::load_training_state(path("state.h5"));
  EXPECT_EQ(loaded.epoch, 1);
  EXPECT_EQ(loaded.batch, 2);
  EXPECT_EQ(loaded.iterations, 6);
  resumed.restore(loaded);
  resumed.train(loaded.epoch, loaded.batch);

  EXPECT_TRUE(same_bits(resumed.model->get_weights(), uninterrupted.model->get_weights()));
  EXPECT_EQ(resumed.model->optimizer().learning_rate(), uninterrupted.model->optimizer().learning_rate());
  EXPECT_LT(resumed.model->optimizer().learning_rate(), 0.01) << "ReduceLROnPlateau (min_delta 10) reduces every epoch";
  EXPECT_EQ(resumed.model->optimizer().iterations(), kEpochs * kBatches);
  EXPECT_EQ(resumed.early_stopping.best(), uninterrupted.early_stopping.best());
  EXPECT_EQ(resumed.early_stopping.best_epoch(), uninterrupted.early_stopping.best_epoch());
  EXPECT_EQ(resumed.early_stopping.wait(), uninterrupted.early_stopping.wait());
  ASSERT_EQ(resumed.history.size(), 3u);
  EXPECT_EQ(resumed.history["loss"], uninterrupted.history["loss"]);
  EXPECT_EQ(resumed.history["accuracy"], uninterrupted.history["accuracy"]);
  // EarlyStopping's kept best weights came through the file too: restoring them matches.
  rg::callbacks::Logs logs;
  resumed.early_stopping.on_train_end(logs);
  uninterrupted.early_stopping.on_train_end(logs);
  EXPECT_TRUE(same_bits(resumed.model->get_weights(), uninterrupted.model->get_weights()));
}

TEST_F(TrainingStateFile, WithoutTheDataStreamTheRunDiverges) {
  // The negative control: the same restore without the source's position trains on other batches.
  const ImageData data = small_images(64);
  SteppedRun uninterrupted(1, data);
  uninterrupted.train(0, 0, std::make_pair(1, int64_t{2}));
  const rg::training::TrainingState state = uninterrupted.capture(1, 2);
  uninterrupted.train(1, 2);
  SteppedRun resumed(7, data);
  resumed.restore(state, /*with_source=*/false);
  resumed.train(state.epoch, state.batch);
  EXPECT_FALSE(same_bits(resumed.model->get_weights(), uninterrupted.model->get_weights()));
}

TEST_F(TrainingStateFile, AStateThatDoesNotFitIsRefusedAndChangesNothing) {
  const ImageData data = small_images(32);
  SteppedRun run(1, data);
  run.train(0, 0, std::make_pair(0, int64_t{1}));
  rg::training::TrainingState state = run.capture(0, 1);

  SteppedRun other(3, data);
  const std::vector<rg::Tensor> before = other.model->get_weights();
  rg::training::TrainingState bad_shape = state;
  bad_shape.weights[0] = rg::Tensor({2, 2});
  try {
    other.restore(bad_shape);
    ADD_FAILURE() << "no error for a weight of another shape";
  } catch (const rg::ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("conv2d/kernel"), std::string::npos) << e.what();
  }
  rg::training::TrainingState fewer_callbacks = state;
  fewer_callbacks.callbacks.pop_back();
  EXPECT_THROW(other.restore(fewer_callbacks), rg::ValueError);
  rg::training::TrainingState swapped = state;
  std::swap(swapped.callbacks[0], swapped.callbacks[1]);  // ReduceLROnPlateau's state for EarlyStopping
  try {
    other.restore(swapped);
    ADD_FAILURE() << "no error for callbacks' states in another order";
  } catch (const rg::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("EarlyStopping"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(same_bits(other.model->get_weights(), before));
  EXPECT_EQ(other.model->optimizer().iterations(), 0);
  EXPECT_EQ(other.early_stopping.wait(), 0);
}

TEST_F(TrainingStateFile, FilesThatAreNotATrainingStateAreClearErrors) {
  EXPECT_THROW(rg::training::load_training_state(path("missing.h5")), rg::IOError);
  { std::ofstream(path("text.h5")) << "not hdf5"; }
  EXPECT_THROW(rg::training::load_training_state(path("text.h5")), rg::IOError);
  auto model = stateful_model(1);
  rg::save_model(*model, path("model.h5"));
  try {
    rg::training::load_training_state(path("model.h5"));
    ADD_FAILURE() << "a model file was read as a training state";
  } catch (const rg::IOError& e) {
    EXPECT_NE(std::string(e.what()).find("not a regula training state"), std::string::npos) << e.what();
  }
  // An unwritable place is an IOError and leaves no temporary file behind.
  EXPECT_THROW(rg::training::save_training_state(rg::training::TrainingState{}, path("no-such-dir/state.h5")), rg::IOError);
  for (const auto& entry : fs::directory_iterator(dir_))
    EXPECT_EQ(entry.path().string().find(".tmp-"), std::string::npos) << entry.path();
}
