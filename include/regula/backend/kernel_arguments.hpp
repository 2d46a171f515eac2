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

/// Element-wise steps run at the end of a kernel on each value v it computes, at flat index i:
/// ReLU (when `relu`), then `mask` (when active). This is how a layer runs the Activation("relu")
/// and Dropout layers that follow it inside its own pass (layer fusion).
struct ElementwiseTail {
  bool relu = false;
  ElementMask mask;

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
