#include "regula/layers/flatten.hpp"

#include "regula/error.hpp"

namespace regula::layers {

Flatten::Flatten(FlattenOptions options) : LayerBase(options.name, "flatten") {}

Shape Flatten::build_impl(const std::vector<Shape>& input_shapes) {
  expect_inputs(input_shapes, 1);
  return {input_shapes[0].num_elements()};
}

void Flatten::forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext&) {
  // Row-major storage already is the flattened order: a view, no copy (see output_is_input_view).
  output = inputs[0]->reshaped(output_shape().with_batch(inputs[0]->dim(0)));
}

void Flatten::backward(const std::vector<const Tensor*>&, const Tensor&, const Tensor& grad_output,
                       const std::vector<Tensor*>& grad_inputs) {
  if (grad_inputs[0] != nullptr) grad_inputs[0]->copy_from(grad_output);
}

nlohmann::json Flatten::get_config() const {
  nlohmann::json config = Layer::get_config();
  config["data_format"] = "channels_last";
  return config;
}

}  // namespace regula::layers
