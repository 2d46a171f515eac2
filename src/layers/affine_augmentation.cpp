#include "regula/layers/affine_augmentation.hpp"

#include <cmath>

#include "regula/error.hpp"

namespace regula::layers {
namespace {

imaging::WarpOptions warp_options(const AffineAugmentationOptions& options, const std::string& where) {
  imaging::WarpOptions warp;
  const std::optional<imaging::FillMode> mode = imaging::parse_fill_mode(options.fill_mode);
  if (!mode)
    throw ValueError(where + ": fill_mode='" + options.fill_mode +
                     "' is not one of 'reflect', 'wrap', 'constant', 'nearest'");
  warp.fill_mode = *mode;
  if (options.interpolation == "bilinear") {
    warp.interpolation = imaging::Interpolation::bilinear;
  } else if (options.interpolation == "nearest") {
    warp.interpolation = imaging::Interpolation::nearest;
  } else {
    throw ValueError(where + ": interpolation='" + options.interpolation + "' is not one of 'bilinear', 'nearest'");
  }
  if (!std::isfinite(options.fill_value))
    throw ValueError(where + ": fill_value=" + std::to_string(options.fill_value) + " must be finite");
  warp.cval = static_cast<float>(options.fill_value);
  return warp;
}

}  // namespace

AffineAugmentation::AffineAugmentation(AffineAugmentationOptions options, const std::string& default_name,
                                       const std::string& class_name)
    : ImageAugmentation(options.name, default_name, options.seed, class_name), options_(std::move(options)) {
  warp_options_ = warp_options(options_, class_name + " '" + name() + "'");
}

void AffineAugmentation::augment(const Tensor& images, Tensor& output, const CounterRng& step) {
  const int64_t batch = images.shape()[0];
  const int64_t height = images.shape()[1];
  const int64_t width = images.shape()[2];
  const int64_t channels = images.shape()[3];
  const int64_t image_size = height * width * channels;
  maps_.resize(static_cast<size_t>(batch));
  for (int64_t i = 0; i < batch; ++i)
    maps_[static_cast<size_t>(i)] = draw_map(step, static_cast<uint64_t>(i) * 4, height, width);
  const float* source = images.data();
  float* destination = output.data();
#pragma omp parallel for schedule(static) if (batch > 1)
  for (int64_t i = 0; i < batch; ++i)
    imaging::warp_image(source + i * image_size, destination + i * image_size, height, width, channels,
                        &maps_[static_cast<size_t>(i)], warp_options_);
}

void AffineAugmentation::augment_backward(const Tensor& images, const Tensor& grad_output, Tensor& grad_input) {
  const Shape& shape = images.shape();
  const int64_t batch = shape[0];
  const int64_t image_size = shape[1] * shape[2] * shape[3];
  const float* g = grad_output.data();
  float* gi = grad_input.data();
#pragma omp parallel for schedule(static) if (batch > 1)
  for (int64_t i = 0; i < batch; ++i)
    imaging::warp_image_transpose(g + i * image_size, gi + i * image_size, shape[1], shape[2], shape[3],
                                  &maps_[static_cast<size_t>(i)], warp_options_);
}

nlohmann::json AffineAugmentation::get_config() const {
  nlohmann::json config = Layer::get_config();
  config["fill_mode"] = options_.fill_mode;
  config["interpolation"] = options_.interpolation;
  config["seed"] = seed_config();
  config["fill_value"] = options_.fill_value;
  config["data_format"] = "channels_last";
  return config;
}

}  // namespace regula::layers
