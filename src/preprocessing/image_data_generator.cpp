#include "regula/preprocessing/image_data_generator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "regula/error.hpp"
#include "regula/utils/random.hpp"
#include "regula/imaging/affine_warp.hpp"

namespace regula::preprocessing {

struct ImageDataGenerator::UnfitWarnings {
  std::atomic<bool> center{false};
  std::atomic<bool> std{false};
};

namespace {

/// The counter of each random draw of `get_random_transform`: the parameters of a seed never
/// depend on which options are enabled or in which order they are read.
enum TransformDraw : uint64_t {
  draw_theta = 0,
  draw_height_shift,
  draw_width_shift,
  draw_shear,
  draw_zoom_rows,
  draw_zoom_cols,
  draw_flip_horizontal,
  draw_flip_vertical,
  draw_channel_shift,
  draw_brightness,
};

/// Uniform in [low, high) with 53 bits of resolution, drawn at `counter`.
double uniform(const CounterRng& rng, TransformDraw counter, double low, double high) {
  const double unit = static_cast<double>(rng.bits(counter) >> 11) * 0x1.0p-53;
  return low + (high - low) * unit;
}

/// Keras's shift: uniform in [−range, range], a fraction of `extent` when range < 1.
double draw_shift(const CounterRng& rng, TransformDraw counter, double range, int64_t extent) {
  if (range == 0.0) return 0.0;
  const double shift = uniform(rng, counter, -range, range);
  return range < 1.0 ? shift * static_cast<double>(extent) : shift;
}

void check_non_negative(const char* option, double value, const char* meaning) {
  if (!(value >= 0.0 && std::isfinite(value)))
    throw ValueError(fmt::format("ImageDataGenerator: {}={} must be a finite value >= 0 ({})", option, value, meaning));
}

void validate(const ImageDataGeneratorOptions& options) {
  check_non_negative("rotation_range", options.rotation_range, "degrees");
  check_non_negative("width_shift_range", options.width_shift_range, "a fraction of the width below 1, pixels from 1");
  check_non_negative("height_shift_range", options.height_shift_range,
                     "a fraction of the height below 1, pixels from 1");
  check_non_negative("shear_range", options.shear_range, "degrees");
  check_non_negative("channel_shift_range", options.channel_shift_range, "the largest value added");
  const ZoomRange& zoom = options.zoom_range;
  if (!(zoom.low > 0.0 && zoom.low <= zoom.high && std::isfinite(zoom.high)))
    throw ValueError(
        fmt::format("ImageDataGenerator: zoom_range=[{}, {}] must have 0 < low <= high (a scalar z means "
                    "[1 - z, 1 + z], so z < 1)",
                    zoom.low, zoom.high));
  if (options.brightness_range) {
    const auto [low, high] = *options.brightness_range;
    if (!(low >= 0.0 && low <= high && std::isfinite(high)))
      throw ValueError(
          fmt::format("ImageDataGenerator: brightness_range=[{}, {}] must have 0 <= low <= high", low, high));
  }
  if (!imaging::parse_fill_mode(options.fill_mode))
    throw ValueError(
        fmt::format("ImageDataGenerator: fill_mode='{}' is not one of 'nearest', 'constant', 'reflect', "
                    "'wrap'",
                    options.fill_mode));
  if (!(options.validation_split >= 0.0 && options.validation_split < 1.0))
    throw ValueError(
        fmt::format("ImageDataGenerator: validation_split={} must be in [0, 1)", options.validation_split));
  if (!std::isfinite(options.rescale))
    throw ValueError(fmt::format("ImageDataGenerator: rescale={} must be finite (0 means none)", options.rescale));
  if (!std::isfinite(options.cval))
    throw ValueError(fmt::format("ImageDataGenerator: cval={} must be finite", options.cval));
}

/// Keras's constructor turns on the centering that a std normalization needs, with a warning.
void imply_centering(ImageDataGeneratorOptions& options) {
  if (options.featurewise_std_normalization && !options.featurewise_center) {
    options.featurewise_center = true;
    std::fprintf(stderr,
                 "UserWarning: This ImageDataGenerator specifies `featurewise_std_normalization`, which overrides "
                 "setting of `featurewise_center`.\n");
  }
  if (options.samplewise_std_normalization && !options.samplewise_center) {
    options.samplewise_center = true;
    std::fprintf(stderr,
                 "UserWarning: This ImageDataGenerator specifies `samplewise_std_normalization`, which overrides "
                 "setting of `samplewise_center`.\n");
  }
}

/// (H, W, C) with positive dimensions, or ShapeError naming `where`.
void check_image_shape(const Shape& shape, const char* where) {
  if (shape.rank() != 3 || shape[0] <= 0 || shape[1] <= 0 || shape[2] <= 0)
    throw ShapeError(fmt::format("ImageDataGenerator.{}: expected one image of shape (height, width, channels), got {}",
                                 where, shape.to_string()));
}

/// Prints Keras's warning for a featurewise option used before `fit`, once per flag.
void warn_unfit_once(std::atomic<bool>& warned, const char* option) {
  if (warned.exchange(true)) return;
  std::fprintf(stderr,
               "UserWarning: This ImageDataGenerator specifies `%s`, but it hasn't been fit on any training data. "
               "Fit it first by calling `.fit(numpy_data)`.\n",
               option);
}

/// Keras's apply_channel_shift: every value moves by `intensity`, clipped to the image-wide
/// [min, max] taken before the shift.
void shift_channels(float* image, int64_t count, double intensity) {
  const auto [low, high] = std::minmax_element(image, image + count);
  const float min_value = *low;
  const float max_value = *high;
  const auto shift = static_cast<float>(intensity);
  for (int64_t i = 0; i < count; ++i) image[i] = std::clamp(image[i] + shift, min_value, max_value);
}

void scale_values(float* values, int64_t count, float factor) {
  for (int64_t i = 0; i < count; ++i) values[i] *= factor;
}

/// Calls the user's preprocessing_function on `view` and copies the result to `image` unless it
/// is already there (`view` is a view of `image` and the function changed it in place).
void run_preprocessing_function(const std::function<void(Tensor&)>& function, Tensor& view, float* image,
                                const Shape& image_shape) {
  function(view);
  if (view.data() == image) return;
  if (view.size() != image_shape.num_elements())
    throw ShapeError(fmt::format("ImageDataGenerator: preprocessing_function must keep the image's shape {}, got {}",
                                 image_shape.to_string(), view.shape().to_string()));
  std::memcpy(image, view.data(), static_cast<size_t>(view.size()) * sizeof(float));
}

/// Per-channel running count, mean and sum of squared deviations, merged one image at a time
/// (Chan et al.'s pairwise update: stable over millions of values).
struct ChannelMoments {
  explicit ChannelMoments(int64_t channels)
      : mean(static_cast<size_t>(channels), 0.0), squared_deviations(static_cast<size_t>(channels), 0.0) {}

  void add_image(const float* image, int64_t pixels, std::vector<double>& scratch) {
    const auto channels = static_cast<int64_t>(mean.size());
    std::fill(scratch.begin(), scratch.end(), 0.0);
    for (int64_t p = 0; p < pixels; ++p)
      for (int64_t k = 0; k < channels; ++k) scratch[static_cast<size_t>(k)] += image[p * channels + k];
    const auto n_image = static_cast<double>(pixels);
    const double n_total = count + n_image;
    for (int64_t k = 0; k < channels; ++k) {
      const auto ku = static_cast<size_t>(k);
      const double image_mean = scratch[ku] / n_image;
      double image_squares = 0.0;
      for (int64_t p = 0; p < pixels; ++p) {
        const double d = image[p * channels + k] - image_mean;
        image_squares += d * d;
      }
      const double delta = image_mean - mean[ku];
      mean[ku] += delta * n_image / n_total;
      squared_deviations[ku] += image_squares + delta * delta * count * n_image / n_total;
    }
    count = n_total;
  }

  double count = 0.0;
  std::vector<double> mean;
  std::vector<double> squared_deviations;
};

}  // namespace

ImageDataGenerator::ImageDataGenerator(ImageDataGeneratorOptions options)
    : options_(std::move(options)), unfit_warnings_(std::make_shared<UnfitWarnings>()) {
  validate(options_);
  imply_centering(options_);
}

TransformParameters ImageDataGenerator::get_random_transform(const Shape& image_shape, uint64_t seed) const {
  check_image_shape(image_shape, "get_random_transform");
  const CounterRng rng(seed);
  const ImageDataGeneratorOptions& o = options_;
  TransformParameters p;
  if (o.rotation_range != 0.0) p.theta = uniform(rng, draw_theta, -o.rotation_range, o.rotation_range);
  // Keras's names: tx comes from height_shift_range (rows), ty from width_shift_range (columns).
  p.tx = draw_shift(rng, draw_height_shift, o.height_shift_range, image_shape[0]);
  p.ty = draw_shift(rng, draw_width_shift, o.width_shift_range, image_shape[1]);
  if (o.shear_range != 0.0) p.shear = uniform(rng, draw_shear, -o.shear_range, o.shear_range);
  if (!(o.zoom_range.low == 1.0 && o.zoom_range.high == 1.0)) {
    p.zx = uniform(rng, draw_zoom_rows, o.zoom_range.low, o.zoom_range.high);
    p.zy = uniform(rng, draw_zoom_cols, o.zoom_range.low, o.zoom_range.high);
  }
  p.flip_horizontal = o.horizontal_flip && uniform(rng, draw_flip_horizontal, 0.0, 1.0) < 0.5;
  p.flip_vertical = o.vertical_flip && uniform(rng, draw_flip_vertical, 0.0, 1.0) < 0.5;
  if (o.channel_shift_range != 0.0)
    p.channel_shift_intensity = uniform(rng, draw_channel_shift, -o.channel_shift_range, o.channel_shift_range);
  if (o.brightness_range)
    p.brightness = uniform(rng, draw_brightness, (*o.brightness_range)[0], (*o.brightness_range)[1]);
  return p;
}

void ImageDataGenerator::apply_transform(const float* source, float* destination, const Shape& image_shape,
                                         const TransformParameters& parameters) const {
  check_image_shape(image_shape, "apply_transform");
  const int64_t height = image_shape[0];
  const int64_t width = image_shape[1];
  const int64_t channels = image_shape[2];
  const int64_t count = image_shape.num_elements();
  // Keras's order: affine warp, channel shift, horizontal flip, vertical flip, brightness. The
  // flips only move pixels and the channel shift's clip range is the image-wide min and max, so
  // the flips are folded into the warp's pass without changing the result.
  const std::optional<imaging::AffineMap> map = imaging::keras_affine_map(
      parameters.theta, parameters.tx, parameters.ty, parameters.shear, parameters.zx, parameters.zy, height, width);
  const imaging::WarpOptions warp{.fill_mode = *imaging::parse_fill_mode(options_.fill_mode),
                                 .cval = static_cast<float>(options_.cval),
                                 .flip_horizontal = parameters.flip_horizontal,
                                 .flip_vertical = parameters.flip_vertical};
  imaging::warp_image(source, destination, height, width, channels, map ? &*map : nullptr, warp);
  if (parameters.channel_shift_intensity != 0.0) shift_channels(destination, count, parameters.channel_shift_intensity);
  if (parameters.brightness && *parameters.brightness != 1.0)
    scale_values(destination, count, static_cast<float>(*parameters.brightness));
}

Tensor ImageDataGenerator::apply_transform(const Tensor& image, const TransformParameters& parameters) const {
  check_image_shape(image.shape(), "apply_transform");
  Tensor result = Tensor::uninitialized(image.shape());
  apply_transform(image.data(), result.data(), image.shape(), parameters);
  return result;
}

Tensor ImageDataGenerator::random_transform(const Tensor& image, uint64_t seed) const {
  return apply_transform(image, get_random_transform(image.shape(), seed));
}

void ImageDataGenerator::standardize(float* image, const Shape& image_shape) const {
  check_image_shape(image_shape, "standardize");
  if (options_.preprocessing_function) {
    // The function sees a Tensor; a per-thread scratch tensor avoids an allocation per image.
    thread_local Tensor scratch;
    scratch.ensure_shape(image_shape);
    std::memcpy(scratch.data(), image, static_cast<size_t>(image_shape.num_elements()) * sizeof(float));
    run_preprocessing_function(options_.preprocessing_function, scratch, image, image_shape);
  }
  standardize_values(image, image_shape);
}

void ImageDataGenerator::standardize(Tensor& x) const {
  if (x.rank() != 3 && x.rank() != 4)
    throw ShapeError(
        fmt::format("ImageDataGenerator.standardize: expected an image (H, W, C) or a batch "
                    "(N, H, W, C), got {}",
                    x.shape().to_string()));
  const bool batch = x.rank() == 4;
  const int64_t images = batch ? x.dim(0) : 1;
  const Shape image_shape = batch ? x.shape().without_batch() : x.shape();
  check_image_shape(image_shape, "standardize");
  const int64_t count = image_shape.num_elements();
  for (int64_t i = 0; i < images; ++i) {
    float* image = x.data() + i * count;
    if (options_.preprocessing_function) {
      Tensor view = batch ? x.slice_rows(i, i + 1).reshaped(image_shape) : x;
      run_preprocessing_function(options_.preprocessing_function, view, image, image_shape);
    }
    standardize_values(image, image_shape);
  }
}

void ImageDataGenerator::standardize_values(float* image, const Shape& image_shape) const {
  const int64_t count = image_shape.num_elements();
  const int64_t channels = image_shape[2];
  if (options_.rescale != 0.0) scale_values(image, count, static_cast<float>(options_.rescale));
  if (options_.samplewise_center) {
    double sum = 0.0;
    for (int64_t i = 0; i < count; ++i) sum += image[i];
    const auto mean = static_cast<float>(sum / static_cast<double>(count));
    for (int64_t i = 0; i < count; ++i) image[i] -= mean;
  }
  if (options_.samplewise_std_normalization) {
    double sum = 0.0;
    double squares = 0.0;
    for (int64_t i = 0; i < count; ++i) {
      sum += image[i];
      squares += static_cast<double>(image[i]) * image[i];
    }
    const double mean = sum / static_cast<double>(count);
    const double variance = std::max(0.0, squares / static_cast<double>(count) - mean * mean);
    scale_values(image, count, static_cast<float>(1.0 / (std::sqrt(variance) + 1e-6)));
  }
  const bool fitted = !mean_.empty();
  if (fitted && static_cast<int64_t>(mean_.size()) != channels &&
      (options_.featurewise_center || options_.featurewise_std_normalization))
    throw ShapeError(
        fmt::format("ImageDataGenerator.standardize: the generator was fit on {} channel(s), the image {} "
                    "has {}",
                    mean_.size(), image_shape.to_string(), channels));
  if (options_.featurewise_center) {
    if (fitted) {
      for (int64_t i = 0; i < count; ++i) image[i] -= mean_[static_cast<size_t>(i % channels)];
    } else {
      warn_unfit_once(unfit_warnings_->center, "featurewise_center");
    }
  }
  if (options_.featurewise_std_normalization) {
    if (fitted) {
      for (int64_t i = 0; i < count; ++i) image[i] /= std_[static_cast<size_t>(i % channels)] + 1e-6f;
    } else {
      warn_unfit_once(unfit_warnings_->std, "featurewise_std_normalization");
    }
  }
}

void ImageDataGenerator::fit(const Tensor& x, bool augment, int rounds, uint64_t seed) {
  if (x.rank() != 4)
    throw ValueError(
        "ImageDataGenerator.fit: input should have rank 4 (samples, height, width, channels). Got array "
        "with shape: " +
        x.shape().to_string());
  if (augment && rounds < 1)
    throw ValueError(fmt::format("ImageDataGenerator.fit: rounds={} must be >= 1 with augment", rounds));
  const Shape image_shape = x.shape().without_batch();
  check_image_shape(image_shape, "fit");
  const int64_t channels = image_shape[2];
  if (channels != 1 && channels != 3 && channels != 4)
    std::fprintf(stderr,
                 "UserWarning: Expected input to be images following the data format convention \"channels_last\", "
                 "i.e. expected either 1, 3 or 4 channels on axis 3. However, it was passed an array with shape %s "
                 "(%lld channels).\n",
                 x.shape().to_string().c_str(), static_cast<long long>(channels));
  const int64_t samples = x.dim(0);
  if (samples == 0) throw ValueError("ImageDataGenerator.fit: x " + x.shape().to_string() + " has no samples");
  const int64_t count = image_shape.num_elements();
  const int64_t pixels = count / channels;
  // Keras's fit rescales, then (with augment) transforms `rounds` copies of every sample.
  std::vector<float> rescaled(static_cast<size_t>(count));
  std::vector<float> transformed(static_cast<size_t>(count));
  std::vector<double> channel_sums(static_cast<size_t>(channels));
  ChannelMoments moments(channels);
  const int passes = augment ? rounds : 1;
  for (int round = 0; round < passes; ++round) {
    for (int64_t i = 0; i < samples; ++i) {
      const float* image = x.data() + i * count;
      if (options_.rescale != 0.0) {
        std::copy(image, image + count, rescaled.begin());
        scale_values(rescaled.data(), count, static_cast<float>(options_.rescale));
        image = rescaled.data();
      }
      if (augment) {
        const uint64_t sample_seed = mix64(
            seed ^ mix64(static_cast<uint64_t>(round) * static_cast<uint64_t>(samples) + static_cast<uint64_t>(i)));
        apply_transform(image, transformed.data(), image_shape, get_random_transform(image_shape, sample_seed));
        image = transformed.data();
      }
      moments.add_image(image, pixels, channel_sums);
    }
  }
  // numpy's np.mean and np.std over axes (0, 1, 2): the population standard deviation.
  mean_.assign(static_cast<size_t>(channels), 0.0f);
  std_.assign(static_cast<size_t>(channels), 0.0f);
  for (size_t k = 0; k < mean_.size(); ++k) {
    mean_[k] = static_cast<float>(moments.mean[k]);
    std_[k] = static_cast<float>(std::sqrt(moments.squared_deviations[k] / moments.count));
  }
}

}  // namespace regula::preprocessing
