#include "regula/layers/image_augmentation.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "regula/error.hpp"
#include "src/layers/noise_draws.hpp"

namespace regula::layers {

ImageAugmentation::ImageAugmentation(const std::string& name, const std::string& default_name, int64_t seed,
                                     const std::string& class_name)
    : Layer(name, default_name), seed_(seed) {
  use_random_stream(detail::stochastic_layer_key(seed_, class_name + " '" + this->name() + "'"));
}

Shape ImageAugmentation::build_impl(const std::vector<Shape>& input_shapes) {
  expect_inputs(input_shapes, 1);
  const Shape& in = input_shapes[0];
  if (in.rank() != 3)
    throw ShapeError(where() + ": expects images of shape (batch, height, width, channels), got " +
                     in.to_string(true));
  // Pixels are indexed with 32 bits; checked here so that no pass throws inside its threads.
  if (in.num_elements() > std::numeric_limits<int32_t>::max())
    throw ShapeError(where() + ": images of " + in.to_string(true) + " exceed the 2^31 - 1 values a pass can index");
  return in;
}

void ImageAugmentation::forward(const std::vector<const Tensor*>& inputs, Tensor& output,
                                const ForwardContext& context) {
  const Tensor& images = *inputs[0];
  augmented_ = context.training;
  if (!augmented_) {
    output.copy_from(images);
    return;
  }
  augment(images, output, detail::step_rng(*random_key(), context.step));
}

void ImageAugmentation::backward(const std::vector<const Tensor*>& inputs, const Tensor&, const Tensor& grad_output,
                                 const std::vector<Tensor*>& grad_inputs) {
  Tensor* grad_input = grad_inputs[0];
  if (grad_input == nullptr) return;
  if (!augmented_) {
    grad_input->copy_from(grad_output);
    return;
  }
  augment_backward(*inputs[0], grad_output, *grad_input);
}

nlohmann::json ImageAugmentation::seed_config() const {
  return seed_ >= 0 ? nlohmann::json(seed_) : nlohmann::json();
}

void check_value_range(const std::array<double, 2>& range, const std::string& where) {
  const auto [low, high] = range;
  if (!(std::isfinite(low) && std::isfinite(high) && low < high))
    throw ValueError(fmt::format("{}: value_range=({}, {}) must be finite with lower < upper", where, low, high));
}

}  // namespace regula::layers
