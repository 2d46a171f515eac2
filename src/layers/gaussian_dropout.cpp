#include "regula/layers/gaussian_dropout.hpp"

#include <cmath>

#include "src/layers/noise_draws.hpp"
#include "regula/error.hpp"

namespace regula::layers {

GaussianDropout::GaussianDropout(double rate, GaussianDropoutOptions options)
    : LayerBase(options.name, "gaussian_dropout"), rate_(rate), options_(std::move(options)) {
  // Keras accepts rate = 1, where σ is infinite; regula rejects it as Dropout does.
  if (!(rate_ >= 0.0 && rate_ < 1.0))
    throw ValueError(where() + ": rate=" + std::to_string(rate_) + " must be in [0, 1)");
  use_random_stream(detail::stochastic_layer_key(options_.seed, where()));
}

Shape GaussianDropout::build_impl(const std::vector<Shape>& input_shapes) {
  expect_inputs(input_shapes, 1);
  return input_shapes[0];
}

void GaussianDropout::forward(const std::vector<const Tensor*>& inputs, Tensor& output,
                              const ForwardContext& context) {
  const Tensor& x = *inputs[0];
  if (!context.training || rate_ == 0.0) {
    masked_ = false;
    output.copy_from(x);
    return;
  }
  const int64_t n = x.size();
  detail::check_drawable(n, [this] { return where(); });
  const auto sd = static_cast<float>(std::sqrt(rate_ / (1.0 - rate_)));
  masked_ = true;
  scale_.ensure_shape(x.shape());
  backend::current().multiply_normal_factors(detail::step_rng(*random_key(), context.step), sd, n, x.data(),
                                             scale_.data(), output.data());
}

void GaussianDropout::backward(const std::vector<const Tensor*>&, const Tensor&, const Tensor& grad_output,
                               const std::vector<Tensor*>& grad_inputs) {
  detail::backward_through_factors(masked_, scale_, grad_output, grad_inputs[0]);
}

nlohmann::json GaussianDropout::get_config() const {
  nlohmann::json config = Layer::get_config();
  config["rate"] = rate_;
  config["seed"] = options_.seed >= 0 ? nlohmann::json(options_.seed) : nlohmann::json();
  return config;
}

}  // namespace regula::layers
