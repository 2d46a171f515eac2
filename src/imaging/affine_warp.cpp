#include "regula/imaging/affine_warp.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>
#include <string>
#include <type_traits>

#include "regula/error.hpp"

namespace regula::imaging {
namespace {

/// Where one output coordinate samples the input along one axis: the two neighbouring input
/// indices (already mapped into the image by the fill mode), the weight of the second, and
/// whether the point is inside (only "constant" has points outside).
struct AxisSample {
  int32_t first;
  int32_t second;
  float weight;
  bool inside;
};

/// Coordinates this close outside [0, n − 1] still count as inside for "constant": a rotation
/// by exactly 90° lands on the border with rounding noise of ~1e-6, which must not become cval.
constexpr float kConstantEdgeTolerance = 1e-3f;

/// Samples one axis of length n for fill mode `Mode`, without branches (min / max, selects and
/// bitwise `&` on comparisons).
/// - nearest / constant: the coordinate is clamped to [0, n − 1] (NaN-safe); bilinear between
///   edge copies is the edge value, which is the whole "nearest" rule. "constant" also reports
///   whether the coordinate was inside.
/// - reflect / wrap: the coordinate is reduced into one period (2n, n) first, so any shift works,
///   then both neighbours are mapped: reflect dcba|abcd|dcba, wrap abcd|abcd|abcd.
template <FillMode Mode>
inline AxisSample sample_axis(float coordinate, int32_t n) {
  AxisSample sample;
  if constexpr (Mode == FillMode::nearest || Mode == FillMode::constant) {
    const auto last = static_cast<float>(n - 1);
    float x = coordinate > 0.0f ? coordinate : 0.0f;  // NaN → 0
    x = x < last ? x : last;
    sample.first = static_cast<int32_t>(x);
    sample.second = sample.first + 1 < n ? sample.first + 1 : sample.first;
    sample.weight = x - static_cast<float>(sample.first);
    sample.inside = Mode == FillMode::nearest ||
                    ((coordinate >= -kConstantEdgeTolerance) & (coordinate <= last + kConstantEdgeTolerance));
  } else {
    const int32_t period = Mode == FillMode::wrap ? n : 2 * n;
    const auto period_f = static_cast<float>(period);
    float x = coordinate - period_f * std::floor(coordinate / period_f);
    x = (x >= 0.0f) & (x < period_f) ? x : 0.0f;
    const auto first = static_cast<int32_t>(x);
    int32_t second = first + 1;
    second = second == period ? 0 : second;
    sample.weight = x - static_cast<float>(first);
    if constexpr (Mode == FillMode::wrap) {
      sample.first = first;
      sample.second = second;
    } else {
      sample.first = first >= n ? period - 1 - first : first;
      sample.second = second >= n ? period - 1 - second : second;
    }
    sample.inside = true;
  }
  return sample;
}

/// Nearest-neighbour sampling: the nearer of the two neighbours with its full weight (ties go
/// to the second, as rounding half up).
inline AxisSample snap_to_nearest(AxisSample sample, bool nearest) {
  sample.first = nearest & (sample.weight >= 0.5f) ? sample.second : sample.first;
  sample.weight = nearest ? 0.0f : sample.weight;
  return sample;
}

/// Where output pixel (r, c) of a warp samples its input: the warped position of the pixel that
/// lands there after the flips, by `map`, each axis sampled by fill mode and interpolation.
template <FillMode Mode>
inline void sample_pixel(const AffineMap& map, const WarpOptions& options, int32_t height, int32_t width, int32_t r,
                         int32_t c, AxisSample& rows, AxisSample& cols) {
  const auto warped_r = static_cast<float>(options.flip_vertical ? height - 1 - r : r);
  const auto warped_c = static_cast<float>(options.flip_horizontal ? width - 1 - c : c);
  const bool nearest = options.interpolation == Interpolation::nearest;
  rows = snap_to_nearest(
      sample_axis<Mode>(map.row_per_row * warped_r + map.row_offset + map.row_per_col * warped_c, height), nearest);
  cols = snap_to_nearest(
      sample_axis<Mode>(map.col_per_row * warped_r + map.col_offset + map.col_per_col * warped_c, width), nearest);
}

/// One output row of a single-channel image.
template <FillMode Mode>
void warp_row_single_channel(const float* source, float* out, int32_t height, int32_t width, float row_base,
                             float col_base, float column_start, float column_step, const AffineMap& map, float cval,
                             bool nearest) {
#pragma omp simd
  for (int32_t c = 0; c < width; ++c) {
    const float warped_c = column_start + column_step * static_cast<float>(c);
    const AxisSample rows = snap_to_nearest(sample_axis<Mode>(row_base + map.row_per_col * warped_c, height), nearest);
    const AxisSample cols = snap_to_nearest(sample_axis<Mode>(col_base + map.col_per_col * warped_c, width), nearest);
    const float top_left = source[rows.first * width + cols.first];
    const float top_right = source[rows.first * width + cols.second];
    const float bottom_left = source[rows.second * width + cols.first];
    const float bottom_right = source[rows.second * width + cols.second];
    const float top = top_left + cols.weight * (top_right - top_left);
    const float bottom = bottom_left + cols.weight * (bottom_right - bottom_left);
    const float value = top + rows.weight * (bottom - top);
    out[c] = rows.inside & cols.inside ? value : cval;
  }
}

/// One output row of a multi-channel image: the channels share the sample positions.
template <FillMode Mode>
void warp_row_channels(const float* source, float* out, int32_t height, int32_t width, int32_t channels, float row_base,
                       float col_base, float column_start, float column_step, const AffineMap& map, float cval,
                       bool nearest) {
  const int64_t row_stride = static_cast<int64_t>(width) * channels;
  for (int32_t c = 0; c < width; ++c, out += channels) {
    const float warped_c = column_start + column_step * static_cast<float>(c);
    const AxisSample rows = snap_to_nearest(sample_axis<Mode>(row_base + map.row_per_col * warped_c, height), nearest);
    const AxisSample cols = snap_to_nearest(sample_axis<Mode>(col_base + map.col_per_col * warped_c, width), nearest);
    if (!(rows.inside && cols.inside)) {
      for (int32_t k = 0; k < channels; ++k) out[k] = cval;
      continue;
    }
    const float* top_left = source + rows.first * row_stride + cols.first * channels;
    const float* top_right = source + rows.first * row_stride + cols.second * channels;
    const float* bottom_left = source + rows.second * row_stride + cols.first * channels;
    const float* bottom_right = source + rows.second * row_stride + cols.second * channels;
    for (int32_t k = 0; k < channels; ++k) {
      const float top = top_left[k] + cols.weight * (top_right[k] - top_left[k]);
      const float bottom = bottom_left[k] + cols.weight * (bottom_right[k] - bottom_left[k]);
      out[k] = top + rows.weight * (bottom - top);
    }
  }
}

template <FillMode Mode>
void warp_with_mode(const float* source, float* destination, int32_t height, int32_t width, int32_t channels,
                    const AffineMap& map, const WarpOptions& options) {
  // The horizontal flip is folded in as the order in which output columns read warped columns
  // (both exact small integers as floats, so the result equals warping then flipping).
  const float column_start = options.flip_horizontal ? static_cast<float>(width - 1) : 0.0f;
  const float column_step = options.flip_horizontal ? -1.0f : 1.0f;
  const int64_t row_stride = static_cast<int64_t>(width) * channels;
  const bool nearest = options.interpolation == Interpolation::nearest;
  for (int32_t r = 0; r < height; ++r) {
    // Output row r holds warped row `warped_r` (the vertical flip).
    const auto warped_r = static_cast<float>(options.flip_vertical ? height - 1 - r : r);
    const float row_base = map.row_per_row * warped_r + map.row_offset;
    const float col_base = map.col_per_row * warped_r + map.col_offset;
    float* out = destination + r * row_stride;
    if (channels == 1) {
      warp_row_single_channel<Mode>(source, out, height, width, row_base, col_base, column_start, column_step, map,
                                    options.cval, nearest);
    } else {
      warp_row_channels<Mode>(source, out, height, width, channels, row_base, col_base, column_start, column_step, map,
                              options.cval, nearest);
    }
  }
}

/// The transpose of warp_with_mode: every output pixel's gradient goes back to the input pixels
/// it was interpolated from, with the same weights (points filled with cval get nothing).
template <FillMode Mode>
void warp_transpose_with_mode(const float* grad_output, float* grad_input, int32_t height, int32_t width,
                              int32_t channels, const AffineMap& map, const WarpOptions& options) {
  std::memset(grad_input, 0, static_cast<size_t>(height) * width * channels * sizeof(float));
  const int64_t row_stride = static_cast<int64_t>(width) * channels;
  for (int32_t r = 0; r < height; ++r) {
    for (int32_t c = 0; c < width; ++c) {
      AxisSample rows;
      AxisSample cols;
      sample_pixel<Mode>(map, options, height, width, r, c, rows, cols);
      if (!(rows.inside && cols.inside)) continue;
      const float* g = grad_output + r * row_stride + static_cast<int64_t>(c) * channels;
      const float w_top_left = (1.0f - rows.weight) * (1.0f - cols.weight);
      const float w_top_right = (1.0f - rows.weight) * cols.weight;
      const float w_bottom_left = rows.weight * (1.0f - cols.weight);
      const float w_bottom_right = rows.weight * cols.weight;
      float* top_left = grad_input + rows.first * row_stride + cols.first * channels;
      float* top_right = grad_input + rows.first * row_stride + cols.second * channels;
      float* bottom_left = grad_input + rows.second * row_stride + cols.first * channels;
      float* bottom_right = grad_input + rows.second * row_stride + cols.second * channels;
      for (int32_t k = 0; k < channels; ++k) {
        top_left[k] += w_top_left * g[k];
        top_right[k] += w_top_right * g[k];
        bottom_left[k] += w_bottom_left * g[k];
        bottom_right[k] += w_bottom_right * g[k];
      }
    }
  }
}

/// No warp: a copy with the flips applied.
void copy_flipped(const float* source, float* destination, int64_t height, int64_t width, int64_t channels,
                  const WarpOptions& options) {
  const int64_t row_stride = width * channels;
  for (int64_t r = 0; r < height; ++r) {
    const float* in = source + (options.flip_vertical ? height - 1 - r : r) * row_stride;
    float* out = destination + r * row_stride;
    if (!options.flip_horizontal) {
      std::memcpy(out, in, static_cast<size_t>(row_stride) * sizeof(float));
      continue;
    }
    for (int64_t c = 0; c < width; ++c)
      std::memcpy(out + c * channels, in + (width - 1 - c) * channels, static_cast<size_t>(channels) * sizeof(float));
  }
}

}  // namespace

std::optional<FillMode> parse_fill_mode(const std::string& name) {
  if (name == "nearest") return FillMode::nearest;
  if (name == "constant") return FillMode::constant;
  if (name == "reflect") return FillMode::reflect;
  if (name == "wrap") return FillMode::wrap;
  return std::nullopt;
}

std::optional<AffineMap> keras_affine_map(double theta, double tx, double ty, double shear, double zx, double zy,
                                          int64_t height, int64_t width) {
  for (double value : {theta, tx, ty, shear, zx, zy})
    if (!std::isfinite(value))
      throw ValueError(
          "ImageDataGenerator.apply_transform: transform parameters must be finite (theta=" + std::to_string(theta) +
          ", tx=" + std::to_string(tx) + ", ty=" + std::to_string(ty) + ", shear=" + std::to_string(shear) +
          ", zx=" + std::to_string(zx) + ", zy=" + std::to_string(zy) + ")");
  if (theta == 0.0 && tx == 0.0 && ty == 0.0 && shear == 0.0 && zx == 1.0 && zy == 1.0) return std::nullopt;

  // Keras builds rotation · shift · shear · zoom in (x, y) = (column, row) coordinates (current
  // Keras swaps its matrix into scipy's (row, column) order, which makes positive theta turn the
  // content counter-clockwise on screen). Applied to an output point v relative to the centre:
  // input = R·(Sh·Z·v + t) = A·v + R·t with A = R·Sh·Z.
  const double angle = theta * std::numbers::pi / 180.0;
  const double shear_angle = shear * std::numbers::pi / 180.0;
  const double cos_t = std::cos(angle);
  const double sin_t = std::sin(angle);
  const double shear_xy = -std::sin(shear_angle);  // Sh = [[1, −sin s], [0, cos s]]
  const double shear_yy = std::cos(shear_angle);
  // Z = diag(zy, zx): zy scales columns (x), zx rows (y).
  const double sh_z[2][2] = {{zy, shear_xy * zx}, {0.0, shear_yy * zx}};
  const double a[2][2] = {{cos_t * sh_z[0][0] - sin_t * sh_z[1][0], cos_t * sh_z[0][1] - sin_t * sh_z[1][1]},
                          {sin_t * sh_z[0][0] + cos_t * sh_z[1][0], sin_t * sh_z[0][1] + cos_t * sh_z[1][1]}};
  // The shift t = (ty, tx) in (x, y): ty along the columns, tx along the rows, so that
  // width_shift_range moves the content horizontally and height_shift_range vertically.
  const double shift_x = cos_t * ty - sin_t * tx;
  const double shift_y = sin_t * ty + cos_t * tx;
  // The true centre of the pixel grid (Keras's o = size/2 − 0.5), per axis.
  const double centre_x = (static_cast<double>(width) - 1.0) / 2.0;
  const double centre_y = (static_cast<double>(height) - 1.0) / 2.0;
  // x_in = a00 (x − cx) + a01 (y − cy) + cx + shift_x, y_in likewise; rewritten per (row, col).
  AffineMap map;
  map.row_per_row = static_cast<float>(a[1][1]);
  map.row_per_col = static_cast<float>(a[1][0]);
  map.row_offset = static_cast<float>(centre_y + shift_y - a[1][0] * centre_x - a[1][1] * centre_y);
  map.col_per_row = static_cast<float>(a[0][1]);
  map.col_per_col = static_cast<float>(a[0][0]);
  map.col_offset = static_cast<float>(centre_x + shift_x - a[0][0] * centre_x - a[0][1] * centre_y);
  for (float value :
       {map.row_per_row, map.row_per_col, map.row_offset, map.col_per_row, map.col_per_col, map.col_offset})
    if (!std::isfinite(value))
      throw ValueError("ImageDataGenerator.apply_transform: the transform overflows float (tx=" + std::to_string(tx) +
                       ", ty=" + std::to_string(ty) + ", zx=" + std::to_string(zx) + ", zy=" + std::to_string(zy) +
                       ")");
  return map;
}

namespace {

/// Calls `run` with the fill mode as a compile-time constant.
template <class Run>
void with_fill_mode(FillMode mode, const Run& run) {
  switch (mode) {
    case FillMode::nearest:
      run(std::integral_constant<FillMode, FillMode::nearest>{});
      break;
    case FillMode::constant:
      run(std::integral_constant<FillMode, FillMode::constant>{});
      break;
    case FillMode::reflect:
      run(std::integral_constant<FillMode, FillMode::reflect>{});
      break;
    case FillMode::wrap:
      run(std::integral_constant<FillMode, FillMode::wrap>{});
      break;
  }
}

/// Pixel indices are 32-bit in the sampling loops (they vectorize as 32-bit gathers).
void check_warpable(int64_t height, int64_t width, int64_t channels) {
  if (height * width * channels > std::numeric_limits<int32_t>::max())
    throw ValueError("warp_image: an image of " + std::to_string(height) + "x" + std::to_string(width) + "x" +
                     std::to_string(channels) + " values is too large to warp (at most 2^31 - 1 values)");
}

}  // namespace

void warp_image(const float* source, float* destination, int64_t height, int64_t width, int64_t channels,
                const AffineMap* map, const WarpOptions& options) {
  if (map == nullptr) {
    copy_flipped(source, destination, height, width, channels, options);
    return;
  }
  check_warpable(height, width, channels);
  with_fill_mode(options.fill_mode, [&](auto mode) {
    warp_with_mode<decltype(mode)::value>(source, destination, static_cast<int32_t>(height),
                                          static_cast<int32_t>(width), static_cast<int32_t>(channels), *map, options);
  });
}

void warp_image_transpose(const float* grad_output, float* grad_input, int64_t height, int64_t width,
                          int64_t channels, const AffineMap* map, const WarpOptions& options) {
  if (map == nullptr) {
    // A copy with flips is its own transpose.
    copy_flipped(grad_output, grad_input, height, width, channels, options);
    return;
  }
  check_warpable(height, width, channels);
  with_fill_mode(options.fill_mode, [&](auto mode) {
    warp_transpose_with_mode<decltype(mode)::value>(grad_output, grad_input, static_cast<int32_t>(height),
                                                    static_cast<int32_t>(width), static_cast<int32_t>(channels), *map,
                                                    options);
  });
}

}  // namespace regula::imaging
