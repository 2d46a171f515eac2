#include "regula/layers/random_flip.hpp"

#include "regula/error.hpp"
#include "regula/imaging/affine_warp.hpp"

namespace regula::layers {

RandomFlip::RandomFlip(std::string mode, RandomFlipOptions options)
    : LayerBase(options.name, "random_flip", options.seed, "RandomFlip"), mode_(std::move(mode)) {
  horizontal_ = mode_ == "horizontal" || mode_ == "horizontal_and_vertical";
  vertical_ = mode_ == "vertical" || mode_ == "horizontal_and_vertical";
  if (!horizontal_ && !vertical_)
    throw ValueError(where() + ": mode='" + mode_ + "' is not one of 'horizontal', 'vertical', 'horizontal_and_vertical'");
}

void RandomFlip::flip_images(const Tensor& source, Tensor& destination) const {
  const int64_t batch = source.shape()[0];
  const int64_t height = source.shape()[1];
  const int64_t width = source.shape()[2];
  const int64_t channels = source.shape()[3];
  const int64_t image_size = height * width * channels;
  const float* in = source.data();
  float* out = destination.data();
#pragma omp parallel for schedule(static) if (batch > 1)
  for (int64_t i = 0; i < batch; ++i) {
    const bool flip = flipped_[static_cast<size_t>(i)] != 0;
    const imaging::WarpOptions flips{.flip_horizontal = flip && horizontal_, .flip_vertical = flip && vertical_};
    imaging::warp_image(in + i * image_size, out + i * image_size, height, width, channels, nullptr, flips);
  }
}

void RandomFlip::augment(const Tensor& images, Tensor& output, const CounterRng& step) {
  const int64_t batch = images.shape()[0];
  flipped_.resize(static_cast<size_t>(batch));
  // Keras: flip where a uniform draw is at most 1/2.
  for (int64_t i = 0; i < batch; ++i) flipped_[static_cast<size_t>(i)] = step.uniform(static_cast<uint64_t>(i)) <= 0.5f;
  flip_images(images, output);
}

// A flip is its own inverse and its own transpose.
void RandomFlip::augment_backward(const Tensor&, const Tensor& grad_output, Tensor& grad_input) {
  flip_images(grad_output, grad_input);
}

nlohmann::json RandomFlip::get_config() const {
  nlohmann::json config = Layer::get_config();
  config["mode"] = mode_;
  config["seed"] = seed_config();
  config["data_format"] = "channels_last";
  return config;
}

}  // namespace regula::layers
