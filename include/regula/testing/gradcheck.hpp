#pragma once
/// @file
/// Gradient checker (dlib's `test_layer` idea): compares a layer's or a loss's analytic gradients
/// with central differences, for every input and every trainable weight separately.
///
/// Layers: with random inputs x and a fixed random tensor R shaped like the output, the scalar
///     L = Σ output(x, θ) ⊙ R          (accumulated in double from the float32 forward)
/// has ∂L/∂output = R, so `backward(grad_output = R)` must give ∂L/∂x and ∂L/∂θ. Each element v is
/// perturbed by h = epsilon · max(|v|, 1) (the difference actually representable in float32 is
/// used) and the central difference (L(v+h) − L(v−h)) / 2h is compared with the analytic value.
/// Forward runs in training mode with a fixed `ForwardContext::step`, so Dropout's mask repeats.
///
/// Non-smooth points (ReLU at 0, a max-pooling tie) are detected rather than avoided: when the two
/// one-sided differences disagree at least as much as analytic and central do, the element sits on
/// a kink and is skipped (counted in `kinks`); too many kinks fail the check.
///
/// Error measure per element: |analytic − numeric| / max(|analytic|, |numeric|, floor) where
/// floor = `absolute_floor` + 1e-3 · max|analytic| over the tensor (tiny gradients are compared
/// absolutely). A tensor passes when its maximum is at most `tolerance`.
///
/// Run checks under the reference backend (`backend::ScopedBackend`) so that the forward pass has
/// the oracle's double accumulation; the checker itself does not switch backends.

#include <cstdint>
#include <string>
#include <vector>

#include "regula/layers/layer.hpp"
#include "regula/losses/loss.hpp"

namespace regula::testing {

struct GradcheckOptions {
  /// Relative perturbation: h = epsilon · max(|v|, 1).
  double epsilon = 1e-3;
  /// Largest accepted relative error per tensor. With a float32 forward and h = 1e-3, rounding of
  /// the outputs alone gives errors near 1e-2 on small gradients (measured on Conv2D), hence 2e-2.
  double tolerance = 2e-2;
  /// Errors below this absolute size always pass (float32 forward noise).
  double absolute_floor = 1e-4;
  /// Largest accepted fraction of elements skipped as kinks.
  double max_kink_fraction = 0.1;
  /// Seed of the random inputs, the weight perturbation and R.
  uint64_t seed = 1;
  /// Standard deviation of the random inputs.
  double input_scale = 1.0;
  /// Adds N(0, weight_noise) to every trainable weight first, so that e.g. a zero bias or a unit
  /// gamma does not hide an error (0 keeps the initial weights).
  double weight_noise = 0.5;
  /// The training step given to forward (Dropout's mask).
  uint64_t step = 7;
};

/// The comparison for one tensor (an input or a weight).
struct TensorCheck {
  std::string name;            ///< "input 0", "kernel", ...
  int64_t elements = 0;
  double max_relative_error = 0.0;
  double max_absolute_error = 0.0;
  int64_t worst_index = -1;    ///< element of the largest relative error
  double worst_analytic = 0.0, worst_numeric = 0.0;
  int64_t kinks = 0;           ///< elements skipped as non-smooth
  bool passed = true;
};

struct GradcheckReport {
  std::string subject;  ///< the layer or loss checked
  std::vector<TensorCheck> tensors;
  bool passed() const;
  /// One line per tensor: name, max relative error, kinks, pass/fail.
  std::string to_string() const;
};

/// Checks `layer` on random inputs of `input_shapes` (batch included). Builds the layer first
/// if needed (shapes without batch). Non-trainable weights (BatchNormalization's moving
/// statistics) are restored afterwards; trainable weights keep the added noise.
GradcheckReport check_layer_gradients(layers::Layer& layer, const std::vector<Shape>& input_shapes,
                                      const GradcheckOptions& options = {});

/// Checks `Loss::gradient` against central differences of the reduced loss
///     L(y_pred) = Σ_i w_i · l_i(y_true, y_pred) / N   (Keras's sum_over_batch_size)
/// with respect to y_pred (`sample_weight` null: all ones, else N values). y_pred must lie where
/// the loss is smooth (probabilities strictly inside (0, 1) for from_logits = false).
/// When the loss `fuses_with_softmax()`, also checks `gradient_wrt_logits` against differences of
/// L(softmax(z)) with respect to logits z, taking z = log(y_pred) (so softmax(z) = y_pred for
/// rows that sum to one).
GradcheckReport check_loss_gradient(const losses::Loss& loss, const Tensor& y_true, const Tensor& y_pred,
                                    const float* sample_weight = nullptr, const GradcheckOptions& options = {});

}  // namespace regula::testing
