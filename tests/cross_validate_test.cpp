// cross_validate against scikit-learn's cross_validate / cross_val_score rules: a fresh model per
// fold, fitted on the fold's train part and scored on its held-out part; scores summarised by
// their mean and population standard deviation (numpy's .std(), ddof = 0).

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "regula/regula.hpp"
#include "regula/data/kfold.hpp"
#include "regula/tensor/gather.hpp"
#include "regula/training/cross_validate.hpp"
#include "test_support.hpp"

namespace rg = regula;
using regula::testing_support::error_message;

namespace {

struct Blobs {
  rg::Tensor x, y;
};

/// Two well separated Gaussian blobs in 2-D, alternating classes.
Blobs make_blobs(int64_t n, uint64_t seed) {
  rg::Rng rng(seed);
  Blobs b{rg::Tensor({n, 2}), rg::Tensor({n})};
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = i % 2;
    const double centre = c == 0 ? -2.0 : 2.0;
    b.x[2 * i] = static_cast<float>(centre + 0.5 * rng.normal());
    b.x[2 * i + 1] = static_cast<float>(centre + 0.5 * rng.normal());
    b.y[i] = static_cast<float>(c);
  }
  return b;
}

std::unique_ptr<rg::Model> tiny_classifier() {
  auto input = rg::layers::Input({2});
  auto hidden = rg::layers::Dense(8, {.activation = "relu"})(input);
  auto out = rg::layers::Dense(2, {.activation = "softmax"})(hidden);
  auto model = std::make_unique<rg::Model>(input, out);
  model->compile({.optimizer = rg::optimizers::Adam({.learning_rate = 0.05}),
                  .loss = "sparse_categorical_crossentropy",
                  .metrics = {"accuracy"}});
  return model;
}

/// Records the weights of the model at the end of each `fit`.
class FinalWeightsRecorder : public rg::callbacks::Callback {
 public:
  void on_train_end(rg::callbacks::Logs& /*logs*/) override { final_weights.push_back(model().get_weights()); }
  std::vector<std::vector<rg::Tensor>> final_weights;
};

bool same_weights(const std::vector<rg::Tensor>& a, const std::vector<rg::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t w = 0; w < a.size(); ++w) {
    if (a[w].size() != b[w].size()) return false;
    for (int64_t i = 0; i < a[w].size(); ++i)
      if (a[w][i] != b[w][i]) return false;
  }
  return true;
}

}  // namespace

TEST(CrossValidate, TrainsAFreshModelPerFoldAndScoresItOnTheHeldOutRows) {
  // cross_validate clones the estimator for every split (fresh, unfitted), fits it on X[train]
  // and scores it on X[test].
  rg::set_random_seed(1);
  const Blobs data = make_blobs(40, 3);
  const auto folds = rg::data::StratifiedKFold(4, true, 0).split(data.y);
  int factory_calls = 0;
  std::vector<std::vector<rg::Tensor>> initial_weights;
  auto factory = [&] {
    ++factory_calls;
    auto model = tiny_classifier();
    initial_weights.push_back(model->get_weights());
    return model;
  };
  FinalWeightsRecorder recorder;
  const auto result = rg::training::cross_validate(factory, data.x, data.y, folds,
                                                   {.batch_size = 8, .epochs = 3, .verbose = 0, .callbacks = {&recorder}});
  ASSERT_EQ(factory_calls, 4);
  ASSERT_EQ(result.fold_scores.size(), 4u);
  ASSERT_EQ(result.fold_histories.size(), 4u);
  ASSERT_EQ(recorder.final_weights.size(), 4u);
  for (size_t f = 1; f < 4; ++f)
    EXPECT_FALSE(same_weights(initial_weights[f], recorder.final_weights[f - 1])) << "fold " << f << " reused a model";

  for (size_t f = 0; f < 4; ++f) {
    // The fold's score is evaluate on its held-out rows with its final weights ...
    auto model = tiny_classifier();
    model->set_weights(recorder.final_weights[f]);
    const auto expected = model->evaluate(rg::gather_rows(data.x, folds[f].test), rg::gather_rows(data.y, folds[f].test),
                                          {.batch_size = 8, .verbose = 0});
    EXPECT_NEAR(result.fold_scores[f].at("loss"), expected.at("loss"), 1e-6) << "fold " << f;
    EXPECT_NEAR(result.fold_scores[f].at("accuracy"), expected.at("accuracy"), 1e-9) << "fold " << f;
    // ... and the held-out rows were fit's validation data: the last epoch's val_loss matches.
    const auto& history = result.fold_histories[f];
    ASSERT_TRUE(history.contains("val_loss"));
    EXPECT_EQ(history.size(), 3u);
    EXPECT_NEAR(history["val_loss"].back(), result.fold_scores[f].at("loss"), 1e-6) << "fold " << f;
  }
}

TEST(CrossValidate, MeanAndPopulationStdAreComputedFromTheFoldScores) {
  // numpy: scores.mean() and scores.std() (ddof = 0) over the per-fold scores.
  rg::set_random_seed(2);
  const Blobs data = make_blobs(30, 4);
  const auto result = rg::training::cross_validate(tiny_classifier, data.x, data.y, rg::data::KFold(3, true, 5).split(30),
                                                   {.batch_size = 10, .epochs = 2, .verbose = 0});
  for (const std::string name : {"loss", "accuracy"}) {
    const std::vector<double> scores = result.scores(name);
    ASSERT_EQ(scores.size(), 3u);
    const double mean = (scores[0] + scores[1] + scores[2]) / 3.0;
    double squares = 0.0;
    for (const double s : scores) squares += (s - mean) * (s - mean);
    EXPECT_NEAR(result.mean.at(name), mean, 1e-12) << name;
    EXPECT_NEAR(result.std.at(name), std::sqrt(squares / 3.0), 1e-12) << name;
  }
}

TEST(CrossValidate, VerbosePrintsALinePerFoldAndTheSummary) {
  // A per-fold line in Keras's log format, then "name: mean ± std over k folds".
  rg::set_random_seed(3);
  const Blobs data = make_blobs(20, 5);
  testing::internal::CaptureStdout();
  rg::training::cross_validate(tiny_classifier, data.x, data.y, 2, {.batch_size = 10, .epochs = 1, .verbose = 2}, true, 9);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("Fold 1/2 - loss: "), std::string::npos) << out;
  EXPECT_NE(out.find("Fold 2/2 - loss: "), std::string::npos) << out;
  EXPECT_NE(out.find(" - accuracy: "), std::string::npos) << out;
  EXPECT_NE(out.find(" ± "), std::string::npos) << out;
  EXPECT_NE(out.find("over 2 folds"), std::string::npos) << out;
}

TEST(CrossValidate, WithASplitCountBuildsShuffledStratifiedOrPlainFolds) {
  // check_cv: an integer cv means StratifiedKFold for class labels (here, shuffled with the seed),
  // KFold otherwise.
  rg::set_random_seed(4);
  const Blobs data = make_blobs(24, 6);
  int calls = 0;
  auto counting_factory = [&] {
    ++calls;
    return tiny_classifier();
  };
  const rg::FitOptions quick{.batch_size = 12, .epochs = 1, .verbose = 0};
  EXPECT_EQ(rg::training::cross_validate(counting_factory, data.x, data.y, 3, quick).fold_scores.size(), 3u);
  EXPECT_EQ(rg::training::cross_validate(counting_factory, data.x, data.y, 4, quick, false, 1).fold_scores.size(), 4u);
  EXPECT_EQ(calls, 7);
}

TEST(CrossValidate, SplitsPerSampleWeightsWithTheRows) {
  // cross_validate routes sample-aligned fit params to each fold: sample_weight[train].
  rg::set_random_seed(5);
  const Blobs data = make_blobs(12, 9);
  const auto result = rg::training::cross_validate(tiny_classifier, data.x, data.y, rg::data::KFold(3).split(12),
                                                   {.epochs = 1, .verbose = 0, .sample_weight = rg::Tensor({12}, 2.0f)});
  EXPECT_EQ(result.fold_scores.size(), 3u);
}

TEST(CrossValidate, RejectsAFactoryThatGivesNoModelOrAnUncompiledOneNamingTheFold) {
  // The factory must give a new compiled model per fold (scikit-learn's clone of an estimator).
  const Blobs data = make_blobs(12, 7);
  const auto folds = rg::data::KFold(3).split(12);
  int calls = 0;
  auto null_on_second = [&]() -> std::unique_ptr<rg::Model> { return ++calls == 2 ? nullptr : tiny_classifier(); };
  auto message = error_message<rg::StateError>(
      [&] { rg::training::cross_validate(null_on_second, data.x, data.y, folds, {.epochs = 1, .verbose = 0}); });
  EXPECT_NE(message.find("fold 2/3: model_factory returned no model"), std::string::npos) << message;

  auto uncompiled = [] {
    auto input = rg::layers::Input({2});
    return std::make_unique<rg::Model>(input, rg::layers::Dense(2)(input));
  };
  message = error_message<rg::StateError>(
      [&] { rg::training::cross_validate(uncompiled, data.x, data.y, folds, {.epochs = 1, .verbose = 0}); });
  EXPECT_NE(message.find("fold 1/3: model_factory returned a model that is not compiled"), std::string::npos) << message;
}

TEST(CrossValidate, AFoldTrainerGetsEachFoldsRowsAndItsModelIsScoredOnTheHeldOutRows) {
  // The general form (what experiment-search trials run): the trainer sees the fold's gathered
  // rows and weights, trains its own way, and cross_validate evaluates the returned model on
  // the held-out rows as the model takes them (FoldFit::x_held_out when the trainer prepared them).
  rg::set_random_seed(2);
  const Blobs data = make_blobs(12, 4);
  const auto folds = rg::data::KFold(3).split(12);
  rg::Tensor weights({12});
  for (int64_t i = 0; i < 12; ++i) weights[i] = static_cast<float>(i + 1);
  std::vector<size_t> seen;
  const rg::training::FoldTrainer trainer = [&](const rg::training::FoldData& fold) {
    seen.push_back(fold.index);
    EXPECT_EQ(fold.count, 3u);
    const auto& rows = folds[fold.index];
    EXPECT_TRUE(same_weights({fold.x_train, fold.y_train, fold.x_held_out, fold.y_held_out},
                             {rg::gather_rows(data.x, rows.train), rg::gather_rows(data.y, rows.train),
                              rg::gather_rows(data.x, rows.test), rg::gather_rows(data.y, rows.test)}));
    EXPECT_TRUE(same_weights({fold.sample_weight}, {rg::gather_rows(weights, rows.train)}));
    auto model = tiny_classifier();
    rg::callbacks::History history = model->fit(fold.x_train, fold.y_train, {.epochs = 1, .verbose = 0});
    // Fold 2's model is scored on inputs the trainer prepared (here: its held-out rows doubled).
    rg::Tensor prepared = fold.index == 1 ? fold.x_held_out.clone() : rg::Tensor();
    for (int64_t i = 0; i < prepared.size(); ++i) prepared[i] *= 2.0f;
    return rg::training::FoldFit{.model = std::move(model), .history = std::move(history), .x_held_out = prepared};
  };
  std::vector<std::vector<rg::Tensor>> kept;
  const auto result = rg::training::cross_validate(
      [&](const rg::training::FoldData& fold) {
        rg::training::FoldFit fitted = trainer(fold);
        kept.push_back(fitted.model->get_weights());
        return fitted;
      },
      data.x, data.y, folds, {.evaluate_batch_size = 4, .verbose = 0, .sample_weight = weights});
  EXPECT_EQ(seen, (std::vector<size_t>{0, 1, 2}));
  ASSERT_EQ(result.fold_scores.size(), 3u);
  for (size_t f = 0; f < 3; ++f) {
    rg::Tensor x_held_out = rg::gather_rows(data.x, folds[f].test);
    if (f == 1)
      for (int64_t i = 0; i < x_held_out.size(); ++i) x_held_out[i] *= 2.0f;
    auto model = tiny_classifier();
    model->set_weights(kept[f]);
    const auto expected = model->evaluate(x_held_out, rg::gather_rows(data.y, folds[f].test), {.batch_size = 4, .verbose = 0});
    EXPECT_NEAR(result.fold_scores[f].at("loss"), expected.at("loss"), 1e-6) << "fold " << f;
  }

  // A trainer that returns no model is refused, naming the fold.
  const std::string message = error_message<rg::StateError>([&] {
    rg::training::cross_validate([](const rg::training::FoldData&) { return rg::training::FoldFit{}; }, data.x, data.y,
                                 folds, {.verbose = 0});
  });
  EXPECT_NE(message.find("fold 1/3: the fold trainer returned no model"), std::string::npos) << message;
}

TEST(CrossValidate, RejectsOwnValidationDataMismatchedArraysAndBadFolds) {
  // The fold's held-out part is the validation; x and y need one row per sample; folds must be usable.
  const Blobs data = make_blobs(12, 8);
  const auto folds = rg::data::KFold(3).split(12);
  auto run = [&](const rg::Tensor& y, const std::vector<rg::data::Fold>& f, rg::FitOptions options) {
    rg::training::cross_validate(tiny_classifier, data.x, y, f, options);
  };
  auto message = error_message<rg::ValueError>([&] { run(data.y, folds, {.verbose = 0, .validation_split = 0.2}); });
  EXPECT_NE(message.find("fit_options sets validation_split"), std::string::npos) << message;
  message = error_message<rg::ValueError>(
      [&] { run(data.y, folds, {.verbose = 0, .validation_data = rg::ValidationData{data.x, data.y}}); });
  EXPECT_NE(message.find("fit_options sets validation_data"), std::string::npos) << message;
  message = error_message<rg::ValueError>([&] { run(data.y.slice_rows(0, 10), folds, {.verbose = 0}); });
  EXPECT_NE(message.find("x has 12 samples but y has 10"), std::string::npos) << message;
  message = error_message<rg::ValueError>([&] { run(data.y, folds, {.verbose = 0, .sample_weight = rg::Tensor({5}, 1.0f)}); });
  EXPECT_NE(message.find("sample_weight has 5 values for 12 samples"), std::string::npos) << message;
  message = error_message<rg::ValueError>([&] { run(data.y, {}, {.verbose = 0}); });
  EXPECT_NE(message.find("folds is empty"), std::string::npos) << message;
  message = error_message<rg::ValueError>([&] { run(data.y, {{{0, 1, 2}, {12}}}, {.verbose = 0}); });
  EXPECT_NE(message.find("fold 1/1: test index 12 is outside [0, 12)"), std::string::npos) << message;
}
