#include "regula/layers/merge.hpp"

#include <algorithm>

#include "regula/backend/context.hpp"
#include "regula/error.hpp"

namespace regula::layers {
namespace {

std::string shapes_to_string(const std::vector<Shape>& shapes) {
  std::string s;
  for (const Shape& shape : shapes) s += (s.empty() ? "" : ", ") + shape.to_string(true);
  return s;
}

}  // namespace

Add::Add(MergeOptions options) : LayerBase(options.name, "add") {}

Shape Add::build_impl(const std::vector<Shape>& input_shapes) {
  if (input_shapes.empty()) throw ShapeError(where() + ": should be called on a list of at least 1 input, got none");
  for (const Shape& s : input_shapes)
    if (s != input_shapes[0])
      throw ShapeError(where() + ": inputs must all have the same shape, got " + shapes_to_string(input_shapes));
  return input_shapes[0];
}

void Add::forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext&) {
  const int64_t n = output.size();
  float* dst = output.data();
  const float* first = inputs[0]->data();
  if (inputs.size() == 1) {
    output.copy_from(*inputs[0]);
    return;
  }
  backend::Backend& kernels = backend::current();
  kernels.add(n, first, inputs[1]->data(), dst);
  for (size_t k = 2; k < inputs.size(); ++k) kernels.add(n, dst, inputs[k]->data(), dst);
}

void Add::backward(const std::vector<const Tensor*>&, const Tensor&, const Tensor& grad_output,
                   const std::vector<Tensor*>& grad_inputs) {
  for (Tensor* g : grad_inputs)
    if (g != nullptr) g->copy_from(grad_output);
}

Concatenate::Concatenate(int64_t axis, MergeOptions options) : LayerBase(options.name, "concatenate"), axis_(axis) {
  if (axis_ == 0)
    throw ValueError(where() + ": axis=0 is the batch axis, which cannot be concatenated; use an axis >= 1 or < 0");
}

Shape Concatenate::build_impl(const std::vector<Shape>& input_shapes) {
  if (input_shapes.empty())
    throw ShapeError(where() + ": should be called on a list of at least 1 input, got none");
  const int rank = input_shapes[0].rank();  // without batch
  const int64_t full_rank = rank + 1;
  if (axis_ >= full_rank || axis_ < -full_rank || axis_ == -full_rank)
    throw ShapeError(where() + ": axis=" + std::to_string(axis_) + " is out of range for inputs " +
                     shapes_to_string(input_shapes) + "; allowed: 1 to " + std::to_string(full_rank - 1) + " or -1 to -" +
                     std::to_string(full_rank - 1));
  const int axis = static_cast<int>((axis_ < 0 ? axis_ + full_rank : axis_) - 1);  // sample axis
  Shape out = input_shapes[0];
  out[axis] = 0;
  for (const Shape& s : input_shapes) {
    bool fits = s.rank() == rank;
    for (int i = 0; fits && i < rank; ++i) fits = i == axis || s[i] == input_shapes[0][i];
    if (!fits)
      throw ShapeError(where() + ": inputs must have the same shape except along axis " + std::to_string(axis_) +
                       ", got " + shapes_to_string(input_shapes));
    out[axis] += s[axis];
  }
  outer_ = 1;
  for (int i = 0; i < axis; ++i) outer_ *= out[i];
  blocks_.clear();
  for (const Shape& s : input_shapes) {
    int64_t block = 1;
    for (int i = axis; i < rank; ++i) block *= s[i];
    blocks_.push_back(block);
  }
  return out;
}

void Concatenate::forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext&) {
  std::vector<const float*> sources;
  for (const Tensor* input : inputs) sources.push_back(input->data());
  backend::current().concatenate_rows(inputs[0]->dim(0) * outer_, sources, blocks_, output.data());
}

void Concatenate::backward(const std::vector<const Tensor*>& inputs, const Tensor&, const Tensor& grad_output,
                           const std::vector<Tensor*>& grad_inputs) {
  std::vector<float*> parts;
  for (Tensor* grad : grad_inputs) parts.push_back(grad != nullptr ? grad->data() : nullptr);
  backend::current().split_rows(inputs[0]->dim(0) * outer_, grad_output.data(), blocks_, parts);
}

nlohmann::json Concatenate::get_config() const {
  nlohmann::json config = Layer::get_config();
  config["axis"] = axis_;
  return config;
}

}  // namespace regula::layers
