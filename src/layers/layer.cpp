#include "regula/layers/layer.hpp"

#include <map>
#include <mutex>

#include "regula/error.hpp"
#include "regula/initializers/initializers.hpp"
#include "regula/layers/symbolic_tensor.hpp"
#include "regula/utils/random.hpp"

namespace regula::layers {
namespace {

std::mutex names_mutex;
std::map<std::string, int>& name_counters() {
  static std::map<std::string, int> counters;
  return counters;
}

std::string unique_name(const std::string& base) {
  std::lock_guard lock(names_mutex);
  const int n = name_counters()[base]++;
  return n == 0 ? base : base + "_" + std::to_string(n);
}

std::string shapes_to_string(const std::vector<Shape>& shapes) {
  std::string s;
  for (const Shape& shape : shapes) s += (s.empty() ? "" : ", ") + shape.to_string(true);
  return s;
}

}  // namespace

void reset_layer_names() {
  std::lock_guard lock(names_mutex);
  name_counters().clear();
}

Layer::Layer(const std::string& name, const std::string& default_name,
             regularizers::RegularizerPtr activity_regularizer)
    : name_(name.empty() ? unique_name(default_name) : name),
      activity_regularizer_(std::move(activity_regularizer)) {}

layers::SymbolicTensor Layer::operator()(const layers::SymbolicTensor& input) && {
  return layers::connect(std::move(*this).into_shared(), {input});
}

layers::SymbolicTensor Layer::operator()(const std::vector<layers::SymbolicTensor>& inputs) && {
  return layers::connect(std::move(*this).into_shared(), inputs);
}

Shape Layer::build(const std::vector<Shape>& input_shapes) {
  if (built_) {
    if (input_shapes != input_shapes_)
      throw ShapeError(where() + ": already built for input " + shapes_to_string(input_shapes_) +
                       ", cannot be used with input " + shapes_to_string(input_shapes));
    return output_shape_;
  }
  output_shape_ = build_impl(input_shapes);
  input_shapes_ = input_shapes;
  built_ = true;
  return output_shape_;
}

int64_t Layer::count_params() const {
  int64_t n = 0;
  for (const Weight& w : weights_) n += w.value.size();
  return n;
}

int64_t Layer::count_trainable_params() const {
  int64_t n = 0;
  for (const Weight& w : weights_)
    if (w.trainable) n += w.value.size();
  return n;
}

void Layer::set_grad_output_is_logits(bool value) {
  if (value && !ends_in_softmax())
    throw StateError(where() + ": cannot take logits gradients, the layer does not end in a softmax");
  grad_output_is_logits_ = value;
}

void Layer::set_random_key(uint64_t key) {
  if (!random_key_) throw StateError(where() + ": the layer draws no random numbers, so it has no random key to set");
  random_key_ = key;
}

void Layer::add_to_tail(ElementwiseTail&, const ForwardContext&) const {
  throw StateError(where() + ": the layer cannot be folded into another layer's pass (it offers no tail step)");
}

void Layer::forward_with_tail(const std::vector<const Tensor*>&, Tensor&, const ForwardContext&, const ElementwiseTail&) {
  throw StateError(where() + ": the layer cannot run a fused tail (it accepts no tail steps)");
}

nlohmann::json Layer::get_config() const {
  nlohmann::json config = {{"name", name_}, {"trainable", true}, {"dtype", dtype_policy_.get_config()}};
  if (activity_regularizer_) config["activity_regularizer"] = activity_regularizer_->get_config();
  return config;
}

Weight& Layer::add_weight(const std::string& name, const Shape& shape, const std::string& initializer,
                          bool trainable, int64_t fan_in, int64_t fan_out,
                          regularizers::RegularizerPtr regularizer) {
  Weight w;
  w.name = name;
  w.value = Tensor::uninitialized(shape);
  Rng rng = Rng::from_global_seed();
  initializers::initialize(initializer, w.value, fan_in, fan_out, rng, where() + " " + name);
  if (trainable) w.gradient = Tensor(shape);
  w.trainable = trainable;
  w.regularizer = std::move(regularizer);
  weights_.push_back(std::move(w));
  return weights_.back();
}

std::string Layer::where() const { return class_name() + " '" + name_ + "'"; }

void Layer::expect_inputs(const std::vector<Shape>& input_shapes, size_t count) const {
  if (input_shapes.size() != count)
    throw ShapeError(where() + ": expects " + std::to_string(count) + " input(s), got " +
                     std::to_string(input_shapes.size()));
}

}  // namespace regula::layers
