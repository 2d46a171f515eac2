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
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "regula/data/kfold.hpp"
#include "regula/model/history.hpp"
#include "regula/model/logs.hpp"
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

/// One fold as `cross_validate` hands it to a FoldTrainer: its rows of x and y (and of the
/// sample weights), gathered.
struct FoldData {
  size_t index = 0;  ///< 0-based
  size_t count = 0;  ///< how many folds there are
  Tensor x_train, y_train;
  Tensor x_held_out, y_held_out;
  /// The train rows' sample weights; empty when none were given.
  Tensor sample_weight;
};

/// What a FoldTrainer returns: the fold's fitted, compiled model and the History of its fit.
struct FoldFit {
  std::unique_ptr<Model> model;
  callbacks::History history;
  /// The held-out inputs as the model takes them when the trainer prepared its inputs (e.g.
  /// standardized as its augmented training batches were); empty: the fold's x_held_out.
  Tensor x_held_out;
};

/// Trains one fold its own way (augmentation, callbacks, a run directory per fold, …),
/// typically validating on the held-out rows.
using FoldTrainer = std::function<FoldFit(const FoldData& fold)>;

/// Options of the FoldTrainer form of `cross_validate`.
struct CrossValidationOptions {
  /// Batch size of the evaluation on each fold's held-out rows.
  int64_t evaluate_batch_size = 32;
  /// > 0: a "Fold 2/5 - loss: … - accuracy: …" line per fold and "accuracy: mean ± std over 5
  /// folds" per score at the end, on `out`.
  int verbose = 1;
  std::FILE* out = stdout;
  /// One weight per sample of x, or empty; each fold's train rows of it reach the trainer.
  Tensor sample_weight;
};

/// The general form, which the others and experiment-search trials run: for each fold, gathers
/// its rows, calls `train_fold`, then evaluates the returned model on the held-out rows. Throws
/// ValueError when x and y differ in length, `folds` is empty, a fold's train or test part is
/// empty or names a sample outside x, or sample_weight does not have one value per sample;
/// StateError (naming the fold) when the trainer returns no model or one that is not compiled.
CrossValidationResult cross_validate(const FoldTrainer& train_fold, const Tensor& x, const Tensor& y,
                                     const std::vector<data::Fold>& folds, const CrossValidationOptions& options = {});

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
