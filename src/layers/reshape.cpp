#include "regula/layers/reshape.hpp"

#include "regula/error.hpp"

namespace regula::layers {

Reshape::Reshape(Shape target_shape, ReshapeOptions options)
    : LayerBase(options.name, "reshape"), target_shape_(std::move(target_shape)) {
  if (target_shape_.rank() == 0)
    throw ValueError(where() + ": target_shape=() is empty; give the shape of one sample, e.g. (7, 7, 8)");
  int unknown = 0;
  for (int64_t d : target_shape_.dims()) {
    if (d == -1)
      ++unknown;
    else if (d <= 0)
      throw ValueError(where() + ": target_shape=" + target_shape_.to_string() +
                       " has a dimension <= 0; dimensions must be positive, or -1 (once) to infer one");
  }
  if (unknown > 1)
    throw ValueError(where() + ": target_shape=" + target_shape_.to_string() + " has " + std::to_string(unknown) +
                     " dimensions of -1; at most one may be inferred");
}

Shape Reshape::build_impl(const std::vector<Shape>& input_shapes) {
  expect_inputs(input_shapes, 1);
  const Shape& in = input_shapes[0];
  const int64_t count = in.num_elements();
  int64_t known = 1;
  int unknown_axis = -1;
  for (int i = 0; i < target_shape_.rank(); ++i) {
    if (target_shape_[i] == -1)
      unknown_axis = i;
    else
      known *= target_shape_[i];
  }
  Shape out = target_shape_;
  if (unknown_axis >= 0) {
    if (count % known != 0)
      throw ShapeError(where() + ": cannot reshape input " + in.to_string(true) + " (" + std::to_string(count) +
                       " values per sample) to " + target_shape_.to_string() + ": " + std::to_string(count) +
                       " is not divisible by " + std::to_string(known));
    out[unknown_axis] = count / known;
  } else if (known != count) {
    throw ShapeError(where() + ": cannot reshape input " + in.to_string(true) + " (" + std::to_string(count) +
                     " values per sample) to " + target_shape_.to_string() + " (" + std::to_string(known) +
                     " values); the counts must be equal");
  }
  return out;
}

void Reshape::forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext&) {
  output = inputs[0]->reshaped(output_shape().with_batch(inputs[0]->dim(0)));
}

void Reshape::backward(const std::vector<const Tensor*>&, const Tensor&, const Tensor& grad_output,
                       const std::vector<Tensor*>& grad_inputs) {
  if (grad_inputs[0] != nullptr) grad_inputs[0]->copy_from(grad_output);
}

nlohmann::json Reshape::get_config() const {
  nlohmann::json config = Layer::get_config();
  config["target_shape"] = target_shape_.dims();
  return config;
}

}  // namespace regula::layers
