#include "regula/layers/symbolic_tensor.hpp"

#include "regula/error.hpp"
#include "regula/layers/layer.hpp"

namespace regula::layers {

SymbolicTensor connect(std::shared_ptr<layers::Layer> layer, const std::vector<SymbolicTensor>& inputs) {
  const std::string where = layer->class_name() + " '" + layer->name() + "'";
  if (layer->built())
    throw StateError(where + ": this layer is already connected in a graph; calling one layer on several "
                             "inputs (shared layers) is not supported, create a new layer instead");
  std::vector<Shape> shapes;
  for (const SymbolicTensor& t : inputs) {
    if (!t.valid()) throw ValueError(where + ": called on an empty symbolic tensor; start the graph with Input(shape)");
    shapes.push_back(t.shape());
  }
  auto node = std::make_shared<Node>();
  try {
    node->shape = layer->build(shapes);
  } catch (const ShapeError& e) {
    std::string sources;
    for (const SymbolicTensor& t : inputs)
      sources += (sources.empty() ? "" : ", ") + t.node()->layer->class_name() + " '" + t.node()->layer->name() +
                 "' " + t.shape().to_string(true);
    throw ShapeError(std::string(e.what()) + " (input from " + sources + ")");
  }
  node->layer = std::move(layer);
  node->inputs = inputs;
  return SymbolicTensor(std::move(node));
}

}  // namespace regula::layers
