#include "regula/layers/spatial_dropout2d.hpp"

#include "src/layers/noise_draws.hpp"
#include "regula/error.hpp"

namespace regula::layers {

SpatialDropout2D::SpatialDropout2D(double rate, SpatialDropout2DOptions options)
    : LayerBase(options.name, "spatial_dropout2d"), rate_(rate), options_(std::move(options)) {
  if (!(rate_ >= 0.0 && rate_ < 1.0))
    throw ValueError(where() + ": rate=" + std::to_string(rate_) + " must be in [0, 1)");
  if (options_.data_format == "channels_first")
    throw ValueError(where() + ": data_format='channels_first' is not supported (regula's images are NHWC); "
                               "allowed: 'channels_last'");
  if (options_.data_format != "channels_last")
    throw ValueError(where() + ": data_format='" + options_.data_format + "' is not valid; allowed: 'channels_last'");
  use_random_stream(detail::stochastic_layer_key(options_.seed, where()));
}

Shape SpatialDropout2D::build_impl(const std::vector<Shape>& input_shapes) {
  expect_inputs(input_shapes, 1);
  const Shape& in = input_shapes[0];
  if (in.rank() != 3)
    throw ShapeError(where() + ": expects input of shape (batch, rows, cols, channels), got " + in.to_string(true));
  return in;
}

void SpatialDropout2D::forward(const std::vector<const Tensor*>& inputs, Tensor& output,
                               const ForwardContext& context) {
  const Tensor& x = *inputs[0];
  if (!context.training || rate_ == 0.0) {
    masked_ = false;
    output.copy_from(x);
    return;
  }
  const int64_t batch = x.dim(0);
  const int64_t channels = x.dim(3);
  const int64_t maps = batch * channels;
  detail::check_drawable(maps, [this] { return where(); });
  // One draw per (sample, channel): counter b·C + c, so the mask does not depend on rows × cols.
  const CounterRng rng = detail::step_rng(*random_key(), context.step);
  const uint32_t threshold = detail::drop_threshold(rate_);
  const auto keep_scale = static_cast<float>(1.0 / (1.0 - rate_));
  masked_ = true;
  scale_.ensure_shape(Shape{batch, channels});
  float* mask = scale_.data();
  for (int64_t i = 0; i < maps; ++i) mask[i] = rng.bits32(static_cast<uint32_t>(i)) >= threshold ? keep_scale : 0.0f;

  backend::current().scale_channels(batch, x.dim(1) * x.dim(2), channels, x.data(), mask, output.data());
}

void SpatialDropout2D::backward(const std::vector<const Tensor*>&, const Tensor&, const Tensor& grad_output,
                                const std::vector<Tensor*>& grad_inputs) {
  if (grad_inputs[0] == nullptr) return;
  if (!masked_) {
    grad_inputs[0]->copy_from(grad_output);
    return;
  }
  backend::current().scale_channels(grad_output.dim(0), grad_output.dim(1) * grad_output.dim(2), grad_output.dim(3),
                                    grad_output.data(), scale_.data(), grad_inputs[0]->data());
}

nlohmann::json SpatialDropout2D::get_config() const {
  nlohmann::json config = Layer::get_config();
  config["rate"] = rate_;
  config["seed"] = options_.seed >= 0 ? nlohmann::json(options_.seed) : nlohmann::json();
  config["data_format"] = options_.data_format;
  return config;
}

}  // namespace regula::layers
