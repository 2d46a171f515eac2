// Precise batch normalization: Model::recalibrate_batch_normalization's rule (the moving
// statistics become the population statistics of the values seen) and the PreciseBatchNorm
// callback (its schedule, training left unchanged, the moving averages kept aside).

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "regula/callbacks/precise_batch_norm.hpp"
#include "regula/data/batch_source.hpp"
#include "regula/error.hpp"
#include "regula/layers/activation.hpp"
#include "regula/layers/batch_normalization.hpp"
#include "regula/layers/dense.hpp"
#include "regula/layers/dropout.hpp"
#include "regula/layers/input.hpp"
#include "regula/layers/layer.hpp"
#include "regula/model/model.hpp"
#include "regula/utils/random.hpp"

namespace rg = regula;
namespace rl = regula::layers;

namespace {

/// Rows of x in batches of the given sizes.
class Batches final : public rg::data::BatchSource {
 public:
  Batches(rg::Tensor x, std::vector<int64_t> sizes) : x_(std::move(x)), sizes_(std::move(sizes)) {}
  int64_t batches_per_pass() const override { return static_cast<int64_t>(sizes_.size()); }
  int64_t samples() const override { return x_.dim(0); }
  rg::Shape sample_shape() const override { return x_.shape().without_batch(); }
  void next(rg::data::Batch& batch) override {
    const int64_t size = sizes_[static_cast<size_t>(index_++)];
    batch.x = x_.slice_rows(begin_, begin_ + size);
    begin_ += size;
  }
  void reset() override { index_ = 0, begin_ = 0; }

 private:
  rg::Tensor x_;
  std::vector<int64_t> sizes_;
  int64_t index_ = 0, begin_ = 0;
};

rg::Tensor random_rows(int64_t rows, int64_t cols, uint64_t seed, double shift) {
  rg::Rng rng(seed);
  rg::Tensor x(rg::Shape{rows, cols});
  for (int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(shift * static_cast<double>(i % cols) + rng.normal());
  return x;
}

/// Per column: the mean and the biased variance, in double.
void population_statistics(const rg::Tensor& x, std::vector<double>& mean, std::vector<double>& variance) {
  const int64_t rows = x.dim(0), cols = x.dim(1);
  mean.assign(static_cast<size_t>(cols), 0.0);
  variance.assign(static_cast<size_t>(cols), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) mean[static_cast<size_t>(c)] += x[r * cols + c] / static_cast<double>(rows);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const double d = x[r * cols + c] - mean[static_cast<size_t>(c)];
      variance[static_cast<size_t>(c)] += d * d / static_cast<double>(rows);
    }
}

TEST(PreciseBatchNorm, MovingStatisticsBecomeThePopulationStatisticsOfTheBatchesSeen) {
  // Dropout before the normalization is off in the pass: the statistics are those of the clean
  // inputs, over every row of the three (unequal) batches.
  auto input = rl::Input(rg::Shape{3});
  auto dropped = rl::Dropout(0.5)(input);
  auto bn = std::make_shared<rl::BatchNormalization>();
  auto output = rl::connect(bn, {dropped});
  rg::Model model(input, output);
  const rg::Tensor x = random_rows(12, 3, 5, 2.0);
  const std::vector<float> gamma_before(bn->gamma()->value.data(), bn->gamma()->value.data() + 3);
  Batches source(x, {5, 5, 2});
  EXPECT_EQ(model.recalibrate_batch_normalization(source), 12);
  std::vector<double> mean, variance;
  population_statistics(x, mean, variance);
  for (int64_t c = 0; c < 3; ++c) {
    EXPECT_NEAR(bn->moving_mean().value[c], mean[static_cast<size_t>(c)], 1e-5) << c;
    EXPECT_NEAR(bn->moving_variance().value[c], variance[static_cast<size_t>(c)], 1e-5) << c;
  }
  // Only the moving statistics change; the same pass again gives the same statistics.
  EXPECT_EQ(std::vector<float>(bn->gamma()->value.data(), bn->gamma()->value.data() + 3), gamma_before);
  const float mean0 = bn->moving_mean().value[0];
  model.recalibrate_batch_normalization(source, 3);
  EXPECT_EQ(bn->moving_mean().value[0], mean0);
  EXPECT_THROW(model.recalibrate_batch_normalization(source, -1), rg::ValueError);
}

TEST(PreciseBatchNorm, LaterLayersSeeEachBatchNormalizedByItsOwnStatistics) {
  // Input → BN1 → Dense → BN2 with one batch: BN1 normalizes the batch by its own statistics, so
  // BN2's population statistics are those of Dense(BN1(x) by the batch's statistics).
  auto input = rl::Input(rg::Shape{4});
  auto bn1 = std::make_shared<rl::BatchNormalization>();
  auto dense = std::make_shared<rl::Dense>(3);
  auto bn2 = std::make_shared<rl::BatchNormalization>();
  auto output = rl::connect(bn2, {rl::connect(dense, {rl::connect(bn1, {input})})});
  rg::Model model(input, output);
  const rg::Tensor x = random_rows(16, 4, 6, 1.0);
  Batches source(x, {16});
  model.recalibrate_batch_normalization(source);
  // By hand: normalize x per column (γ = 1, β = 0, ε = 1e-3), apply the Dense layer.
  std::vector<double> mean, variance;
  population_statistics(x, mean, variance);
  rg::Tensor h(rg::Shape{16, 3});
  const rg::Tensor& kernel = dense->weights()[0].value;
  for (int64_t r = 0; r < 16; ++r)
    for (int64_t j = 0; j < 3; ++j) {
      double sum = 0.0;
      for (int64_t c = 0; c < 4; ++c)
        sum += (x[r * 4 + c] - mean[static_cast<size_t>(c)]) / std::sqrt(variance[static_cast<size_t>(c)] + 1e-3) *
               kernel[c * 3 + j];
      h[r * 3 + j] = static_cast<float>(sum);  // the bias starts at zero
    }
  std::vector<double> h_mean, h_variance;
  population_statistics(h, h_mean, h_variance);
  for (int64_t j = 0; j < 3; ++j) {
    EXPECT_NEAR(bn2->moving_mean().value[j], h_mean[static_cast<size_t>(j)], 1e-4) << j;
    EXPECT_NEAR(bn2->moving_variance().value[j], h_variance[static_cast<size_t>(j)], 1e-4) << j;
  }
}

/// A small classifier with BatchNormalization → ReLU → Dropout (a fused chain).
std::unique_ptr<rg::Model> classifier() {
  rg::set_random_seed(3);
  rl::reset_layer_names();
  auto input = rl::Input(rg::Shape{6});
  auto x = rl::Dense(8)(input);
  x = rl::BatchNormalization()(x);
  x = rl::Activation("relu")(x);
  x = rl::Dropout(0.3)(x);
  auto output = rl::Dense(3, {.activation = "softmax"})(x);
  auto model = std::make_unique<rg::Model>(input, output);
  model->compile({.optimizer = "adam", .loss = "sparse_categorical_crossentropy", .metrics = {"accuracy"}});
  return model;
}

rg::Tensor labels_of(const rg::Tensor& x) {
  rg::Tensor y(rg::Shape{x.dim(0)});
  for (int64_t r = 0; r < x.dim(0); ++r) y[r] = static_cast<float>((x[r * 6] > 0 ? 1 : 0) + (x[r * 6 + 1] > 0.5 ? 1 : 0));
  return y;
}

TEST(PreciseBatchNorm, CallbackRecalibratesBeforeEachValidationAndLeavesTrainingAsItWas) {
  const rg::Tensor x = random_rows(96, 6, 7, 0.5), x_val = random_rows(40, 6, 8, 0.5);
  const rg::Tensor y = labels_of(x), y_val = labels_of(x_val);
  const rg::FitOptions fit{.batch_size = 16, .epochs = 3, .verbose = 0};

  auto plain = classifier();
  rg::FitOptions plain_fit = fit;
  plain_fit.validation_data = rg::ValidationData{x_val, y_val};
  plain->fit(x, y, plain_fit);
  const rg::callbacks::Logs plain_val = plain->evaluate(x_val, y_val, {.batch_size = 256, .verbose = 0});

  auto model = classifier();
  rg::callbacks::PreciseBatchNorm precise(x, {.batches = 3, .batch_size = 16});
  precise.compare_on(x_val, y_val);
  rg::FitOptions precise_fit = fit;
  precise_fit.validation_data = rg::ValidationData{x_val, y_val};
  precise_fit.callbacks = {&precise};
  model->fit(x, y, precise_fit);
  EXPECT_EQ(precise.recalibrations(), 3);  // one per validation
  ASSERT_TRUE(precise.final_comparison().has_value());
  EXPECT_EQ(precise.final_comparison()->epoch, 3);
  // The moving averages kept aside are those of a run without the callback: training and the
  // moving averages went on unchanged.
  EXPECT_EQ(precise.final_comparison()->moving_average.at("loss"), plain_val.at("loss"));
  EXPECT_EQ(precise.final_comparison()->moving_average.at("accuracy"), plain_val.at("accuracy"));
  // The model ends with the recalibrated statistics, which a new recalibration reproduces.
  const rg::callbacks::Logs after = model->evaluate(x_val, y_val, {.batch_size = 256, .verbose = 0});
  EXPECT_EQ(after.at("loss"), precise.final_comparison()->recalibrated.at("loss"));
  precise.recalibrate();
  EXPECT_EQ(model->evaluate(x_val, y_val, {.batch_size = 256, .verbose = 0}).at("loss"), after.at("loss"));
  EXPECT_NE(after.at("loss"), plain_val.at("loss"));
}

TEST(PreciseBatchNorm, WithoutValidationItRecalibratesAtEachEpochEndOrOnceAtTheEnd) {
  const rg::Tensor x = random_rows(64, 6, 9, 0.5), y = labels_of(x);
  auto model = classifier();
  rg::callbacks::PreciseBatchNorm each_epoch(x, {.batches = 2, .batch_size = 16});
  model->fit(x, y, {.batch_size = 16, .epochs = 2, .verbose = 0, .callbacks = {&each_epoch}});
  EXPECT_EQ(each_epoch.recalibrations(), 2);
  EXPECT_FALSE(each_epoch.final_comparison().has_value());  // nothing to compare on
  rg::callbacks::PreciseBatchNorm at_end(x, {.batches = 2, .batch_size = 16, .schedule = "train_end"});
  model->fit(x, y, {.batch_size = 16, .epochs = 2, .verbose = 0, .callbacks = {&at_end}});
  EXPECT_EQ(at_end.recalibrations(), 1);
  EXPECT_GT(at_end.seconds(), 0.0);
}

TEST(PreciseBatchNorm, OptionsOutsideTheirRangeAreRefusedNamingThem) {
  const rg::Tensor x = random_rows(4, 6, 1, 0.0);
  EXPECT_THROW(rg::callbacks::PreciseBatchNorm(x, {.batches = 0}), rg::ValueError);
  EXPECT_THROW(rg::callbacks::PreciseBatchNorm(x, {.batch_size = 0}), rg::ValueError);
  try {
    rg::callbacks::PreciseBatchNorm(x, {.schedule = "weekly"});
    FAIL();
  } catch (const rg::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("'epoch', 'train_end'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(rg::callbacks::PreciseBatchNorm(rg::Tensor(rg::Shape{0, 6}), {}), rg::ValueError);
}

}  // namespace
