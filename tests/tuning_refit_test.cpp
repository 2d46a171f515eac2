// tuning::refit (the chosen configuration trained on training + validation data, evaluated once on
// the test set) and concatenate_rows (numpy.concatenate along axis 0).
#include <gtest/gtest.h>

#include <cmath>

#include "regula/regula.hpp"
#include "regula/tensor/concatenate.hpp"
#include "regula/tuning/refit.hpp"
#include "test_support.hpp"

namespace rg = regula;
using regula::testing_support::expect_error;

namespace {

// Points around the centre of their class on a circle (radius 3, spread 0.4), classes `first`..`last`.
void blobs(int64_t n, int64_t first, int64_t last, uint64_t seed, rg::Tensor& x, rg::Tensor& y) {
  rg::Rng rng(seed);
  x = rg::Tensor({n, 2});
  y = rg::Tensor({n});
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = first + i % (last - first + 1);
    const double angle = 2.0 * 3.14159265358979 * static_cast<double>(c) / 3.0;
    x[2 * i] = static_cast<float>(3.0 * std::cos(angle) + 0.4 * rng.normal());
    x[2 * i + 1] = static_cast<float>(3.0 * std::sin(angle) + 0.4 * rng.normal());
    y[i] = static_cast<float>(c);
  }
}

std::unique_ptr<rg::Model> classifier() {
  auto input = rg::layers::Input({2});
  auto h = rg::layers::Dense(16, {.activation = "relu"})(input);
  auto out = rg::layers::Dense(3, {.activation = "softmax"})(h);
  auto model = std::make_unique<rg::Model>(input, out);
  model->compile({.optimizer = rg::optimizers::Adam({.learning_rate = 0.05}),
                  .loss = "sparse_categorical_crossentropy",
                  .metrics = {"accuracy"}});
  return model;
}

TEST(ConcatenateRows, JoinsPartsInOrderAndRefusesOtherSampleShapes) {
  // numpy.concatenate([a, b], axis=0): a's rows, then b's; the other axes must agree.
  const rg::Tensor a({2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6});
  const rg::Tensor b({1, 3}, std::vector<float>{7, 8, 9});
  const rg::Tensor joined = rg::concatenate_rows({&a, &b});
  EXPECT_EQ(joined.shape(), rg::Shape({3, 3}));
  for (int64_t i = 0; i < 9; ++i) EXPECT_EQ(joined[i], static_cast<float>(i + 1));
  const rg::Tensor c({2, 4});
  expect_error<rg::ShapeError>([&] { rg::concatenate_rows({&a, &c}); }, {"part 1", "(2, 4)", "(2, 3)", "first axis"});
  expect_error<rg::ShapeError>([] { rg::concatenate_rows({}); }, {"no tensors"});
}

TEST(Refit, TrainsOnTrainingAndValidationDataAndEvaluatesOnceOnTheTestSet) {
  // The validation part holds the only examples of class 2: a model trained on the training part
  // alone cannot predict it, the refitted model (training + validation) does.
  rg::set_random_seed(5);
  rg::Tensor x_train, y_train, x_val, y_val, x_test, y_test;
  blobs(200, 0, 1, 1, x_train, y_train);
  blobs(100, 2, 2, 2, x_val, y_val);
  blobs(150, 0, 2, 3, x_test, y_test);
  const rg::FitOptions options{.batch_size = 32, .epochs = 15, .verbose = 0};

  auto result = rg::tuning::refit(classifier, x_train, y_train, x_val, y_val, x_test, y_test, options);
  ASSERT_NE(result.model, nullptr);
  EXPECT_EQ(result.history["loss"].size(), 15u);
  EXPECT_FALSE(result.history.contains("val_loss"));
  EXPECT_GT(result.test_scores.at("accuracy"), 0.95);
  // The scores are the refitted model's own on the test set.
  const rg::callbacks::Logs again = result.model->evaluate(x_test, y_test, {.batch_size = 32, .verbose = 0});
  EXPECT_DOUBLE_EQ(again.at("accuracy"), result.test_scores.at("accuracy"));
  EXPECT_DOUBLE_EQ(again.at("loss"), result.test_scores.at("loss"));

  // Control: the same recipe on the training part alone misses class 2 (a third of the test set).
  auto alone = classifier();
  alone->fit(x_train, y_train, options);
  EXPECT_LT(alone->evaluate(x_test, y_test, {.batch_size = 32, .verbose = 0}).at("accuracy"), 0.7);
}

TEST(Refit, RefusesValidationOptionsMismatchedPartsAndBadFactories) {
  rg::Tensor x, y;
  blobs(30, 0, 2, 4, x, y);
  const auto refit_with = [&](rg::FitOptions options) {
    rg::tuning::refit(classifier, x, y, x, y, x, y, std::move(options));
  };
  expect_error<rg::ValueError>([&] { refit_with({.epochs = 1, .validation_split = 0.2}); },
                               {"validation_split", "test set"});
  expect_error<rg::ValueError>([&] { refit_with({.epochs = 1, .validation_data = rg::ValidationData{x, y}}); },
                               {"validation_data"});
  expect_error<rg::ValueError>([&] { refit_with({.epochs = 1, .sample_weight = rg::Tensor({30}, 1.0f)}); },
                               {"sample_weight", "class_weight"});
  const rg::Tensor wide({30, 3});
  expect_error<rg::ShapeError>([&] { rg::tuning::refit(classifier, x, y, wide, y, x, y, {.epochs = 1}); },
                               {"part 1", "(30, 3)"});
  const rg::Tensor short_y({10});
  expect_error<rg::ShapeError>([&] { rg::tuning::refit(classifier, x, y, x, y, x, short_y, {.epochs = 1}); },
                               {"test part", "same number of samples"});
  expect_error<rg::StateError>(
      [&] { rg::tuning::refit([] { return std::unique_ptr<rg::Model>(); }, x, y, x, y, x, y, {.epochs = 1}); },
      {"no model"});
  expect_error<rg::StateError>(
      [&] {
        rg::tuning::refit(
            [] {
              auto input = rg::layers::Input({2});
              return std::make_unique<rg::Model>(input, rg::layers::Dense(3)(input));
            },
            x, y, x, y, x, y, {.epochs = 1});
      },
      {"not compiled"});
}

}  // namespace
