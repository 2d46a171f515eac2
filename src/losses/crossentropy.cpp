// Crossentropy losses with Keras 3's numerics (keras/src/losses/losses.py and the numpy/jax
// backends' nn.py):
// - probabilities are normalised by their row sum, then clipped to [1e-7, 1 − 1e-7] before the
//   log (categorical and sparse); binary clips each probability;
// - logits go through a stable log-softmax (categorical, sparse) or the stable
//   max(z, 0) − z·y + log(1 + e^−|z|) (binary, TensorFlow's sigmoid_cross_entropy_with_logits);
// - label smoothing is applied to the labels before the crossentropy.
// Losses are accumulated in double: a float sum over 10⁵ classes would lose the small terms.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "regula/backend/context.hpp"
#include "regula/error.hpp"
#include "regula/losses/loss.hpp"

namespace regula::losses {
namespace {

// Keras's squeeze_or_expand_to_same_rank: labels (N,) fit predictions (N, 1) and the reverse.
bool same_up_to_trailing_one(std::span<const int64_t> da, std::span<const int64_t> db) {
  if (std::equal(da.begin(), da.end(), db.begin(), db.end())) return true;
  if (da.size() == db.size() + 1 && da.back() == 1) return std::equal(db.begin(), db.end(), da.begin());
  if (db.size() == da.size() + 1 && db.back() == 1) return std::equal(da.begin(), da.end(), db.begin());
  return false;
}

void check_label_smoothing(const std::string& loss, double s) {
  if (!(s >= 0.0 && s <= 1.0))
    throw ValueError(fmt::format("{}: label_smoothing={} is out of range; allowed: a float in [0, 1]", loss, s));
}

// `loss` is named only in an error: its name is not built on every step.
void check_batch(const Loss& loss, const Tensor& y_true, const Tensor& y_pred, int min_pred_rank,
                 const char* expected) {
  if (y_pred.rank() < min_pred_rank || y_pred.size() == 0)
    throw ShapeError(
        fmt::format("{}: y_pred has shape {}; expected {}", loss.name(), y_pred.shape().to_string(), expected));
  if (y_true.rank() < 1 || y_true.dim(0) != y_pred.dim(0))
    throw ShapeError(fmt::format("{}: y_true of shape {} does not fit y_pred of shape {}: the batch sizes differ",
                                 loss.name(), y_true.shape().to_string(), y_pred.shape().to_string()));
}

void prepare_grad(const Tensor& y_pred, Tensor& grad) {
  if (grad.shape() != y_pred.shape() || grad.empty()) grad.ensure_shape(y_pred.shape());
}

/// categorical_crossentropy and sparse_categorical_crossentropy: one implementation, the labels
/// of a row being either dense or a class index.
class SoftmaxCrossentropy final : public Loss {
 public:
  SoftmaxCrossentropy(bool sparse, CrossentropyOptions options) : sparse_(sparse), options_(options) {
    check_label_smoothing(name(), options.label_smoothing);
  }

  std::string name() const override {
    return sparse_ ? "sparse_categorical_crossentropy" : "categorical_crossentropy";
  }

  bool is_classification() const override { return true; }

  void validate(const Tensor& y_true, const Tensor& y_pred) const override {
    const Geometry g = geometry(y_true, y_pred);
    if (sparse_) check_labels(y_true, y_pred, g);
  }

  void per_sample(const Tensor& y_true, const Tensor& y_pred, float* out) const override {
    const Geometry g = geometry(y_true, y_pred);
    if (sparse_) check_labels(y_true, y_pred, g);
    backend::current().softmax_crossentropy(rows(y_true, y_pred, g), out);
  }

  void gradient(const Tensor& y_true, const Tensor& y_pred, const float* sample_weight, float scale,
                Tensor& grad) const override {
    const Geometry g = geometry(y_true, y_pred);
    if (sparse_) check_labels(y_true, y_pred, g);
    prepare_grad(y_pred, grad);
    backend::current().softmax_crossentropy_gradient(rows(y_true, y_pred, g), backend::CrossentropyGradient::scores,
                                                     {scale, sample_weight}, grad.data());
  }

  bool fuses_with_softmax() const override { return !options_.from_logits; }

  void gradient_wrt_logits(const Tensor& y_true, const Tensor& y_pred, const float* sample_weight, float scale,
                           Tensor& grad) const override {
    if (options_.from_logits) Loss::gradient_wrt_logits(y_true, y_pred, sample_weight, scale, grad);
    const Geometry g = geometry(y_true, y_pred);
    if (sparse_) check_labels(y_true, y_pred, g);
    prepare_grad(y_pred, grad);
    backend::current().softmax_crossentropy_gradient(rows(y_true, y_pred, g),
                                                     backend::CrossentropyGradient::logits_of_softmax,
                                                     {scale, sample_weight}, grad.data());
  }

  nlohmann::json get_config() const override {
    return {{"name", name()}, {"from_logits", options_.from_logits}, {"label_smoothing", options_.label_smoothing}};
  }

 private:
  // A batch is `samples` samples of `rows_per_sample` rows of `classes` scores: (N, C) has one
  // row a sample; (N, T, C) has T, whose losses Keras averages ("sum_over_batch_size" divides by
  // every element of the (N, T) loss, which for per-sample weights is the mean over T).
  struct Geometry {
    int64_t samples;
    int64_t rows_per_sample;
    int64_t classes;
  };

  Geometry geometry(const Tensor& y_true, const Tensor& y_pred) const {
    check_batch(*this, y_true, y_pred, 2, "(batch, classes)");
    const Shape& ps = y_pred.shape();
    const int64_t classes = ps[ps.rank() - 1];
    if (classes < 1)
      throw ShapeError(fmt::format("{}: y_pred of shape {} has no classes", name(), ps.to_string()));
    // y_pred's shape without its class axis (a view: this runs every step and allocates nothing).
    const std::span<const int64_t> lead_axes(ps.dims().data(), ps.dims().size() - 1);
    if (sparse_) {
      if (!same_up_to_trailing_one(y_true.shape().dims(), lead_axes)) {
        const std::vector<int64_t> lead(lead_axes.begin(), lead_axes.end());
        std::string hint;
        if (y_true.shape() == ps && classes > 1)
          hint = " (these labels look one-hot: use categorical_crossentropy)";
        std::vector<int64_t> with_one = lead;
        with_one.push_back(1);
        throw ShapeError(fmt::format("{}: y_true of shape {} does not fit y_pred of shape {}: expected class "
                                     "indices of shape {} or {}{}",
                                     name(), y_true.shape().to_string(), ps.to_string(), Shape(lead).to_string(),
                                     Shape(with_one).to_string(),
                                     hint));
      }
    } else if (y_true.shape() != ps) {
      std::string hint;
      if (same_up_to_trailing_one(y_true.shape().dims(), lead_axes) && classes > 1)
        hint = " (these labels look like class indices: use sparse_categorical_crossentropy)";
      throw ShapeError(fmt::format("{}: y_true of shape {} does not fit y_pred of shape {}: expected one-hot "
                                   "labels of the same shape{}",
                                   name(), y_true.shape().to_string(), ps.to_string(), hint));
    }
    // check_batch rejected empty predictions, so samples > 0.
    const int64_t samples = ps[0];
    return {samples, y_pred.size() / classes / samples, classes};
  }

  // Serial, before any parallel loop: an exception must not escape an OpenMP region.
  void check_labels(const Tensor& y_true, const Tensor& y_pred, const Geometry& g) const {
    const float* y = y_true.data();
    const int64_t n = g.samples * g.rows_per_sample;
    for (int64_t r = 0; r < n; ++r) {
      const float v = y[r];
      if (!(v >= 0.0f && v < static_cast<float>(g.classes) && std::floor(v) == v)) {
        const std::string what = (std::isfinite(v) && std::floor(v) == v) ? "is out of range" : "is not an integer";
        throw ValueError(fmt::format("{}: label {} of sample {} {}; allowed: class indices 0 to {} (integers in "
                                     "[0, {})) for y_pred of shape {}",
                                     name(), v, r / g.rows_per_sample, what, g.classes - 1, g.classes,
                                     y_pred.shape().to_string()));
      }
    }
  }

  backend::CrossentropyRows rows(const Tensor& y_true, const Tensor& y_pred, const Geometry& g) const {
    return {.samples = g.samples,
            .rows_per_sample = g.rows_per_sample,
            .classes = g.classes,
            .scores = y_pred.data(),
            .from_logits = options_.from_logits,
            .dense_labels = sparse_ ? nullptr : y_true.data(),
            .labels = sparse_ ? y_true.data() : nullptr,
            .label_smoothing = options_.label_smoothing};
  }

  bool sparse_;
  CrossentropyOptions options_;
};

/// binary_crossentropy: elementwise, averaged over every element of a sample.
class BinaryCrossentropy final : public Loss {
 public:
  explicit BinaryCrossentropy(CrossentropyOptions options) : options_(options) {
    check_label_smoothing(name(), options.label_smoothing);
  }

  std::string name() const override { return "binary_crossentropy"; }

  bool is_classification() const override { return true; }

  void validate(const Tensor& y_true, const Tensor& y_pred) const override { (void)per_sample_count(y_true, y_pred); }

  void per_sample(const Tensor& y_true, const Tensor& y_pred, float* out) const override {
    backend::current().binary_crossentropy(rows_of(y_true, y_pred), form(), out);
  }

  void gradient(const Tensor& y_true, const Tensor& y_pred, const float* sample_weight, float scale,
                Tensor& grad) const override {
    const backend::ElementwiseLossRows rows = rows_of(y_true, y_pred);
    prepare_grad(y_pred, grad);
    backend::current().binary_crossentropy_gradient(rows, form(), {.scale = scale, .sample_weight = sample_weight},
                                                    grad.data());
  }

  nlohmann::json get_config() const override {
    return {{"name", name()}, {"from_logits", options_.from_logits}, {"label_smoothing", options_.label_smoothing}};
  }

 private:
  backend::BinaryCrossentropyForm form() const {
    return {.from_logits = options_.from_logits, .label_smoothing = options_.label_smoothing};
  }

  backend::ElementwiseLossRows rows_of(const Tensor& y_true, const Tensor& y_pred) const {
    const int64_t m = per_sample_count(y_true, y_pred);
    return {.samples = y_pred.dim(0), .values_per_sample = m, .predictions = y_pred.data(), .targets = y_true.data()};
  }

  int64_t per_sample_count(const Tensor& y_true, const Tensor& y_pred) const {
    check_batch(*this, y_true, y_pred, 1, "(batch, ...) with at least one value a sample");
    if (!same_up_to_trailing_one(y_true.shape().dims(), y_pred.shape().dims()))
      throw ShapeError(fmt::format("{}: y_true of shape {} does not fit y_pred of shape {}: expected labels of "
                                   "the same shape (a trailing axis of 1 may be left out)",
                                   name(), y_true.shape().to_string(), y_pred.shape().to_string()));
    return y_pred.size() / y_pred.dim(0);  // check_batch rejected empty predictions
  }

  CrossentropyOptions options_;
};

}  // namespace

LossPtr categorical_crossentropy(CrossentropyOptions options) {
  return std::make_shared<SoftmaxCrossentropy>(false, options);
}

LossPtr sparse_categorical_crossentropy(CrossentropyOptions options) {
  return std::make_shared<SoftmaxCrossentropy>(true, options);
}

LossPtr binary_crossentropy(CrossentropyOptions options) { return std::make_shared<BinaryCrossentropy>(options); }

}  // namespace regula::losses
