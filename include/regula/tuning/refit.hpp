#pragma once
/// @file
/// The last step of model choice (the article: "train the chosen model on the whole data"; Keras
/// Tuner's and scikit-learn's refit): the best configuration found on the validation data or by
/// K-fold is trained once more, from fresh weights, on the training and validation data together,
/// and evaluated once on the test set, which no choice has looked at.
///
/// ```cpp
/// const Params best = search.results().best_params();
/// const Trial& trial = *search.results().best();
/// auto result = tuning::refit([&] { return make_model(best); }, x_train, y_train, x_val, y_val, x_test, y_test,
///                             {.batch_size = 128, .epochs = trial.epochs});
/// std::printf("test accuracy %.4f\n", result.test_scores.at("accuracy"));
/// ```

#include <memory>

#include "regula/model/history.hpp"
#include "regula/model/logs.hpp"
#include "regula/model/model.hpp"
#include "regula/training/cross_validate.hpp"

namespace regula::tuning {

/// What `refit` produced.
struct RefitResult {
  /// The model trained on training + validation data.
  std::unique_ptr<Model> model;
  /// Its `fit` history (no validation entries: every sample was trained on).
  callbacks::History history;
  /// `evaluate`'s logs on the test set ({"loss": …, "accuracy": …}).
  callbacks::Logs test_scores;
};

/// Builds a model with `model_factory` (compiled, fresh weights), fits it on the rows of x_train
/// and x_val joined (labels alike) with `fit_options`, then evaluates it once on x_test / y_test
/// (batch size: fit_options.validation_batch_size, else batch_size; verbose as fit's).
///
/// The number of epochs comes from the search (e.g. the best trial's epochs, as found by early
/// stopping on the validation data), since no data is left to stop on. Throws ValueError when
/// fit_options sets validation_data, validation_split or sample_weight (weights would have to
/// cover both parts; give class_weight instead), ShapeError when the parts' sample shapes or label
/// shapes differ or a part's x and y lengths differ, StateError when the factory returns no model
/// or one that is not compiled. Errors from `fit` / `evaluate` propagate.
RefitResult refit(const training::ModelFactory& model_factory, const Tensor& x_train, const Tensor& y_train,
                  const Tensor& x_val, const Tensor& y_val, const Tensor& x_test, const Tensor& y_test,
                  FitOptions fit_options);

}  // namespace regula::tuning
