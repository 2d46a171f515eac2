#pragma once
/// @file
/// Activation functions (Keras `keras.activations`), applied element-wise, or over the last
/// axis for softmax. Used by the `activation` option of Dense and Conv2D and by `Activation`.
///
/// | name        | f(x)                                              |
/// |-------------|---------------------------------------------------|
/// | linear      | x                                                 |
/// | relu        | max(x, 0)                                         |
/// | sigmoid     | 1 / (1 + e^−x)                                    |
/// | tanh        | tanh x                                            |
/// | softmax     | e^x_i / Σ_j e^x_j over the last axis              |
/// | elu         | x if x > 0 else e^x − 1  (alpha 1)                |
/// | leaky_relu  | x if x > 0 else 0.2·x  (Keras 3's negative_slope) |
/// | gelu        | x · Φ(x), exact (erf) form, Keras's default       |

#include <string>

#include "regula/backend/kernel_arguments.hpp"
#include "regula/tensor/tensor.hpp"

namespace regula::layers {

/// The activations (the backend computes them).
using backend::ActivationKind;

/// Parses a Keras activation name; throws ValueError naming `where` and the allowed names.
ActivationKind parse_activation(const std::string& name, const std::string& where);
std::string activation_name(ActivationKind kind);

/// dst = f(src); dst may alias src. Tensors are (rows, …, last); softmax works per row over `last`.
void activation_forward(ActivationKind kind, const Tensor& src, Tensor& dst);
/// grad_src = f'(src) ⊙ grad_dst (softmax: the Jacobian-vector product per row), from the
/// forward pass's input `src` and output `dst`. grad_src may alias grad_dst.
void activation_backward(ActivationKind kind, const Tensor& src, const Tensor& dst, const Tensor& grad_dst,
                         Tensor& grad_src);
/// Whether the backward pass needs the forward input (otherwise the output suffices, and a layer
/// can compute the activation in place).
bool activation_backward_needs_input(ActivationKind kind);

/// The activation that ends Dense, Conv2D and Activation: applied in place on the layer's output,
/// keeping the pre-activation only when the backward pass needs it.
class ActivationStage {
 public:
  explicit ActivationStage(ActivationKind kind = ActivationKind::linear) : kind_(kind) {}
  ActivationKind kind() const { return kind_; }
  /// On entry `output` holds the pre-activation; on exit, the activation.
  void forward(Tensor& output, bool training);
  /// ∂loss/∂pre-activation from ∂loss/∂output. When `grad_is_logits` (a loss fused with the
  /// softmax), or for `linear`, returns `grad_output` itself; otherwise a buffer of the stage's.
  const Tensor& backward(const Tensor& output, const Tensor& grad_output, bool grad_is_logits);

 private:
  ActivationKind kind_;
  Tensor pre_activation_;
  Tensor grad_pre_activation_;
};

}  // namespace regula::layers
