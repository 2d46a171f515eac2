#include "regula/tuning/refit.hpp"

#include <string>

#include "regula/error.hpp"
#include "regula/tensor/concatenate.hpp"

namespace regula::tuning {
namespace {

void check_part(const char* name, const Tensor& x, const Tensor& y) {
  if (x.rank() < 1 || y.rank() < 1 || x.dim(0) != y.dim(0))
    throw ShapeError(std::string("refit: ") + name + " has x of shape " + x.shape().to_string() + " and y of shape " +
                     y.shape().to_string() + "; they need the same number of samples");
}

}  // namespace

RefitResult refit(const training::ModelFactory& model_factory, const Tensor& x_train, const Tensor& y_train,
                  const Tensor& x_val, const Tensor& y_val, const Tensor& x_test, const Tensor& y_test,
                  FitOptions fit_options) {
  if (fit_options.validation_data || fit_options.validation_split != 0.0)
    throw ValueError(
        "refit: fit_options sets validation_data or validation_split; refit trains on the training and validation "
        "data together and evaluates on the test set, so none is left to validate on (take the epochs from the "
        "search)");
  if (!fit_options.sample_weight.empty())
    throw ValueError("refit: fit_options.sample_weight is not supported (it would have to cover the training and "
                     "validation samples); give class_weight instead");
  check_part("the training part", x_train, y_train);
  check_part("the validation part", x_val, y_val);
  check_part("the test part", x_test, y_test);
  const Tensor x = concatenate_rows({&x_train, &x_val});
  const Tensor y = concatenate_rows({&y_train, &y_val});

  RefitResult result;
  result.model = model_factory();
  if (result.model == nullptr)
    throw StateError("refit: model_factory returned no model; it must return a new compiled model");
  if (!result.model->compiled())
    throw StateError("refit: model_factory returned a model that is not compiled; call compile in the factory");
  const int64_t test_batch =
      fit_options.validation_batch_size > 0 ? fit_options.validation_batch_size : fit_options.batch_size;
  const int verbose = fit_options.verbose;
  result.history = result.model->fit(x, y, std::move(fit_options));
  result.test_scores = result.model->evaluate(x_test, y_test, {.batch_size = test_batch, .verbose = verbose});
  return result;
}

}  // namespace regula::tuning
