#include "regula/layers/dropout.hpp"

#include <cmath>

#include "regula/error.hpp"
#include "regula/utils/random.hpp"
#include "src/layers/noise_draws.hpp"

namespace regula::layers {

Dropout::Dropout(double rate, DropoutOptions options)
    : LayerBase(options.name, "dropout"), rate_(rate), options_(std::move(options)), key_(0) {
  if (!(rate_ >= 0.0 && rate_ < 1.0))
    throw ValueError(where() + ": rate=" + std::to_string(rate_) + " must be in [0, 1)");
  key_ = detail::stochastic_layer_key(options_.seed, where());
}

Shape Dropout::build_impl(const std::vector<Shape>& input_shapes) {
  expect_inputs(input_shapes, 1);
  return input_shapes[0];
}

DropoutMask Dropout::mask(const ForwardContext& context) const {
  if (!context.training || rate_ == 0.0) return {};
  return {.active = true,
          .rng = detail::step_rng(key_, context.step),
          .threshold = detail::drop_threshold(rate_),
          .keep_scale = static_cast<float>(1.0 / (1.0 - rate_))};
}

void Dropout::forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext& context) {
  const Tensor& x = *inputs[0];
  last_mask_ = mask(context);
  if (!last_mask_.active) {
    output.copy_from(x);
    return;
  }
  const int64_t n = x.size();
  detail::check_drawable(n, [this] { return where(); });
  // One 32-bit draw per element (a vectorizable hash of its index). Dropping multiplies by 0, as
  // TensorFlow's and PyTorch's dropout do, so a NaN input stays NaN.
  const DropoutMask m = last_mask_;
  const float* src = x.data();
  float* dst = output.data();
#pragma omp parallel for simd schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i] * m.factor(static_cast<uint32_t>(i));
}

void Dropout::backward(const std::vector<const Tensor*>&, const Tensor&, const Tensor& grad_output,
                       const std::vector<Tensor*>& grad_inputs) {
  if (grad_inputs[0] == nullptr) return;
  if (!last_mask_.active) {
    grad_inputs[0]->copy_from(grad_output);
    return;
  }
  const DropoutMask m = last_mask_;  // the forward pass's mask, drawn again from the same counters
  const float* g = grad_output.data();
  float* dst = grad_inputs[0]->data();
  const int64_t n = grad_output.size();
#pragma omp parallel for simd schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) dst[i] = g[i] * m.factor(static_cast<uint32_t>(i));
}

nlohmann::json Dropout::get_config() const {
  nlohmann::json config = Layer::get_config();
  config["rate"] = rate_;
  config["seed"] = options_.seed >= 0 ? nlohmann::json(options_.seed) : nlohmann::json();
  config["noise_shape"] = nullptr;
  return config;
}

}  // namespace regula::layers
