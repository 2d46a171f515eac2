#pragma once
/// @file
/// Reshape (Keras `keras.layers.Reshape`): (batch, …) → (batch, target_shape…), row-major order
/// kept. One dimension of `target_shape` may be −1: it is inferred so that the element count of a
/// sample is unchanged. The output is a view of the input (no copy).

#include <string>

#include "regula/layers/layer.hpp"

namespace regula::layers {

/// Reshape options, in Keras's order (after `target_shape`).
struct ReshapeOptions {
  std::string name = "";
};

class Reshape final : public LayerBase<Reshape> {
 public:
  /// `target_shape` (batch excluded) must be non-empty, its dimensions positive or one −1.
  explicit Reshape(Shape target_shape, ReshapeOptions options = {});
  std::string class_name() const override { return "Reshape"; }
  void forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext& context) override;
  bool output_is_input_view() const override { return true; }
  void backward(const std::vector<const Tensor*>& inputs, const Tensor& output, const Tensor& grad_output,
                const std::vector<Tensor*>& grad_inputs) override;
  nlohmann::json get_config() const override;

 protected:
  /// The input's element count must equal the target's (or be divisible by it, with a −1).
  Shape build_impl(const std::vector<Shape>& input_shapes) override;

 private:
  Shape target_shape_;
};

}  // namespace regula::layers
