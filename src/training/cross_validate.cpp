// cross_validate: a fresh model per fold, fitted on the fold's train rows with its held-out rows
// as validation, scored with evaluate on the held-out rows; mean and population std per score.

#include "regula/training/cross_validate.hpp"

#include <cmath>
#include <cstdio>

#include <fmt/format.h>

#include "regula/error.hpp"
#include "regula/tensor/gather.hpp"

namespace regula::training {
namespace {

constexpr const char* kCaller = "cross_validate";

void check_inputs(const Tensor& x, const Tensor& y, const std::vector<data::Fold>& folds, const Tensor& sample_weight) {
  if (x.rank() == 0 || y.rank() == 0)
    throw ValueError(fmt::format("{}: x (shape {}) and y (shape {}) must both have a sample axis", kCaller,
                                 x.shape().to_string(), y.shape().to_string()));
  if (x.dim(0) != y.dim(0))
    throw ValueError(fmt::format("{}: x has {} samples but y has {}; they must have the same length", kCaller, x.dim(0),
                                 y.dim(0)));
  if (folds.empty()) throw ValueError(fmt::format("{}: folds is empty; it needs at least one train/test split", kCaller));
  if (!sample_weight.empty() && sample_weight.size() != x.dim(0))
    throw ValueError(fmt::format("{}: fit_options.sample_weight has {} values for {} samples; it needs one per sample",
                                 kCaller, sample_weight.size(), x.dim(0)));
  for (size_t f = 0; f < folds.size(); ++f) {
    for (const auto& [part, indices] : {std::pair{"train", &folds[f].train}, std::pair{"test", &folds[f].test}}) {
      if (indices->empty())
        throw ValueError(fmt::format("{}: fold {}/{} has an empty {} part", kCaller, f + 1, folds.size(), part));
      for (const int64_t i : *indices)
        if (i < 0 || i >= x.dim(0))
          throw ValueError(fmt::format("{}: fold {}/{}: {} index {} is outside [0, {})", kCaller, f + 1, folds.size(),
                                       part, i, x.dim(0)));
    }
  }
}

/// Checks a model that `source` ("model_factory" or "the fold trainer") returned for a fold.
void check_fold_model(const Model* model, const char* source, size_t fold, size_t n_folds) {
  if (model == nullptr)
    throw StateError(fmt::format("{}: fold {}/{}: {} returned no model; it must return a new compiled model", kCaller,
                                 fold + 1, n_folds, source));
  if (!model->compiled())
    throw StateError(fmt::format("{}: fold {}/{}: {} returned a model that is not compiled; call compile in it",
                                 kCaller, fold + 1, n_folds, source));
}

std::string format_logs(const callbacks::Logs& logs) {
  std::string line;
  for (const auto& [name, value] : logs) line += fmt::format(" - {}: {:.4f}", name, value);
  return line;
}

/// Mean and population standard deviation (ddof = 0) of each score over the folds.
void summarise(CrossValidationResult& result) {
  const auto n = static_cast<double>(result.fold_scores.size());
  for (const auto& entry : result.fold_scores.front()) {
    const std::string& name = entry.first;
    const std::vector<double> values = result.scores(name);
    double sum = 0.0;
    for (const double v : values) sum += v;
    const double mean = sum / n;
    double squares = 0.0;
    for (const double v : values) squares += (v - mean) * (v - mean);
    result.mean.set(name, mean);
    result.std.set(name, std::sqrt(squares / n));
  }
}

}  // namespace

std::vector<double> CrossValidationResult::scores(const std::string& name) const {
  std::vector<double> values;
  values.reserve(fold_scores.size());
  for (const callbacks::Logs& logs : fold_scores) values.push_back(logs.at(name));
  return values;
}

CrossValidationResult cross_validate(const FoldTrainer& train_fold, const Tensor& x, const Tensor& y,
                                     const std::vector<data::Fold>& folds, const CrossValidationOptions& options) {
  check_inputs(x, y, folds, options.sample_weight);
  CrossValidationResult result;
  for (size_t f = 0; f < folds.size(); ++f) {
    const data::Fold& fold = folds[f];
    FoldData data{.index = f,
                  .count = folds.size(),
                  .x_train = gather_rows(x, fold.train),
                  .y_train = gather_rows(y, fold.train),
                  .x_held_out = gather_rows(x, fold.test),
                  .y_held_out = gather_rows(y, fold.test)};
    if (!options.sample_weight.empty())
      data.sample_weight = gather_rows(options.sample_weight.reshaped({options.sample_weight.size()}), fold.train);
    FoldFit fitted = train_fold(data);
    check_fold_model(fitted.model.get(), "the fold trainer", f, folds.size());
    result.fold_histories.push_back(std::move(fitted.history));
    result.fold_scores.push_back(
        fitted.model->evaluate(fitted.x_held_out.empty() ? data.x_held_out : fitted.x_held_out, data.y_held_out,
                               {.batch_size = options.evaluate_batch_size, .verbose = 0}));
    if (options.verbose > 0)
      std::fprintf(options.out, "Fold %zu/%zu%s\n", f + 1, folds.size(), format_logs(result.fold_scores.back()).c_str());
  }
  summarise(result);
  if (options.verbose > 0) {
    for (const auto& [name, mean] : result.mean)
      std::fprintf(options.out, "%s: %.4f ± %.4f over %zu folds\n", name.c_str(), mean, result.std.at(name), folds.size());
    std::fflush(options.out);
  }
  return result;
}

CrossValidationResult cross_validate(const ModelFactory& model_factory, const Tensor& x, const Tensor& y,
                                     const std::vector<data::Fold>& folds, FitOptions fit_options) {
  if (fit_options.validation_data || fit_options.validation_split != 0.0)
    throw ValueError(fmt::format("{}: fit_options sets {}; leave it unset: each fold's held-out samples are its "
                                 "validation data",
                                 kCaller, fit_options.validation_data ? "validation_data" : "validation_split"));
  const CrossValidationOptions options{
      .evaluate_batch_size =
          fit_options.validation_batch_size > 0 ? fit_options.validation_batch_size : fit_options.batch_size,
      .verbose = fit_options.verbose,
      .out = stdout,
      .sample_weight = fit_options.sample_weight};
  const FoldTrainer fit_fold = [&](const FoldData& fold) {
    std::unique_ptr<Model> model = model_factory();
    check_fold_model(model.get(), "model_factory", fold.index, fold.count);
    FitOptions fold_options = fit_options;
    fold_options.validation_data = ValidationData{fold.x_held_out, fold.y_held_out};
    fold_options.sample_weight = fold.sample_weight;
    callbacks::History history = model->fit(fold.x_train, fold.y_train, fold_options);
    return FoldFit{.model = std::move(model), .history = std::move(history)};
  };
  return cross_validate(fit_fold, x, y, folds, options);
}

CrossValidationResult cross_validate(const ModelFactory& model_factory, const Tensor& x, const Tensor& y, int n_splits,
                                     FitOptions fit_options, bool stratified, std::optional<uint64_t> seed) {
  const std::vector<data::Fold> folds = stratified ? data::StratifiedKFold(n_splits, true, seed).split(y)
                                                   : data::KFold(n_splits, true, seed).split(x);
  return cross_validate(model_factory, x, y, folds, std::move(fit_options));
}

}  // namespace regula::training
