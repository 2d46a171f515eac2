#pragma once
/// @file
/// K-fold cross-validation of a Keras-style model. Equivalent: scikit-learn's
/// `sklearn.model_selection.cross_validate` / `cross_val_score` with a KerasClassifier (a fresh,
/// freshly initialised model per fold, trained on the fold's train part and scored on its
/// held-out part), reporting what Keras's `model.evaluate` reports.
///
/// ```cpp
/// auto factory = [] {
///   auto model = std::make_unique<Model>(input_fn(), output_fn());   // new layers, new weights
///   model->compile({.optimizer = optimizers::Adam(), .loss = "sparse_categorical_crossentropy",
///                   .metrics = {"accuracy"}});
///   return model;
/// };
/// auto cv = training::cross_validate(factory, x, y, 5, {.epochs = 10, .verbose = 2});
/// std::printf("%.4f ± %.4f\n", cv.mean.at("accuracy"), cv.std.at("accuracy"));
/// ```

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "regula/callbacks/history.hpp"
#include "regula/callbacks/logs.hpp"
#include "regula/data/kfold.hpp"
#include "regula/model/model.hpp"

namespace regula::training {

/// What `cross_validate` measured.
struct CrossValidationResult {
  /// Per fold, `evaluate`'s logs on the fold's held-out samples ({"loss": …, "accuracy": …}).
  std::vector<callbacks::Logs> fold_scores;
  /// Per fold, the History of its `fit` (its validation entries are on the held-out samples).
  std::vector<callbacks::History> fold_histories;
  /// Per score name (in `evaluate`'s order), the mean over the folds.
  callbacks::Logs mean;
  /// Per score name, the population standard deviation over the folds (ddof = 0, numpy's
  /// default `.std()`, as cross_val_score's scores are usually summarised).
  callbacks::Logs std;

  /// The folds' values of score `name` (as scikit-learn's `cross_val_score` array); throws
  /// ValueError listing the names when absent.
  std::vector<double> scores(const std::string& name) const;
};

/// Makes a new compiled model with freshly initialised weights; called once per fold.
using ModelFactory = std::function<std::unique_ptr<Model>()>;

/// Cross-validates over `folds` (e.g. `data::StratifiedKFold(5, true).split(y)`): for each fold,
/// a new model from `model_factory` is fitted on the fold's train rows of x and y with
/// `fit_options` and the fold's held-out rows as validation_data, then evaluated on the held-out
/// rows (batch size: fit_options.validation_batch_size, else batch_size). A per-sample
/// `fit_options.sample_weight` over all of x is split with the rows.
///
/// With fit_options.verbose > 0 it prints "Fold 2/5 - loss: 0.4321 - accuracy: 0.8765" after each
/// fold and, at the end, "accuracy: 0.8712 ± 0.0123 over 5 folds" for each score.
///
/// Throws ValueError when x and y differ in length, `folds` is empty, a fold's train or test part
/// is empty or names a sample outside x, fit_options sets validation_data or validation_split
/// (the fold's held-out part is the validation), or sample_weight does not have one value per
/// sample; StateError (naming the fold) when the factory returns no model or one that is not
/// compiled. Errors from `fit` / `evaluate` propagate.
CrossValidationResult cross_validate(const ModelFactory& model_factory, const Tensor& x, const Tensor& y,
                                     const std::vector<data::Fold>& folds, FitOptions fit_options = {});

/// Cross-validates over `n_splits` shuffled folds: `data::StratifiedKFold(n_splits, true, seed)`
/// on y when `stratified` (classification labels: class indices or one-hot rows), else
/// `data::KFold(n_splits, true, seed)`. `seed` unset draws from regula's global seed. Throws what
/// the splitter and the fold-list overload throw.
CrossValidationResult cross_validate(const ModelFactory& model_factory, const Tensor& x, const Tensor& y, int n_splits,
                                     FitOptions fit_options = {}, bool stratified = true,
                                     std::optional<uint64_t> seed = std::nullopt);

}  // namespace regula::training
