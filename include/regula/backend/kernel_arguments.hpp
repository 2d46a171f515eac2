#pragma once
/// @file
/// The arguments of the backend's element-wise, normalization, loss and update kernels: what a
/// layer, loss, optimizer or regularizer hands to `backend::Backend` besides raw arrays.

#include <cstdint>

#include "regula/utils/random.hpp"

namespace regula::backend {

/// The activations of Keras that regula computes (`keras.activations`); `leaky_relu` uses Keras's
/// default negative slope 0.2, `gelu` the exact (erf) form, `softmax` works per row over the last axis.
enum class ActivationKind { linear, relu, sigmoid, tanh, softmax, elu, leaky_relu, gelu };

/// Keras's default negative slope of `leaky_relu`.
inline constexpr float kLeakyReluSlope = 0.2f;

/// A counter-based keep-or-drop mask: element i (its flat index in the batch) is multiplied by
/// `factor(i)`, `keep_scale` when kept, 0 when dropped. Inactive: the identity.
struct ElementMask {
  bool active = false;
  CounterRng rng = CounterRng(0);
  /// Element i drops when its 32 random bits fall below this (rate · 2³², saturated).
  uint32_t threshold = 0;
  float keep_scale = 1.0f;
  float factor(uint32_t i) const { return rng.bits32(i) >= threshold ? keep_scale : 0.0f; }
};

/// A max pooling at the end of a tail, over windows that tile each image exactly (strides equal
/// to the window, no padding, the image's sides multiples of the window's): the kernel writes the
/// pooled values, and where `argmax` is not null the winner of each, as the flat index within its
/// sample's input ((h · in_w + w) · channels + c, Backend::max_pool2d_forward's convention; the
/// first position in window order wins ties). Its gradient routes ∂loss/∂(pooled value) to the
/// winner, +0 elsewhere (0 + g, as the separate pooling's scatter into zeros gives).
struct TailMaxPool {
  bool active = false;
  int64_t in_h = 0, in_w = 0;
  int64_t pool_h = 1, pool_w = 1;
  int32_t* argmax = nullptr;
  /// In the backward pass of a tail with ReLU, the pooled values the forward pass wrote (or null).
  /// A winner's gradient passes the tail exactly where its pooled value is > 0 (ReLU let it
  /// through and the mask kept it), so a kernel may gate with it instead of recomputing ReLU's
  /// input and the mask.
  const float* pooled = nullptr;
  int64_t out_h() const { return in_h / pool_h; }
  int64_t out_w() const { return in_w / pool_w; }
  /// For input value `i` (its flat index in the batch, `channels` values a position): the flat
  /// index of the pooled value whose window holds it.
  int64_t pooled_index(int64_t i, int64_t channels) const {
    const int64_t c = i % channels, position = i / channels;
    const int64_t n = position / (in_h * in_w), h = position / in_w % in_h, w = position % in_w;
    return ((n * out_h() + h / pool_h) * out_w() + w / pool_w) * channels + c;
  }
  /// For input value `i`: its flat index within its sample, what `argmax` holds when it won.
  int32_t index_in_sample(int64_t i, int64_t channels) const {
    return static_cast<int32_t>(i % (in_h * in_w * channels));
  }
};

/// Element-wise steps run at the end of a kernel on each value v it computes, at flat index i:
/// ReLU (when `relu`), then `mask` (when active); then, when `pool` is active, a max pooling of
/// the results. This is how a layer runs the Activation("relu"), Dropout and MaxPooling2D layers
/// that follow it inside its own pass (layer fusion).
struct ElementwiseTail {
  bool relu = false;
  ElementMask mask;
  TailMaxPool pool;

  /// The tail applied to v.
  float forward(float v, uint32_t i) const {
    if (relu) v = v < 0.0f ? 0.0f : v;  // ReLU's select: NaN passes
    if (mask.active) v = v * mask.factor(i);
    return v;
  }
  /// ∂loss/∂v from ∂loss/∂(tail output) g, where v is the value before the tail.
  float gradient(float g, float v, uint32_t i) const {
    if (relu) g = v > 0.0f ? g : 0.0f;
    if (mask.active) g = g * mask.factor(i);
    return g;
  }
};

/// Rows of class scores and their labels, for the softmax crossentropy kernels: `samples` samples
/// of `rows_per_sample` rows (1 for (N, C) predictions, T for (N, T, C)) of `classes` scores.
struct CrossentropyRows {
  int64_t samples = 0;
  int64_t rows_per_sample = 1;
  int64_t classes = 0;
  /// (samples · rows_per_sample, classes) scores.
  const float* scores = nullptr;
  /// Whether `scores` are logits; otherwise probabilities (normalised by their row sum, then
  /// clipped to [1e-7, 1 − 1e-7], as Keras).
  bool from_logits = false;
  /// One-hot (or soft) labels, (rows, classes); null when `labels` is given.
  const float* dense_labels = nullptr;
  /// Class indices, one a row (already checked to be integers in [0, classes)); null for dense.
  const float* labels = nullptr;
  /// Keras's label smoothing s: labels become (1 − s)·y + s / classes.
  double label_smoothing = 0.0;
};

/// How the gradient of a crossentropy is scaled: row r of sample i gets
/// `scale · sample_weight[i] / rows_per_sample` (sample_weight null: weight 1).
struct LossScale {
  double scale = 1.0;
  const float* sample_weight = nullptr;
};

/// Element-wise predictions and targets, for the losses taken value by value (binary
/// crossentropy, mean squared error): `samples` samples of `values_per_sample` values each; the
/// loss of a sample is the mean over its values. The gradient of sample i's values is scaled by
/// `scale · sample_weight[i]` (LossScale).
struct ElementwiseLossRows {
  int64_t samples = 0;
  int64_t values_per_sample = 0;
  const float* predictions = nullptr;
  const float* targets = nullptr;
};

/// Keras's binary crossentropy options: predictions are logits or probabilities (then clipped to
/// [1e-7, 1 − 1e-7]); targets become (1 − s)·t + s/2 under label smoothing s.
struct BinaryCrossentropyForm {
  bool from_logits = false;
  double label_smoothing = 0.0;
};

/// What `Backend::softmax_crossentropy_gradient` differentiates with respect to.
enum class CrossentropyGradient {
  /// the scores as given (logits or probabilities, per CrossentropyRows::from_logits);
  scores,
  /// the logits that produced probability scores through a softmax (a loss fused with the
  /// softmax of the last layer: softmax(z)·Σt − t, Keras's clip ignored).
  logits_of_softmax,
};

/// One SGD step's constants (Keras 3's `keras/src/optimizers/sgd.py`).
struct SgdStep {
  float learning_rate = 0.01f;
  /// 0: plain SGD, no velocity.
  float momentum = 0.0f;
  bool nesterov = false;
};

/// One Adam step's constants (Keras 3's update_step): `alpha` is the learning rate with the bias
/// corrections folded in, lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ); ε is added to √v.
struct AdamStep {
  float alpha = 0.0f;
  float one_minus_beta_1 = 0.1f;
  float one_minus_beta_2 = 0.001f;
  float epsilon = 1e-7f;
};

/// One RMSprop step's constants (Keras 3's `keras/src/optimizers/rmsprop.py`).
struct RmspropStep {
  float learning_rate = 0.001f;
  float rho = 0.9f;
  /// 1 − ρ, rounded once from the double option (not 1 − the rounded ρ).
  float one_minus_rho = 0.1f;
  float momentum = 0.0f;
  float epsilon = 1e-7f;
};

}  // namespace regula::backend
