#pragma once
/// @file
/// Activation (Keras `keras.layers.Activation`): output = f(input), element-wise (softmax over the
/// last axis). Any shape; the output has the input's shape. The names are those of
/// activations.hpp: linear, relu, sigmoid, tanh, softmax, elu, leaky_relu, gelu.

#include <string>

#include "regula/layers/activations.hpp"
#include "regula/layers/layer.hpp"

namespace regula::layers {

/// Activation options, in Keras's order (after `activation`).
struct ActivationOptions {
  std::string name = "";
};

class Activation final : public LayerBase<Activation> {
 public:
  /// `activation` must be one of the names above.
  explicit Activation(const std::string& activation, ActivationOptions options = {});
  std::string class_name() const override { return "Activation"; }
  void forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext& context) override;
  void backward(const std::vector<const Tensor*>& inputs, const Tensor& output, const Tensor& grad_output,
                const std::vector<Tensor*>& grad_inputs) override;
  bool ends_in_softmax() const override { return kind_ == ActivationKind::softmax; }
  nlohmann::json get_config() const override;
  ActivationKind kind() const { return kind_; }
  /// Fusion: a ReLU folds into the pass before it.
  std::optional<TailStep> tail_step() const override;
  void add_to_tail(ElementwiseTail& tail, const ForwardContext& context) const override;

 protected:
  Shape build_impl(const std::vector<Shape>& input_shapes) override;

 private:
  ActivationKind kind_;
};

}  // namespace regula::layers
