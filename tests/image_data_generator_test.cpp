// ImageDataGenerator against geometry and hand computations: each test names the Keras rule
// (keras.preprocessing.image.ImageDataGenerator, apply_affine_transform, scipy.ndimage's
// affine_transform) that it checks.

#include "regula/preprocessing/image_data_generator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <limits>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "regula/error.hpp"

namespace {

using regula::Shape;
using regula::Tensor;
using regula::ValueError;
using regula::preprocessing::ImageDataGenerator;
using regula::preprocessing::ImageDataGeneratorOptions;
using regula::preprocessing::TransformParameters;

/// An (h, w, c) image whose value at (r, col, k) is `value(r, col, k)`.
template <typename Function>
Tensor make_image(int64_t h, int64_t w, int64_t c, Function value) {
  Tensor image(Shape{h, w, c});
  for (int64_t r = 0; r < h; ++r)
    for (int64_t col = 0; col < w; ++col)
      for (int64_t k = 0; k < c; ++k) image[(r * w + col) * c + k] = static_cast<float>(value(r, col, k));
  return image;
}

float at(const Tensor& image, int64_t r, int64_t col, int64_t k = 0) {
  return image[(r * image.dim(1) + col) * image.dim(2) + k];
}

/// A (h, w, 1) image of zeros with a single 1 at (row, col).
Tensor marked_pixel(int64_t h, int64_t w, int64_t row, int64_t col) {
  return make_image(h, w, 1, [&](int64_t r, int64_t c, int64_t) { return r == row && c == col ? 1.0 : 0.0; });
}

/// The (row, col) of the largest value.
std::pair<int64_t, int64_t> argmax(const Tensor& image) {
  const auto index = std::max_element(image.data(), image.data() + image.size()) - image.data();
  const int64_t pixel = index / image.dim(2);
  return {pixel / image.dim(1), pixel % image.dim(1)};
}

std::vector<float> row_values(const Tensor& image, int64_t r) {
  std::vector<float> values;
  for (int64_t c = 0; c < image.dim(1); ++c) values.push_back(at(image, r, c));
  return values;
}

void expect_values_near(const std::vector<float>& actual, const std::vector<float>& expected, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < actual.size(); ++i) EXPECT_NEAR(actual[i], expected[i], 1e-5) << what << " at " << i;
}

// Keras (current, with its matrix swapped into scipy's (row, col) order) rotates the content
// counter-clockwise on screen for positive theta, about the true centre (size/2 − 0.5): theta = 90
// on a square image is np.rot90, i.e. the transposed image flipped upside down,
// out[r][c] = in[c][n − 1 − r]; theta = −90 is the clockwise turn out[r][c] = in[n − 1 − c][r].
TEST(ImageDataGenerator, Rotation90IsCounterClockwiseTurnAboutTheTrueCentre) {
  const ImageDataGenerator generator;
  for (int64_t n : {4, 5, 28}) {
    const Tensor image = make_image(n, n, 1, [&](int64_t r, int64_t c, int64_t) { return r * n + c * c * 0.5 + 1; });
    const Tensor counter_clockwise = generator.apply_transform(image, {.theta = 90});
    const Tensor clockwise = generator.apply_transform(image, {.theta = -90});
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < n; ++c) {
        EXPECT_NEAR(at(counter_clockwise, r, c), at(image, c, n - 1 - r), 1e-3) << n << " " << r << "," << c;
        EXPECT_NEAR(at(clockwise, r, c), at(image, n - 1 - c, r), 1e-3) << n << " " << r << "," << c;
      }
  }
}

// Keras: width_shift_range moves the content horizontally and height_shift_range vertically.
// With scipy's output→input mapping, output (r, c) reads input (r + tx, c + ty): the content
// moves left by ty and up by tx.
TEST(ImageDataGenerator, ShiftsMoveContentAlongTheirOwnAxis) {
  const ImageDataGenerator generator({.fill_mode = "constant"});
  const Tensor image = marked_pixel(7, 9, 3, 4);
  EXPECT_EQ(argmax(generator.apply_transform(image, {.ty = 2})), std::make_pair(int64_t{3}, int64_t{2}));
  EXPECT_EQ(argmax(generator.apply_transform(image, {.ty = -3})), std::make_pair(int64_t{3}, int64_t{7}));
  EXPECT_EQ(argmax(generator.apply_transform(image, {.tx = 2})), std::make_pair(int64_t{1}, int64_t{4}));
  EXPECT_EQ(argmax(generator.apply_transform(image, {.tx = -3})), std::make_pair(int64_t{6}, int64_t{4}));
  const Tensor moved = generator.apply_transform(image, {.tx = -1, .ty = 1});
  EXPECT_FLOAT_EQ(at(moved, 4, 3), 1.0f);
  EXPECT_FLOAT_EQ(std::accumulate(moved.data(), moved.data() + moved.size(), 0.0f), 1.0f);
}

// Keras's get_random_transform: tx from height_shift_range (times the height when the range is
// below 1), ty from width_shift_range (times the width); a range ≥ 1 is in pixels.
TEST(ImageDataGenerator, RandomShiftsScaleByTheirOwnDimension) {
  const ImageDataGenerator width_only({.width_shift_range = 0.5});
  const ImageDataGenerator height_pixels({.height_shift_range = 3});
  double largest_ty = 0.0;
  double largest_tx = 0.0;
  for (uint64_t seed = 0; seed < 2000; ++seed) {
    const TransformParameters w = width_only.get_random_transform(Shape{4, 10, 1}, seed);
    EXPECT_EQ(w.tx, 0.0);
    EXPECT_LE(std::abs(w.ty), 5.0);
    largest_ty = std::max(largest_ty, std::abs(w.ty));
    const TransformParameters h = height_pixels.get_random_transform(Shape{40, 10, 1}, seed);
    EXPECT_EQ(h.ty, 0.0);
    EXPECT_LE(std::abs(h.tx), 3.0);
    largest_tx = std::max(largest_tx, std::abs(h.tx));
  }
  EXPECT_GT(largest_ty, 4.9);
  EXPECT_GT(largest_tx, 2.95);
}

// Keras's fill modes (its documentation's drawing for input abcd, scipy's modes of the same
// names): nearest aaaa|abcd|dddd, constant kkkk|abcd|kkkk, reflect dcba|abcd|dcba (half-sample
// symmetric), wrap abcd|abcd|abcd (periodic).
TEST(ImageDataGenerator, FillModesExtendARampAsDocumented) {
  const Tensor ramp = make_image(1, 4, 1, [](int64_t, int64_t c, int64_t) { return c + 1; });  // a b c d = 1 2 3 4
  struct Case {
    std::string mode;
    std::vector<float> left_of_image;   // output reads input columns −4..−1
    std::vector<float> right_of_image;  // output reads input columns 6..9
  };
  const std::vector<Case> cases = {
      {"nearest", {1, 1, 1, 1}, {4, 4, 4, 4}},
      {"constant", {9, 9, 9, 9}, {9, 9, 9, 9}},
      {"reflect", {4, 3, 2, 1}, {2, 1, 1, 2}},
      {"wrap", {1, 2, 3, 4}, {3, 4, 1, 2}},
  };
  for (const Case& c : cases) {
    const ImageDataGenerator generator({.fill_mode = c.mode, .cval = 9});
    expect_values_near(row_values(generator.apply_transform(ramp, {.ty = -4}), 0), c.left_of_image, c.mode + " left");
    expect_values_near(row_values(generator.apply_transform(ramp, {.ty = 6}), 0), c.right_of_image, c.mode + " right");
  }
  // The same extension along the rows (tx): a column ramp read from rows −4..−1 under reflect.
  const Tensor column = make_image(4, 1, 1, [](int64_t r, int64_t, int64_t) { return r + 1; });
  const Tensor reflected = ImageDataGenerator({.fill_mode = "reflect"}).apply_transform(column, {.tx = -4});
  expect_values_near({reflected[0], reflected[1], reflected[2], reflected[3]}, {4, 3, 2, 1}, "reflect rows");
}

// scipy's order 1: bilinear interpolation between the two neighbours (here a half-pixel shift).
TEST(ImageDataGenerator, FractionalShiftInterpolatesLinearly) {
  const Tensor ramp = make_image(1, 4, 1, [](int64_t, int64_t c, int64_t) { return c + 1; });
  const Tensor shifted = ImageDataGenerator().apply_transform(ramp, {.ty = -0.5});
  expect_values_near(row_values(shifted, 0), {1.0f, 1.5f, 2.5f, 3.5f}, "half-pixel shift right");
}

// Keras's zoom matrix diag(zx, zy) maps output to input coordinates: a factor of 0.5 reads half
// the extent, so a square centred on the image doubles its side (counted at half maximum).
TEST(ImageDataGenerator, ZoomHalfDoublesACentredSquare) {
  const Tensor square = make_image(
      12, 12, 1, [](int64_t r, int64_t c, int64_t) { return r >= 4 && r <= 7 && c >= 4 && c <= 7 ? 1.0 : 0.0; });
  const Tensor zoomed = ImageDataGenerator({.fill_mode = "constant"}).apply_transform(square, {.zx = 0.5, .zy = 0.5});
  int64_t row_count = 0;
  int64_t column_count = 0;
  for (int64_t i = 0; i < 12; ++i) {
    row_count += at(zoomed, 5, i) >= 0.5f;
    column_count += at(zoomed, i, 6) >= 0.5f;
    EXPECT_NEAR(at(zoomed, 5, i), at(zoomed, 5, 11 - i), 1e-6) << "symmetric about the centre";
  }
  EXPECT_EQ(row_count, 8);
  EXPECT_EQ(column_count, 8);
  EXPECT_FLOAT_EQ(at(zoomed, 5, 2), 0.75f);  // input column 3.75: a quarter pixel outside the square
  // zx scales rows only: the square grows vertically and keeps its width.
  const Tensor taller = ImageDataGenerator().apply_transform(square, {.zx = 0.5});
  EXPECT_FLOAT_EQ(at(taller, 2, 5), 0.75f);
  EXPECT_FLOAT_EQ(at(taller, 5, 3), 0.0f);
  EXPECT_FLOAT_EQ(at(taller, 5, 4), 1.0f);
}

// Keras's shear matrix [[1, −sin s], [0, cos s]] in (column, row) coordinates, output→input:
// the output pixel at (r', c') from the centre reads input column c' − sin(s)·r', so a vertical
// line through the centre leans, its lower half moving right by sin(s) per row.
TEST(ImageDataGenerator, ShearLeansAVerticalLine) {
  const Tensor line = make_image(11, 11, 1, [](int64_t, int64_t c, int64_t) { return c == 5 ? 1.0 : 0.0; });
  const Tensor sheared = ImageDataGenerator({.fill_mode = "constant"}).apply_transform(line, {.shear = 30});
  const auto column_of_row = [&](int64_t r) {
    int64_t best = 0;
    for (int64_t c = 1; c < 11; ++c)
      if (at(sheared, r, c) > at(sheared, r, best)) best = c;
    return best;
  };
  EXPECT_EQ(column_of_row(5), 5);
  EXPECT_EQ(column_of_row(9), 7);
  EXPECT_EQ(column_of_row(1), 3);
  EXPECT_FLOAT_EQ(at(sheared, 9, 7), 1.0f);
}

// Keras's apply_affine_transform warps every channel with the same matrix: a multi-channel warp
// (with flips) equals the warps of its channels one by one, in every fill mode.
TEST(ImageDataGenerator, ChannelsAreWarpedAlike) {
  const Tensor image =
      make_image(9, 7, 3, [](int64_t r, int64_t c, int64_t k) { return std::cos(r * 0.9 + c * 0.4 * (k + 1)); });
  const TransformParameters parameters{.theta = 30,
                                       .tx = -2.5,
                                       .ty = 9,
                                       .shear = 12,
                                       .zx = 0.8,
                                       .zy = 1.3,
                                       .flip_horizontal = true,
                                       .flip_vertical = true};
  for (const std::string mode : {"nearest", "constant", "reflect", "wrap"}) {
    const ImageDataGenerator generator({.fill_mode = mode, .cval = -3});
    const Tensor warped = generator.apply_transform(image, parameters);
    for (int64_t k = 0; k < 3; ++k) {
      const Tensor channel = make_image(9, 7, 1, [&](int64_t r, int64_t c, int64_t) { return at(image, r, c, k); });
      const Tensor warped_channel = generator.apply_transform(channel, parameters);
      for (int64_t r = 0; r < 9; ++r)
        for (int64_t c = 0; c < 7; ++c)
          EXPECT_NEAR(at(warped, r, c, k), at(warped_channel, r, c), 1e-6) << mode << " " << r << "," << c << "," << k;
    }
  }
}

// Keras's flip_axis: horizontal_flip reverses the columns, vertical_flip the rows; the channels
// of each pixel move together.
TEST(ImageDataGenerator, FlipsReverseColumnsAndRows) {
  const ImageDataGenerator generator;
  const Tensor image = make_image(3, 4, 2, [](int64_t r, int64_t c, int64_t k) { return r * 100 + c * 10 + k; });
  const Tensor horizontal = generator.apply_transform(image, {.flip_horizontal = true});
  const Tensor vertical = generator.apply_transform(image, {.flip_vertical = true});
  const Tensor both = generator.apply_transform(image, {.flip_horizontal = true, .flip_vertical = true});
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t c = 0; c < 4; ++c)
      for (int64_t k = 0; k < 2; ++k) {
        EXPECT_EQ(at(horizontal, r, c, k), at(image, r, 3 - c, k));
        EXPECT_EQ(at(vertical, r, c, k), at(image, 2 - r, c, k));
        EXPECT_EQ(at(both, r, c, k), at(image, 2 - r, 3 - c, k));
      }
}

// Keras's apply_transform order: the warp first, then the flips (a shift left by 2 then a
// horizontal flip puts column 4 of a width-9 image at 8 − 2 = 6, not at 8 − 4 − 2 = 2).
TEST(ImageDataGenerator, FlipsComeAfterTheWarp) {
  const ImageDataGenerator generator({.fill_mode = "constant"});
  const Tensor image = marked_pixel(5, 9, 1, 4);
  EXPECT_EQ(argmax(generator.apply_transform(image, {.ty = 2, .flip_horizontal = true})),
            std::make_pair(int64_t{1}, int64_t{6}));
  EXPECT_EQ(argmax(generator.apply_transform(image, {.tx = 1, .flip_vertical = true})),
            std::make_pair(int64_t{4}, int64_t{4}));
}

// Keras's apply_channel_shift: clip(x + intensity, min(x), max(x)) with the image-wide min and
// max, the same intensity for every channel.
TEST(ImageDataGenerator, ChannelShiftClipsToTheImageRange) {
  const Tensor image(Shape{1, 2, 2}, {0.1f, 0.5f, 0.3f, 0.9f});
  const ImageDataGenerator generator;
  const Tensor up = generator.apply_transform(image, {.channel_shift_intensity = 0.2});
  expect_values_near({up[0], up[1], up[2], up[3]}, {0.3f, 0.7f, 0.5f, 0.9f}, "shift up");
  const Tensor down = generator.apply_transform(image, {.channel_shift_intensity = -0.3});
  expect_values_near({down[0], down[1], down[2], down[3]}, {0.1f, 0.2f, 0.1f, 0.6f}, "shift down");
}

// Brightness (regula's rule, see brightness_range): every value times the factor, the image's
// scale kept; it comes after the channel shift, as in Keras.
TEST(ImageDataGenerator, BrightnessMultipliesAfterTheChannelShift) {
  const Tensor image(Shape{1, 2, 1}, {0.2f, 0.6f});
  const ImageDataGenerator generator;
  const Tensor brighter = generator.apply_transform(image, {.brightness = 1.5});
  expect_values_near({brighter[0], brighter[1]}, {0.3f, 0.9f}, "brightness");
  const Tensor both = generator.apply_transform(image, {.channel_shift_intensity = 0.1, .brightness = 0.5});
  expect_values_near({both[0], both[1]}, {0.15f, 0.3f}, "clip(x + 0.1, 0.2, 0.6) * 0.5");
}

// No transform: Keras leaves the image as it is (no warp, no interpolation).
TEST(ImageDataGenerator, NoOptionsGiveTheImageBack) {
  const Tensor image =
      make_image(6, 5, 3, [](int64_t r, int64_t c, int64_t k) { return std::sin(r * 7.0 + c + k * 0.3); });
  const Tensor same = ImageDataGenerator().random_transform(image, 42);
  EXPECT_EQ(std::memcmp(same.data(), image.data(), sizeof(float) * static_cast<size_t>(image.size())), 0);
}

ImageDataGeneratorOptions every_random_option() {
  return {.rotation_range = 10,
          .width_shift_range = 0.1,
          .height_shift_range = 0.2,
          .brightness_range = {{0.5, 1.5}},
          .shear_range = 5,
          .zoom_range = 0.2,
          .channel_shift_range = 0.3,
          .horizontal_flip = true,
          .vertical_flip = true};
}

/// Checks that `values` lie in [low, high], reach near both ends and average near the middle,
/// with a variance near a uniform distribution's (high − low)²/12.
void expect_uniform(const std::vector<double>& values, double low, double high, const std::string& what) {
  const double width = high - low;
  double sum = 0.0;
  double squares = 0.0;
  for (double v : values) {
    ASSERT_GE(v, low) << what;
    ASSERT_LE(v, high) << what;
    sum += v;
    squares += v * v;
  }
  const auto n = static_cast<double>(values.size());
  const double mean = sum / n;
  const double variance = squares / n - mean * mean;
  EXPECT_LT(*std::min_element(values.begin(), values.end()), low + 0.01 * width) << what;
  EXPECT_GT(*std::max_element(values.begin(), values.end()), high - 0.01 * width) << what;
  EXPECT_NEAR(mean, (low + high) / 2, 0.03 * width) << what;
  EXPECT_NEAR(variance, width * width / 12, 0.1 * width * width / 12) << what;
}

// Keras's get_random_transform: theta ∈ [−rotation_range, rotation_range], tx ∈ ±height range ×
// H, ty ∈ ±width range × W, shear ∈ ±shear_range, zx and zy independently in the zoom range,
// each flip with probability 1/2, channel shift ∈ ±range, brightness ∈ [low, high], all uniform.
TEST(ImageDataGenerator, RandomParametersAreUniformOverTheirRanges) {
  const ImageDataGenerator generator(every_random_option());
  const Shape shape{28, 20, 1};
  std::vector<double> theta, tx, ty, shear, zx, zy, channel, brightness;
  int horizontal = 0;
  int vertical = 0;
  double zoom_product = 0.0;
  const int draws = 10000;
  for (uint64_t seed = 0; seed < draws; ++seed) {
    const TransformParameters p = generator.get_random_transform(shape, seed);
    theta.push_back(p.theta);
    tx.push_back(p.tx);
    ty.push_back(p.ty);
    shear.push_back(p.shear);
    zx.push_back(p.zx);
    zy.push_back(p.zy);
    channel.push_back(p.channel_shift_intensity);
    ASSERT_TRUE(p.brightness.has_value());
    brightness.push_back(*p.brightness);
    horizontal += p.flip_horizontal;
    vertical += p.flip_vertical;
    zoom_product += (p.zx - 1.0) * (p.zy - 1.0);
  }
  expect_uniform(theta, -10, 10, "theta");
  expect_uniform(tx, -0.2 * 28, 0.2 * 28, "tx");
  expect_uniform(ty, -0.1 * 20, 0.1 * 20, "ty");
  expect_uniform(shear, -5, 5, "shear");
  expect_uniform(zx, 0.8, 1.2, "zx");
  expect_uniform(zy, 0.8, 1.2, "zy");
  expect_uniform(channel, -0.3, 0.3, "channel_shift_intensity");
  expect_uniform(brightness, 0.5, 1.5, "brightness");
  EXPECT_NEAR(horizontal / static_cast<double>(draws), 0.5, 0.03);
  EXPECT_NEAR(vertical / static_cast<double>(draws), 0.5, 0.03);
  // zx and zy are drawn independently: their covariance is near 0 (variance 0.4²/12 each).
  EXPECT_NEAR(zoom_product / draws, 0.0, 0.1 * 0.4 * 0.4 / 12);
}

// Keras draws nothing for a disabled option: zoom [1, 1] gives zx = zy = 1, no flips unless
// enabled, no brightness unless brightness_range is set.
TEST(ImageDataGenerator, DisabledOptionsDrawNothing) {
  const ImageDataGenerator generator({.zoom_range = {1.0, 1.0}});
  for (uint64_t seed = 0; seed < 100; ++seed) {
    const TransformParameters p = generator.get_random_transform(Shape{8, 8, 1}, seed);
    EXPECT_EQ(p.theta, 0.0);
    EXPECT_EQ(p.tx, 0.0);
    EXPECT_EQ(p.ty, 0.0);
    EXPECT_EQ(p.zx, 1.0);
    EXPECT_EQ(p.zy, 1.0);
    EXPECT_FALSE(p.flip_horizontal || p.flip_vertical);
    EXPECT_EQ(p.channel_shift_intensity, 0.0);
    EXPECT_FALSE(p.brightness.has_value());
  }
}

// The transform is a pure function of the seed: the same seed gives the same image, another
// seed another image.
TEST(ImageDataGenerator, SameSeedSameImageOtherSeedOtherImage) {
  const ImageDataGenerator generator(every_random_option());
  const Tensor image = make_image(28, 28, 1, [](int64_t r, int64_t c, int64_t) { return (r * 3 + c * 7) % 11 / 10.0; });
  const Tensor first = generator.random_transform(image, 7);
  const Tensor again = generator.random_transform(image, 7);
  const Tensor other = generator.random_transform(image, 8);
  const size_t bytes = sizeof(float) * static_cast<size_t>(image.size());
  EXPECT_EQ(std::memcmp(first.data(), again.data(), bytes), 0);
  EXPECT_NE(std::memcmp(first.data(), other.data(), bytes), 0);
}

// Keras's standardize, in order: preprocessing_function, rescale, then the rest (here the
// function adds 1 and rescale doubles: (x + 1)·2, not x·2 + 1).
TEST(ImageDataGenerator, StandardizeRunsPreprocessingFunctionBeforeRescale) {
  const ImageDataGenerator generator({.rescale = 2.0, .preprocessing_function = [](Tensor& image) {
                                        for (float& v : image.values()) v += 1.0f;
                                      }});
  Tensor image(Shape{1, 2, 1}, {1.0f, 3.0f});
  generator.standardize(image);
  expect_values_near({image[0], image[1]}, {4.0f, 8.0f}, "(x + 1) * 2");
  // The pointer overload and a function that replaces the tensor instead of changing it.
  const ImageDataGenerator replacing(
      {.preprocessing_function = [](Tensor& image) { image = Tensor(image.shape(), 5.0f); }});
  float raw[2] = {1.0f, 2.0f};
  replacing.standardize(raw, Shape{1, 2, 1});
  EXPECT_EQ(raw[0], 5.0f);
  EXPECT_EQ(raw[1], 5.0f);
}

// Keras: samplewise_center subtracts the image's mean over all values (every channel);
// samplewise_std_normalization divides by np.std + 1e-6 (and turns on samplewise_center);
// rescale comes before both.
TEST(ImageDataGenerator, StandardizeSamplewise) {
  const std::vector<float> values = {1, 2, 3, 4, 5, 9};
  const double mean = 24.0 / 6.0 * 10;  // after rescale 10
  double squares = 0.0;
  for (float v : values) squares += (v * 10 - mean) * (v * 10 - mean);
  const double std_dev = std::sqrt(squares / 6);

  Tensor centred(Shape{1, 3, 2}, values);
  ImageDataGenerator({.samplewise_center = true, .rescale = 10}).standardize(centred);
  for (size_t i = 0; i < values.size(); ++i) EXPECT_NEAR(centred[static_cast<int64_t>(i)], values[i] * 10 - mean, 1e-4);

  Tensor normalized(Shape{1, 3, 2}, values);
  ImageDataGenerator({.samplewise_std_normalization = true, .rescale = 10}).standardize(normalized);
  for (size_t i = 0; i < values.size(); ++i)
    EXPECT_NEAR(normalized[static_cast<int64_t>(i)], (values[i] * 10 - mean) / (std_dev + 1e-6), 1e-5);
}

// Keras's fit: per-channel np.mean and np.std (population) over axes (0, 1, 2), after rescale.
TEST(ImageDataGenerator, FitComputesPerChannelMeanAndStd) {
  const Tensor x = make_image(5 * 3, 4, 2, [](int64_t r, int64_t c, int64_t k) {
                     return std::sin(r * 1.3 + c * 0.7) * (k + 1) + k * 3;
                   }).reshaped(Shape{5, 3, 4, 2});
  ImageDataGenerator generator({.featurewise_center = true, .featurewise_std_normalization = true, .rescale = 0.5});
  generator.fit(x);
  for (int64_t k = 0; k < 2; ++k) {
    double sum = 0.0;
    for (int64_t i = k; i < x.size(); i += 2) sum += x[i] * 0.5;
    const double mean = sum / 60;
    double squares = 0.0;
    for (int64_t i = k; i < x.size(); i += 2) squares += (x[i] * 0.5 - mean) * (x[i] * 0.5 - mean);
    EXPECT_NEAR(generator.mean()[static_cast<size_t>(k)], mean, 1e-5);
    EXPECT_NEAR(generator.std()[static_cast<size_t>(k)], std::sqrt(squares / 60), 1e-5);
  }
  // Flips only move pixels: the statistics of flipped copies are those of the data.
  ImageDataGenerator flipping(
      {.featurewise_center = true, .horizontal_flip = true, .vertical_flip = true, .rescale = 0.5});
  flipping.fit(x, true, 3, 11);
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_NEAR(flipping.mean()[k], generator.mean()[k], 1e-5);
    EXPECT_NEAR(flipping.std()[k], generator.std()[k], 1e-5);
  }
}

// Keras: featurewise_center subtracts the per-channel mean from fit, featurewise_std_normalization
// divides by the per-channel std + 1e-6 (and turns on featurewise_center); rescale comes first.
TEST(ImageDataGenerator, StandardizeFeaturewiseUsesTheFitStatistics) {
  const Tensor x(Shape{2, 1, 1, 2}, {1.0f, 10.0f, 3.0f, 30.0f});  // channel 0: 1, 3; channel 1: 10, 30
  ImageDataGenerator generator({.featurewise_std_normalization = true});
  EXPECT_TRUE(generator.options().featurewise_center);
  generator.fit(x);
  Tensor image(Shape{1, 1, 2}, {4.0f, 40.0f});
  generator.standardize(image);
  EXPECT_NEAR(image[0], (4.0 - 2.0) / (1.0 + 1e-6), 1e-5);
  EXPECT_NEAR(image[1], (40.0 - 20.0) / (10.0 + 1e-6), 1e-5);
  // A batch is standardized image by image.
  Tensor batch(Shape{2, 1, 1, 2}, {4.0f, 40.0f, 2.0f, 20.0f});
  generator.standardize(batch);
  expect_values_near({batch[0], batch[1], batch[2], batch[3]}, {2.0f, 2.0f, 0.0f, 0.0f}, "batch");
}

// Keras: a featurewise option without fit warns and leaves that step out; regula prints each
// warning once per generator.
TEST(ImageDataGenerator, FeaturewiseWithoutFitWarnsOnceAndSkips) {
  const ImageDataGenerator generator({.featurewise_center = true});
  Tensor image(Shape{1, 2, 1}, {1.0f, 2.0f});
  testing::internal::CaptureStderr();
  generator.standardize(image);
  generator.standardize(image);
  const std::string warnings = testing::internal::GetCapturedStderr();
  EXPECT_EQ(image[0], 1.0f);
  EXPECT_EQ(image[1], 2.0f);
  const auto first = warnings.find("featurewise_center");
  ASSERT_NE(first, std::string::npos) << warnings;
  EXPECT_EQ(warnings.find("featurewise_center", first + 1), std::string::npos) << warnings;
}

// standardize runs on worker threads: concurrent calls on different images give the serial
// results.
TEST(ImageDataGenerator, StandardizeIsSafeAcrossThreads) {
  const ImageDataGenerator generator(
      {.featurewise_center = true, .samplewise_center = true, .preprocessing_function = [](Tensor& image) {
         for (float& v : image.values()) v *= 2.0f;
       }});
  const int threads = 4;
  std::vector<std::vector<float>> images(threads);
  for (int t = 0; t < threads; ++t)
    for (int i = 0; i < 64; ++i) images[static_cast<size_t>(t)].push_back(static_cast<float>((i * (t + 3)) % 17));
  std::vector<std::vector<float>> expected = images;
  testing::internal::CaptureStderr();
  for (auto& image : expected) generator.standardize(image.data(), Shape{8, 8, 1});
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      for (int repeat = 0; repeat < 50; ++repeat) {
        std::vector<float> copy = images[static_cast<size_t>(t)];
        generator.standardize(copy.data(), Shape{8, 8, 1});
        if (repeat == 49) images[static_cast<size_t>(t)] = copy;
      }
    });
  for (std::thread& worker : workers) worker.join();
  testing::internal::GetCapturedStderr();
  EXPECT_EQ(images, expected);
}

/// Expects constructing a generator with `options` to throw ValueError mentioning `option`.
void expect_rejected(const ImageDataGeneratorOptions& options, const std::string& option) {
  try {
    ImageDataGenerator generator(options);
    ADD_FAILURE() << option << " was accepted";
  } catch (const ValueError& error) {
    EXPECT_NE(std::string(error.what()).find(option), std::string::npos) << error.what();
  }
}

// Option checks: negative ranges, zoom low ≤ 0 or low > high, brightness low > high or < 0, an
// unknown fill_mode (the message lists the four), validation_split outside [0, 1), a non-finite
// rescale: each a ValueError naming the option.
TEST(ImageDataGenerator, BadOptionsThrowValueErrorNamingThem) {
  expect_rejected({.rotation_range = -1}, "rotation_range");
  expect_rejected({.width_shift_range = -0.1}, "width_shift_range");
  expect_rejected({.height_shift_range = -2}, "height_shift_range");
  expect_rejected({.shear_range = -5}, "shear_range");
  expect_rejected({.channel_shift_range = -0.5}, "channel_shift_range");
  expect_rejected({.zoom_range = 1.5}, "zoom_range");
  expect_rejected({.zoom_range = {1.2, 0.8}}, "zoom_range");
  expect_rejected({.brightness_range = {{1.5, 0.5}}}, "brightness_range");
  expect_rejected({.brightness_range = {{-0.5, 1.0}}}, "brightness_range");
  expect_rejected({.fill_mode = "mirror"}, "fill_mode");
  expect_rejected({.fill_mode = "mirror"}, "'nearest', 'constant', 'reflect', 'wrap'");
  expect_rejected({.validation_split = 1.0}, "validation_split");
  expect_rejected({.validation_split = -0.1}, "validation_split");
  expect_rejected({.rescale = std::nan("")}, "rescale");
  expect_rejected({.rescale = std::numeric_limits<double>::infinity()}, "rescale");
  EXPECT_NO_THROW(ImageDataGenerator({.zoom_range = {0.5, 0.5}, .validation_split = 0.0}));
}

// Speed of the per-image work for the article's settings (rotation 10, shifts 0.1, zoom 0.2,
// horizontal flip) on 28×28×1 images; printed, with a loose bound that catches a regression
// to per-image allocation or per-pixel recomputation.
TEST(ImageDataGenerator, ArticleAugmentationTakesMicroseconds) {
  const ImageDataGenerator generator({.rotation_range = 10,
                                      .width_shift_range = 0.1,
                                      .height_shift_range = 0.1,
                                      .zoom_range = 0.2,
                                      .horizontal_flip = true});
  const Shape shape{28, 28, 1};
  const Tensor image = make_image(28, 28, 1, [](int64_t r, int64_t c, int64_t) { return (r * c % 13) / 13.0; });
  std::vector<float> output(28 * 28);
  const int images = 20000;
  float checksum = 0.0f;
  // This thread's CPU time: the figure stays meaningful on a machine busy with other work.
  const auto thread_seconds = [] {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
  };
  const double start = thread_seconds();
  for (int i = 0; i < images; ++i) {
    generator.apply_transform(image.data(), output.data(), shape,
                              generator.get_random_transform(shape, static_cast<uint64_t>(i)));
    checksum += output[static_cast<size_t>(i % 784)];
  }
  const double microseconds = (thread_seconds() - start) * 1e6 / images;
  std::printf("article augmentation: %.2f us of CPU time per 28x28x1 image (checksum %g)\n", microseconds, checksum);
  EXPECT_LT(microseconds, 500.0);
}

}  // namespace
