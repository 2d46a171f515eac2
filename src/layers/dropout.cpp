#include "regula/layers/dropout.hpp"

#include <cmath>

#include "regula/backend/context.hpp"
#include "regula/error.hpp"
#include "regula/utils/random.hpp"
#include "src/layers/noise_draws.hpp"

namespace regula::layers {

Dropout::Dropout(double rate, DropoutOptions options)
    : LayerBase(options.name, "dropout"), rate_(rate), options_(std::move(options)) {
  if (!(rate_ >= 0.0 && rate_ < 1.0))
    throw ValueError(where() + ": rate=" + std::to_string(rate_) + " must be in [0, 1)");
  use_random_stream(detail::stochastic_layer_key(options_.seed, where()));
}

Shape Dropout::build_impl(const std::vector<Shape>& input_shapes) {
  expect_inputs(input_shapes, 1);
  return input_shapes[0];
}

void Dropout::add_to_tail(ElementwiseTail& tail, const ForwardContext& context) const { tail.mask = mask(context); }

ElementMask Dropout::mask(const ForwardContext& context) const {
  if (!context.training || rate_ == 0.0) return {};
  return {.active = true,
          .rng = detail::step_rng(*random_key(), context.step),
          .threshold = detail::drop_threshold(rate_),
          .keep_scale = static_cast<float>(1.0 / (1.0 - rate_))};
}

// Dropping multiplies by 0, as TensorFlow's and PyTorch's dropout do, so a NaN input stays NaN.
void Dropout::forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext& context) {
  const Tensor& x = *inputs[0];
  last_mask_ = mask(context);
  if (!last_mask_.active) {
    output.copy_from(x);
    return;
  }
  detail::check_drawable(x.size(), [this] { return where(); });
  backend::current().apply_mask(last_mask_, x.size(), x.data(), output.data());
}

void Dropout::backward(const std::vector<const Tensor*>&, const Tensor&, const Tensor& grad_output,
                       const std::vector<Tensor*>& grad_inputs) {
  if (grad_inputs[0] == nullptr) return;
  if (!last_mask_.active) {
    grad_inputs[0]->copy_from(grad_output);
    return;
  }
  // The forward pass's mask, drawn again from the same counters.
  backend::current().apply_mask(last_mask_, grad_output.size(), grad_output.data(), grad_inputs[0]->data());
}

nlohmann::json Dropout::get_config() const {
  nlohmann::json config = Layer::get_config();
  config["rate"] = rate_;
  config["seed"] = options_.seed >= 0 ? nlohmann::json(options_.seed) : nlohmann::json();
  config["noise_shape"] = nullptr;
  return config;
}

}  // namespace regula::layers
