#include "regula/layers/random_contrast.hpp"

#include <algorithm>

namespace regula::layers {

RandomContrast::RandomContrast(AugmentationFactor factor, RandomContrastOptions options)
    : LayerBase(options.name, "random_contrast", options.seed, "RandomContrast"),
      range_(resolve_factor(factor, 0.0, 1.0, where(), "factor")),
      options_(std::move(options)) {
  check_value_range(options_.value_range, where());
}

void RandomContrast::augment(const Tensor& x, Tensor& output, const CounterRng& step) {
  const int64_t batch = x.shape()[0];
  const int64_t pixels = x.shape()[1] * x.shape()[2];
  const int64_t channels = x.shape()[3];
  const auto [c_low, c_high] = contrast_range();
  factors_.resize(static_cast<size_t>(batch));
  means_.resize(static_cast<size_t>(batch * channels));
  for (int64_t i = 0; i < batch; ++i)
    factors_[static_cast<size_t>(i)] =
        static_cast<float>(c_low + (c_high - c_low) * static_cast<double>(step.uniform(static_cast<uint64_t>(i))));
  const auto low = static_cast<float>(options_.value_range[0]);
  const auto high = static_cast<float>(options_.value_range[1]);
  const float* in = x.data();
  float* out = output.data();
#pragma omp parallel for schedule(static) if (batch > 1)
  for (int64_t i = 0; i < batch; ++i) {
    const float* image = in + i * pixels * channels;
    float* result = out + i * pixels * channels;
    float* mean = means_.data() + i * channels;
    for (int64_t k = 0; k < channels; ++k) {
      double sum = 0.0;
      for (int64_t p = 0; p < pixels; ++p) sum += image[p * channels + k];
      mean[k] = static_cast<float>(sum / static_cast<double>(pixels));
    }
    const float c = factors_[static_cast<size_t>(i)];
    for (int64_t p = 0; p < pixels; ++p)
      for (int64_t k = 0; k < channels; ++k) {
        const float value = (image[p * channels + k] - mean[k]) * c + mean[k];
        result[p * channels + k] = std::clamp(value, low, high);
      }
  }
}

void RandomContrast::augment_backward(const Tensor& x, const Tensor& grad_output, Tensor& grad_input) {
  const int64_t batch = x.shape()[0];
  const int64_t pixels = x.shape()[1] * x.shape()[2];
  const int64_t channels = x.shape()[3];
  const auto low = static_cast<float>(options_.value_range[0]);
  const auto high = static_cast<float>(options_.value_range[1]);
  const float* in = x.data();
  const float* g = grad_output.data();
  float* gi = grad_input.data();
#pragma omp parallel for schedule(static) if (batch > 1)
  for (int64_t i = 0; i < batch; ++i) {
    const int64_t offset = i * pixels * channels;
    const float* mean = means_.data() + i * channels;
    const float c = factors_[static_cast<size_t>(i)];
    // The gradient through the unclipped outputs; clipped outputs pass nothing back.
    auto passes = [&](int64_t index, int64_t k) {
      const float value = (in[index] - mean[k]) * c + mean[k];
      return value >= low && value <= high;
    };
    for (int64_t k = 0; k < channels; ++k) {
      double passed_sum = 0.0;
      for (int64_t p = 0; p < pixels; ++p) {
        const int64_t index = offset + p * channels + k;
        if (passes(index, k)) passed_sum += g[index];
      }
      const auto through_mean = static_cast<float>((1.0 - c) * passed_sum / static_cast<double>(pixels));
      for (int64_t p = 0; p < pixels; ++p) {
        const int64_t index = offset + p * channels + k;
        gi[index] = (passes(index, k) ? c * g[index] : 0.0f) + through_mean;
      }
    }
  }
}

nlohmann::json RandomContrast::get_config() const {
  nlohmann::json config = Layer::get_config();
  config["factor"] = {range_[0], range_[1]};
  config["value_range"] = {options_.value_range[0], options_.value_range[1]};
  config["seed"] = seed_config();
  return config;
}

}  // namespace regula::layers
