#include "regula/layers/gaussian_noise.hpp"

#include "src/layers/noise_draws.hpp"
#include "regula/error.hpp"

namespace regula::layers {

GaussianNoise::GaussianNoise(double stddev, GaussianNoiseOptions options)
    : LayerBase(options.name, "gaussian_noise"), stddev_(stddev), options_(std::move(options)) {
  if (!(stddev_ >= 0.0 && stddev_ <= 1.0))
    throw ValueError(where() + ": stddev=" + std::to_string(stddev_) + " must be in [0, 1]");
  use_random_stream(detail::stochastic_layer_key(options_.seed, where()));
}

Shape GaussianNoise::build_impl(const std::vector<Shape>& input_shapes) {
  expect_inputs(input_shapes, 1);
  return input_shapes[0];
}

void GaussianNoise::forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext& context) {
  const Tensor& x = *inputs[0];
  if (!context.training || stddev_ == 0.0) {
    output.copy_from(x);
    return;
  }
  const int64_t n = x.size();
  detail::check_drawable(n, [this] { return where(); });
  backend::current().add_normal_noise(detail::step_rng(*random_key(), context.step), static_cast<float>(stddev_), n,
                                      x.data(), output.data());
}

void GaussianNoise::backward(const std::vector<const Tensor*>&, const Tensor&, const Tensor& grad_output,
                             const std::vector<Tensor*>& grad_inputs) {
  // The noise does not depend on the input: the gradient passes through unchanged.
  if (grad_inputs[0] != nullptr) grad_inputs[0]->copy_from(grad_output);
}

nlohmann::json GaussianNoise::get_config() const {
  nlohmann::json config = Layer::get_config();
  config["stddev"] = stddev_;
  config["seed"] = options_.seed >= 0 ? nlohmann::json(options_.seed) : nlohmann::json();
  return config;
}

}  // namespace regula::layers
