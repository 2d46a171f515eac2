#include "regula/layers/random_erasing.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "regula/error.hpp"
#include "src/layers/noise_draws.hpp"

namespace regula::layers {
namespace {

/// Counters per image: whether (2), the two area fractions (2), the two corners (2).
constexpr uint64_t kDrawsPerImage = 6;

double uniform_between(const CounterRng& step, uint64_t counter, const std::array<double, 2>& range) {
  return range[0] + (range[1] - range[0]) * static_cast<double>(step.uniform(counter));
}

}  // namespace

RandomErasing::RandomErasing(RandomErasingOptions options)
    : LayerBase(options.name, "random_erasing", options.seed, "RandomErasing"),
      options_(std::move(options)),
      factor_range_(resolve_factor(options_.factor, 0.0, 1.0, where(), "factor")),
      scale_range_(resolve_factor(options_.scale, 0.0, 1.0, where(), "scale")) {
  check_value_range(options_.value_range, where());
  for (double v : options_.fill_value)
    if (!std::isfinite(v)) throw ValueError(fmt::format("{}: fill_value {} must be finite", where(), v));
}

Shape RandomErasing::build_impl(const std::vector<Shape>& input_shapes) {
  const Shape in = ImageAugmentation::build_impl(input_shapes);
  const size_t fills = options_.fill_value.size();
  if (fills > 1 && fills != static_cast<size_t>(in[2]))
    throw ValueError(fmt::format("{}: fill_value has {} values for images of {} channels: give none (noise), one, "
                                 "or one per channel",
                                 where(), fills, in[2]));
  return in;
}

void RandomErasing::augment(const Tensor& x, Tensor& output, const CounterRng& step) {
  const int64_t batch = x.shape()[0];
  const int64_t height = x.shape()[1];
  const int64_t width = x.shape()[2];
  const int64_t channels = x.shape()[3];
  const int64_t image_size = height * width * channels;
  detail::check_drawable(x.size(), [this] { return where(); });
  rectangles_.resize(static_cast<size_t>(batch));
  for (int64_t i = 0; i < batch; ++i) {
    const uint64_t first = static_cast<uint64_t>(i) * kDrawsPerImage;
    Rectangle& r = rectangles_[static_cast<size_t>(i)];
    const double probability = uniform_between(step, first, factor_range_);
    r.erased = static_cast<double>(step.uniform(first + 1)) < probability;
    const double patch_width = std::sqrt(uniform_between(step, first + 2, scale_range_)) * static_cast<double>(width);
    const double patch_height = std::sqrt(uniform_between(step, first + 3, scale_range_)) * static_cast<double>(height);
    r.col_begin = static_cast<double>(step.uniform(first + 4)) * (static_cast<double>(width) - patch_width);
    r.row_begin = static_cast<double>(step.uniform(first + 5)) * (static_cast<double>(height) - patch_height);
    r.col_end = r.col_begin + patch_width;
    r.row_end = r.row_begin + patch_height;
  }
  const auto low = static_cast<float>(options_.value_range[0]);
  const auto high = static_cast<float>(options_.value_range[1]);
  const auto noise_scale = static_cast<float>(options_.value_range[1]);
  const NormalDraws noise(CounterRng(mix64(step.key() ^ 0xE7A5E0F111ull)));
  const std::vector<double>& fill = options_.fill_value;
  const float* in = x.data();
  float* out = output.data();
#pragma omp parallel for schedule(static) if (batch > 1)
  for (int64_t i = 0; i < batch; ++i) {
    const Rectangle& r = rectangles_[static_cast<size_t>(i)];
    for (int64_t row = 0; row < height; ++row)
      for (int64_t col = 0; col < width; ++col) {
        const bool erase = r.contains(row, col);
        for (int64_t k = 0; k < channels; ++k) {
          const int64_t index = i * image_size + (row * width + col) * channels + k;
          float value = in[index];
          if (erase) {
            value = fill.empty()       ? noise(static_cast<uint32_t>(index)) * noise_scale
                    : fill.size() == 1 ? static_cast<float>(fill[0])
                                       : static_cast<float>(fill[static_cast<size_t>(k)]);
          }
          out[index] = std::clamp(value, low, high);
        }
      }
  }
}

void RandomErasing::augment_backward(const Tensor& x, const Tensor& grad_output, Tensor& grad_input) {
  const int64_t batch = x.shape()[0];
  const int64_t height = x.shape()[1];
  const int64_t width = x.shape()[2];
  const int64_t channels = x.shape()[3];
  const int64_t image_size = height * width * channels;
  const auto low = static_cast<float>(options_.value_range[0]);
  const auto high = static_cast<float>(options_.value_range[1]);
  const float* in = x.data();
  const float* g = grad_output.data();
  float* gi = grad_input.data();
#pragma omp parallel for schedule(static) if (batch > 1)
  for (int64_t i = 0; i < batch; ++i) {
    const Rectangle& r = rectangles_[static_cast<size_t>(i)];
    for (int64_t row = 0; row < height; ++row)
      for (int64_t col = 0; col < width; ++col) {
        const bool erased = r.contains(row, col);
        for (int64_t k = 0; k < channels; ++k) {
          const int64_t index = i * image_size + (row * width + col) * channels + k;
          const bool kept = !erased && in[index] >= low && in[index] <= high;
          gi[index] = kept ? g[index] : 0.0f;
        }
      }
  }
}

nlohmann::json RandomErasing::get_config() const {
  nlohmann::json config = Layer::get_config();
  config["factor"] = {factor_range_[0], factor_range_[1]};
  config["scale"] = {scale_range_[0], scale_range_[1]};
  config["fill_value"] = options_.fill_value.empty()      ? nlohmann::json()
                         : options_.fill_value.size() == 1 ? nlohmann::json(options_.fill_value[0])
                                                           : nlohmann::json(options_.fill_value);
  config["value_range"] = {options_.value_range[0], options_.value_range[1]};
  config["seed"] = seed_config();
  return config;
}

}  // namespace regula::layers
