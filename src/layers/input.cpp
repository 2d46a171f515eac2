#include "regula/layers/input.hpp"

#include "regula/error.hpp"

namespace regula::layers {

InputLayer::InputLayer(Shape shape, const std::string& name) : LayerBase(name, "input_layer"), shape_(std::move(shape)) {
  if (shape_.rank() == 0) throw ShapeError("Input: shape () is empty; give the shape of one sample, e.g. (28, 28, 1)");
  for (int64_t d : shape_.dims())
    if (d <= 0) throw ShapeError("Input: shape " + shape_.to_string() + " has a dimension <= 0; every dimension must be positive");
  build({});
}

Shape InputLayer::build_impl(const std::vector<Shape>& input_shapes) {
  expect_inputs(input_shapes, 0);
  return shape_;
}

void InputLayer::forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext&) {
  output = *inputs.at(0);
}

void InputLayer::backward(const std::vector<const Tensor*>&, const Tensor&, const Tensor&, const std::vector<Tensor*>&) {}

nlohmann::json InputLayer::get_config() const {
  nlohmann::json config = {{"name", name()}, {"dtype", "float32"}, {"sparse", false}};
  config["batch_shape"] = nlohmann::json::array({nullptr});
  for (int64_t d : shape_.dims()) config["batch_shape"].push_back(d);
  return config;
}

layers::SymbolicTensor Input(const Shape& shape, const std::string& name) {
  auto node = std::make_shared<layers::Node>();
  node->layer = std::make_shared<InputLayer>(shape, name);
  node->shape = shape;
  return layers::SymbolicTensor(std::move(node));
}

}  // namespace regula::layers
