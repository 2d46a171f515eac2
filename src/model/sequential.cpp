#include "regula/model/sequential.hpp"

#include "regula/error.hpp"
#include "regula/layers/layer.hpp"

namespace regula {

Sequential::Sequential(std::string name) : Model(std::move(name)) {}

Sequential& Sequential::add(const layers::SymbolicTensor& input) {
  if (input_.valid())
    throw ValueError("Sequential '" + name() + "': an Input was already added; a Sequential model has one input, first");
  input_ = output_ = input;
  return *this;
}

Sequential& Sequential::add(std::shared_ptr<layers::Layer> layer) {
  if (!layer) throw ValueError("Sequential '" + name() + "': cannot add a null layer");
  if (!input_.valid())
    throw StateError("Sequential '" + name() + "': add layers::Input(shape) first, so that " + layer->class_name() +
                     " '" + layer->name() + "' knows its input shape");
  layers::SymbolicTensor next = layers::connect(std::move(layer), {output_});
  set_graph(input_, next);
  output_ = next;
  return *this;
}

}  // namespace regula
