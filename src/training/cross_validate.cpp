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

void check_inputs(const Tensor& x, const Tensor& y, const std::vector<data::Fold>& folds, const FitOptions& options) {
  if (x.rank() == 0 || y.rank() == 0)
    throw ValueError(fmt::format("{}: x (shape {}) and y (shape {}) must both have a sample axis", kCaller,
                                 x.shape().to_string(), y.shape().to_string()));
  if (x.dim(0) != y.dim(0))
    throw ValueError(fmt::format("{}: x has {} samples but y has {}; they must have the same length", kCaller, x.dim(0),
                                 y.dim(0)));
  if (folds.empty()) throw ValueError(fmt::format("{}: folds is empty; it needs at least one train/test split", kCaller));
  if (options.validation_data || options.validation_split != 0.0)
    throw ValueError(fmt::format("{}: fit_options sets {}; leave it unset: each fold's held-out samples are its "
                                 "validation data",
                                 kCaller, options.validation_data ? "validation_data" : "validation_split"));
  if (!options.sample_weight.empty() && options.sample_weight.size() != x.dim(0))
    throw ValueError(fmt::format("{}: fit_options.sample_weight has {} values for {} samples; it needs one per sample",
                                 kCaller, options.sample_weight.size(), x.dim(0)));
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

std::unique_ptr<Model> make_fold_model(const ModelFactory& model_factory, size_t fold, size_t n_folds) {
  std::unique_ptr<Model> model = model_factory();
  if (!model)
    throw StateError(fmt::format("{}: fold {}/{}: model_factory returned no model; it must return a new compiled model",
                                 kCaller, fold + 1, n_folds));
  if (!model->compiled())
    throw StateError(fmt::format("{}: fold {}/{}: model_factory returned a model that is not compiled; call compile "
                                 "in the factory",
                                 kCaller, fold + 1, n_folds));
  return model;
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

CrossValidationResult cross_validate(const ModelFactory& model_factory, const Tensor& x, const Tensor& y,
                                     const std::vector<data::Fold>& folds, FitOptions fit_options) {
  check_inputs(x, y, folds, fit_options);
  const Tensor all_sample_weight = fit_options.sample_weight;
  const int64_t evaluate_batch_size =
      fit_options.validation_batch_size > 0 ? fit_options.validation_batch_size : fit_options.batch_size;

  CrossValidationResult result;
  for (size_t f = 0; f < folds.size(); ++f) {
    const data::Fold& fold = folds[f];
    std::unique_ptr<Model> model = make_fold_model(model_factory, f, folds.size());
    const Tensor x_test = gather_rows(x, fold.test);
    const Tensor y_test = gather_rows(y, fold.test);

    FitOptions options = fit_options;
    options.validation_data = ValidationData{x_test, y_test};
    if (!all_sample_weight.empty())
      options.sample_weight = gather_rows(all_sample_weight.reshaped({all_sample_weight.size()}), fold.train);
    result.fold_histories.push_back(model->fit(gather_rows(x, fold.train), gather_rows(y, fold.train), options));
    result.fold_scores.push_back(
        model->evaluate(x_test, y_test, {.batch_size = evaluate_batch_size, .verbose = 0}));

    if (fit_options.verbose > 0)
      std::printf("Fold %zu/%zu%s\n", f + 1, folds.size(), format_logs(result.fold_scores.back()).c_str());
  }
  summarise(result);
  if (fit_options.verbose > 0) {
    for (const auto& [name, mean] : result.mean)
      std::printf("%s: %.4f ± %.4f over %zu folds\n", name.c_str(), mean, result.std.at(name), folds.size());
    std::fflush(stdout);
  }
  return result;
}

CrossValidationResult cross_validate(const ModelFactory& model_factory, const Tensor& x, const Tensor& y, int n_splits,
                                     FitOptions fit_options, bool stratified, std::optional<uint64_t> seed) {
  const std::vector<data::Fold> folds = stratified ? data::StratifiedKFold(n_splits, true, seed).split(y)
                                                   : data::KFold(n_splits, true, seed).split(x);
  return cross_validate(model_factory, x, y, folds, std::move(fit_options));
}

}  // namespace regula::training
