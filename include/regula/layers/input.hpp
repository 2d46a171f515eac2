#pragma once
/// @file
/// Input (Keras `keras.Input`): the entry point of a Functional model.

#include <string>

#include "regula/layers/layer.hpp"
#include "regula/layers/symbolic_tensor.hpp"

namespace regula::layers {

/// The layer behind `Input(shape)`: it holds the model's input shape and computes nothing.
class InputLayer final : public LayerBase<InputLayer> {
 public:
  explicit InputLayer(Shape shape, const std::string& name = "");
  std::string class_name() const override { return "InputLayer"; }
  void forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext& context) override;
  void backward(const std::vector<const Tensor*>& inputs, const Tensor& output, const Tensor& grad_output,
                const std::vector<Tensor*>& grad_inputs) override;
  nlohmann::json get_config() const override;

 protected:
  Shape build_impl(const std::vector<Shape>& input_shapes) override;

 private:
  Shape shape_;
};

/// Keras `Input(shape=(28, 28, 1))`: a symbolic tensor of that shape (batch excluded).
/// Every dimension must be positive.
layers::SymbolicTensor Input(const Shape& shape, const std::string& name = "");

}  // namespace regula::layers
