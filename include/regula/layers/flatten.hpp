#pragma once
/// @file
/// Flatten (Keras `keras.layers.Flatten`): (batch, d1, …, dk) → (batch, d1·…·dk), row-major
/// (channels last, as Keras's channels_last). The output is a view of the input (no copy).

#include <string>

#include "regula/layers/layer.hpp"

namespace regula::layers {

/// Flatten options, in Keras's order.
struct FlattenOptions {
  std::string name = "";
};

class Flatten final : public LayerBase<Flatten> {
 public:
  explicit Flatten(FlattenOptions options = {});
  std::string class_name() const override { return "Flatten"; }
  void forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext& context) override;
  bool output_is_input_view() const override { return true; }
  void backward(const std::vector<const Tensor*>& inputs, const Tensor& output, const Tensor& grad_output,
                const std::vector<Tensor*>& grad_inputs) override;
  nlohmann::json get_config() const override;

 protected:
  Shape build_impl(const std::vector<Shape>& input_shapes) override;
};

}  // namespace regula::layers
