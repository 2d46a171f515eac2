// mean_squared_error: Keras's mean(square(y_true − y_pred), axis=−1), then the
// "sum_over_batch_size" reduction, which for per-sample weights makes l_i the mean over every
// non-batch element of sample i.

#include <algorithm>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "regula/backend/context.hpp"
#include "regula/error.hpp"
#include "regula/losses/loss.hpp"

namespace regula::losses {
namespace {


// Keras's squeeze_or_expand_to_same_rank: targets (N,) fit predictions (N, 1) and the reverse.
bool same_up_to_trailing_one(const Shape& a, const Shape& b) {
  if (a == b) return true;
  const auto& da = a.dims();
  const auto& db = b.dims();
  if (da.size() == db.size() + 1 && da.back() == 1) return std::equal(db.begin(), db.end(), da.begin());
  if (db.size() == da.size() + 1 && db.back() == 1) return std::equal(da.begin(), da.end(), db.begin());
  return false;
}

class MeanSquaredError final : public Loss {
 public:
  std::string name() const override { return "mean_squared_error"; }
  bool is_classification() const override { return false; }

  void validate(const Tensor& y_true, const Tensor& y_pred) const override { (void)per_sample_count(y_true, y_pred); }

  void per_sample(const Tensor& y_true, const Tensor& y_pred, float* out) const override {
    backend::current().mean_squared_error(rows_of(y_true, y_pred), out);
  }

  void gradient(const Tensor& y_true, const Tensor& y_pred, const float* sample_weight, float scale,
                Tensor& grad) const override {
    const backend::ElementwiseLossRows rows = rows_of(y_true, y_pred);
    if (grad.shape() != y_pred.shape() || grad.empty()) grad.ensure_shape(y_pred.shape());
    backend::current().mean_squared_error_gradient(rows, {.scale = scale, .sample_weight = sample_weight}, grad.data());
  }

 private:
  backend::ElementwiseLossRows rows_of(const Tensor& y_true, const Tensor& y_pred) const {
    const int64_t m = per_sample_count(y_true, y_pred);
    return {.samples = y_pred.dim(0), .values_per_sample = m, .predictions = y_pred.data(), .targets = y_true.data()};
  }

  int64_t per_sample_count(const Tensor& y_true, const Tensor& y_pred) const {
    if (y_pred.rank() < 1 || y_pred.size() == 0)
      throw ShapeError(fmt::format("{}: y_pred has shape {}; expected (batch, ...) with at least one value a sample",
                                   name(), y_pred.shape().to_string()));
    if (!same_up_to_trailing_one(y_true.shape(), y_pred.shape()))
      throw ShapeError(fmt::format("{}: y_true of shape {} does not fit y_pred of shape {}: expected targets of "
                                   "the same shape (a trailing axis of 1 may be left out)",
                                   name(), y_true.shape().to_string(), y_pred.shape().to_string()));
    return y_pred.size() / y_pred.dim(0);
  }
};

}  // namespace

LossPtr mean_squared_error() { return std::make_shared<MeanSquaredError>(); }

}  // namespace regula::losses
