// Keras 3's augmentation layers (RandomFlip, RandomRotation, RandomTranslation, RandomZoom,
// RandomContrast, RandomErasing): each test names the Keras rule it checks. Their gradients are
// checked in gradcheck_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "regula/error.hpp"
#include "regula/layers/augmentation_factor.hpp"
#include "regula/layers/layer_factory.hpp"
#include "regula/layers/random_contrast.hpp"
#include "regula/layers/random_erasing.hpp"
#include "regula/layers/random_flip.hpp"
#include "regula/layers/random_rotation.hpp"
#include "regula/layers/random_translation.hpp"
#include "regula/layers/random_zoom.hpp"
#include "regula/preprocessing/image_data_generator.hpp"
#include "regula/utils/random.hpp"
#include "test_support.hpp"

namespace rl = regula::layers;
using regula::Shape;
using regula::ShapeError;
using regula::Tensor;
using regula::ValueError;
using regula::testing_support::expect_error;

namespace {

/// A (batch, height, width, channels) batch whose value at (i, r, c, k) is `value(i, r, c, k)`.
Tensor images(int64_t batch, int64_t height, int64_t width, int64_t channels,
              const std::function<float(int64_t, int64_t, int64_t, int64_t)>& value) {
  Tensor x({batch, height, width, channels});
  for (int64_t i = 0; i < batch; ++i)
    for (int64_t r = 0; r < height; ++r)
      for (int64_t c = 0; c < width; ++c)
        for (int64_t k = 0; k < channels; ++k) x[((i * height + r) * width + c) * channels + k] = value(i, r, c, k);
  return x;
}

/// Distinct values everywhere, so that any moved pixel shows.
Tensor distinct_images(int64_t batch, int64_t height, int64_t width, int64_t channels) {
  return images(batch, height, width, channels, [&](int64_t i, int64_t r, int64_t c, int64_t k) {
    return static_cast<float>(((i * height + r) * width + c) * channels + k);
  });
}

float at(const Tensor& x, int64_t i, int64_t r, int64_t c, int64_t k = 0) {
  const Shape& s = x.shape();
  return x[((i * s[1] + r) * s[2] + c) * s[3] + k];
}

/// Builds `layer` for `x`'s image shape and runs one forward pass.
Tensor run(rl::Layer& layer, const Tensor& x, bool training, uint64_t step = 1) {
  const Shape& s = x.shape();
  if (!layer.built()) layer.build({{s[1], s[2], s[3]}});
  Tensor y(s);
  layer.forward({&x}, y, {.training = training, .step = step});
  return y;
}

std::vector<std::shared_ptr<rl::Layer>> every_augmentation_layer() {
  return {rl::RandomFlip("horizontal", {.seed = 1}).into_shared(),
          rl::RandomRotation(0.2, {.seed = 1}).into_shared(),
          rl::RandomTranslation(0.2, 0.3, {.seed = 1}).into_shared(),
          rl::RandomZoom(0.3, std::nullopt, {.seed = 1}).into_shared(),
          rl::RandomContrast(0.5, {.value_range = {0, 255}, .seed = 1}).into_shared(),
          rl::RandomErasing({.factor = rl::AugmentationFactor(1, 1), .seed = 1}).into_shared()};
}

}  // namespace

// ---- shared rules ----

TEST(AugmentationFactor, ResolvesAsKerasSetFactor) {
  // Keras's _set_factor: a number f in [low, high] becomes (max(-|f|, low), |f|); a range is
  // refused only when lower > high or upper < low, and is sorted.
  EXPECT_EQ(rl::resolve_factor(0.2, -1, 1, "w", "factor"), (std::array<double, 2>{-0.2, 0.2}));
  EXPECT_EQ(rl::resolve_factor(0.4, 0, 1, "w", "factor"), (std::array<double, 2>{0.0, 0.4}));
  EXPECT_EQ(rl::resolve_factor(rl::AugmentationFactor(0.3, -0.1), -1, 1, "w", "factor"),
            (std::array<double, 2>{-0.1, 0.3}));
  EXPECT_EQ(rl::resolve_factor(rl::AugmentationFactor(0.5, 2.0), 0, 1, "w", "factor"),
            (std::array<double, 2>{0.5, 2.0}));
  expect_error<ValueError>([] { rl::resolve_factor(1.5, -1, 1, "RandomRotation 'r'", "factor"); },
                           {"RandomRotation 'r'", "factor=1.5", "[-1, 1]"});
  expect_error<ValueError>([] { rl::resolve_factor(rl::AugmentationFactor(1.2, 1.5), 0, 1, "w", "factor"); },
                           {"factor=(1.2, 1.5)", "lower end at most 1"});
  expect_error<ValueError>([] { rl::resolve_factor(std::nan(""), 0, 1, "w", "factor"); }, {"finite"});
  // RandomTranslation and RandomZoom: every value in [-1, 1]; a number f becomes (-|f|, |f|).
  EXPECT_EQ(rl::resolve_factor_each(-0.3, -1, 1, "w", "height_factor"), (std::array<double, 2>{-0.3, 0.3}));
  expect_error<ValueError>([] { rl::resolve_factor_each(rl::AugmentationFactor(0.5, 1.5), -1, 1, "w", "width_factor"); },
                           {"width_factor=(0.5, 1.5)", "every value in [-1, 1]"});
}

TEST(AugmentationLayers, AreTheIdentityAtInference) {
  // Keras: with training=False no transformation is drawn and the images pass unchanged.
  const Tensor x = distinct_images(3, 5, 6, 2);
  for (const auto& layer : every_augmentation_layer()) {
    const Tensor y = run(*layer, x, false);
    for (int64_t i = 0; i < x.size(); ++i) ASSERT_EQ(y[i], x[i]) << layer->class_name();
    Tensor g(x.shape(), 1.5f), gx(x.shape());
    layer->backward({&x}, y, g, {&gx});
    for (int64_t i = 0; i < x.size(); ++i) ASSERT_EQ(gx[i], 1.5f) << layer->class_name();
  }
}

TEST(AugmentationLayers, RepeatAStepAndDrawAnewForTheNext) {
  // Counter-based streams: the transformation of a step is a pure function of (seed, step).
  const Tensor x = images(8, 6, 6, 1, [](int64_t i, int64_t r, int64_t c, int64_t) {
    return static_cast<float>(20 + 3 * r + 7 * c + i) ;
  });
  for (const auto& layer : every_augmentation_layer()) {
    const Tensor a = run(*layer, x, true, 4);
    const Tensor b = run(*layer, x, true, 4);
    const Tensor c = run(*layer, x, true, 5);
    int64_t differ = 0;
    for (int64_t i = 0; i < x.size(); ++i) {
      ASSERT_EQ(a[i], b[i]) << layer->class_name();
      differ += a[i] != c[i];
    }
    EXPECT_GT(differ, 0) << layer->class_name();
  }
}

TEST(AugmentationLayers, ExpectImagesAndKnownOptions) {
  expect_error<ShapeError>([] { rl::RandomRotation(0.1).build({{4, 5}}); },
                           {"RandomRotation", "(batch, height, width, channels)"});
  expect_error<ValueError>([] { rl::RandomRotation(0.1, {.fill_mode = "mirror"}); },
                           {"fill_mode='mirror'", "'reflect', 'wrap', 'constant', 'nearest'"});
  expect_error<ValueError>([] { rl::RandomZoom(0.1, std::nullopt, {.interpolation = "bicubic"}); },
                           {"interpolation='bicubic'", "'bilinear', 'nearest'"});
  expect_error<ValueError>([] { rl::RandomFlip("diagonal"); }, {"mode='diagonal'", "'horizontal_and_vertical'"});
  expect_error<ValueError>([] { rl::RandomContrast(0.2, {.value_range = {1, 0}}); }, {"value_range=(1, 0)"});
  expect_error<ValueError>([] { rl::RandomContrast(1.5); }, {"factor=1.5", "[0, 1]"});
  expect_error<ValueError>([] { rl::RandomErasing({.fill_value = {1, 2}}).build({{4, 4, 3}}); },
                           {"fill_value has 2 values", "3 channels"});
}

TEST(AugmentationLayers, ConfigsRoundTripThroughTheFactory) {
  // get_config holds Keras's keys; layer_from_config rebuilds the same layer.
  for (const auto& layer : every_augmentation_layer()) {
    const nlohmann::json config = layer->get_config();
    EXPECT_EQ(config["seed"], 1) << config.dump();
    const auto again = rl::layer_from_config({{"class_name", layer->class_name()}, {"config", config}}, "test");
    nlohmann::json expected = config;
    expected.erase("name");
    nlohmann::json actual = again->get_config();
    actual.erase("name");
    EXPECT_EQ(actual, expected) << layer->class_name();
  }
  const nlohmann::json rotation = rl::RandomRotation(0.1).get_config();
  for (const char* key : {"factor", "fill_mode", "interpolation", "seed", "fill_value", "data_format"})
    EXPECT_TRUE(rotation.contains(key)) << key;
  EXPECT_EQ(rotation["fill_mode"], "reflect");
  expect_error<ValueError>([] { rl::layer_from_config({{"class_name", "RandomRotation"}}, "model.layers[0]"); },
                           {"model.layers[0]", "'factor' is required"});
  expect_error<ValueError>(
      [] {
        rl::layer_from_config({{"class_name", "RandomFlip"}, {"data_format", "channels_first"}}, "model.layers[1]");
      },
      {"model.layers[1]", "channels_first", "not built"});
  expect_error<ValueError>(
      [] { rl::layer_from_config({{"class_name", "RandomRotation"}, {"factor", "big"}}, "l"); },
      {"factor=\"big\"", "a number or a list of two numbers"});
}

// ---- RandomFlip ----

TEST(RandomFlip, FlipsHalfTheImagesLeftRight) {
  // Keras: flip where a uniform draw is at most 0.5; "horizontal" reverses the columns.
  const int64_t batch = 2000;
  rl::RandomFlip flip("horizontal", {.seed = 3});
  const Tensor x = distinct_images(batch, 2, 3, 1);
  const Tensor y = run(flip, x, true);
  int64_t flipped = 0;
  for (int64_t i = 0; i < batch; ++i) {
    const bool is_flipped = at(y, i, 0, 0) == at(x, i, 0, 2);
    flipped += is_flipped;
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t c = 0; c < 3; ++c) ASSERT_EQ(at(y, i, r, c), at(x, i, r, is_flipped ? 2 - c : c));
  }
  EXPECT_NEAR(static_cast<double>(flipped), batch / 2.0, 5 * std::sqrt(batch * 0.25));
}

TEST(RandomFlip, HorizontalAndVerticalFlipsBothWaysTogether) {
  // Keras 3 draws one coin per image for both axes: an image turns half way round or stays.
  const int64_t batch = 400;
  rl::RandomFlip flip("horizontal_and_vertical", {.seed = 4});
  const Tensor x = distinct_images(batch, 3, 4, 2);
  const Tensor y = run(flip, x, true);
  int64_t turned = 0;
  for (int64_t i = 0; i < batch; ++i) {
    const bool half_turn = at(y, i, 0, 0) == at(x, i, 2, 3);
    turned += half_turn;
    for (int64_t r = 0; r < 3; ++r)
      for (int64_t c = 0; c < 4; ++c)
        for (int64_t k = 0; k < 2; ++k)
          ASSERT_EQ(at(y, i, r, c, k), half_turn ? at(x, i, 2 - r, 3 - c, k) : at(x, i, r, c, k));
  }
  EXPECT_GT(turned, 150);
  EXPECT_LT(turned, 250);
}

// ---- RandomRotation ----

TEST(RandomRotation, AQuarterTurnIsImageDataGeneratorsNinetyDegrees) {
  // factor is a fraction of a full turn and positive turns counter-clockwise, about the centre
  // of the pixel grid: (0.25, 0.25) equals apply_transform(theta=90).
  rl::RandomRotation rotation(rl::AugmentationFactor(0.25, 0.25), {.seed = 2});
  const Tensor x = distinct_images(2, 5, 5, 1);
  const Tensor y = run(rotation, x, true);
  regula::preprocessing::ImageDataGenerator generator({.fill_mode = "reflect"});
  for (int64_t i = 0; i < 2; ++i) {
    Tensor image({5, 5, 1});
    for (int64_t p = 0; p < 25; ++p) image[p] = x[i * 25 + p];
    const Tensor expected = generator.apply_transform(image, {.theta = 90});
    for (int64_t p = 0; p < 25; ++p) EXPECT_NEAR(y[i * 25 + p], expected[p], 1e-3) << p;
  }
  // Counter-clockwise on screen: the right column's top moves to the top row's left end.
  EXPECT_NEAR(at(y, 0, 0, 0), at(x, 0, 0, 4), 1e-3);
}

TEST(RandomRotation, AHalfTurnReversesRowsAndColumns) {
  rl::RandomRotation rotation(rl::AugmentationFactor(-0.5, -0.5), {.interpolation = "nearest", .seed = 2});
  const Tensor x = distinct_images(1, 4, 6, 3);
  const Tensor y = run(rotation, x, true);
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t c = 0; c < 6; ++c)
      for (int64_t k = 0; k < 3; ++k) ASSERT_EQ(at(y, 0, r, c, k), at(x, 0, 3 - r, 5 - c, k));
}

// ---- RandomTranslation ----

TEST(RandomTranslation, PositiveFactorsMoveTheContentDownAndRight) {
  // Keras: shifts of factor·size pixels; output(r, c) = input(r - dy, c - dx), so positive
  // height_factor moves the content down and positive width_factor moves it right.
  rl::RandomTranslation translation(rl::AugmentationFactor(0.25, 0.25), rl::AugmentationFactor(-0.5, -0.5),
                                    {.fill_mode = "constant", .seed = 1, .fill_value = -1});
  const Tensor x = distinct_images(1, 8, 4, 1);
  const Tensor y = run(translation, x, true);
  for (int64_t r = 0; r < 8; ++r)
    for (int64_t c = 0; c < 4; ++c) {
      const int64_t from_r = r - 2, from_c = c + 2;
      const bool inside = from_r >= 0 && from_c < 4;
      ASSERT_EQ(at(y, 0, r, c), inside ? at(x, 0, from_r, from_c) : -1.0f) << r << "," << c;
    }
}

TEST(RandomTranslation, FillModesExtendTheImageAsKeras) {
  // One row 0 1 2 3 shifted right by 2: reflect b a | a b, wrap c d | a b, nearest a a | a b.
  const Tensor x = images(1, 1, 4, 1, [](int64_t, int64_t, int64_t c, int64_t) { return static_cast<float>(c); });
  auto shifted = [&](const std::string& mode) {
    rl::RandomTranslation t(0.0, rl::AugmentationFactor(0.5, 0.5), {.fill_mode = mode, .seed = 1});
    return run(t, x, true);
  };
  const Tensor reflect = shifted("reflect"), wrap = shifted("wrap"), nearest = shifted("nearest");
  const std::vector<float> expect_reflect = {1, 0, 0, 1}, expect_wrap = {2, 3, 0, 1}, expect_nearest = {0, 0, 0, 1};
  for (int64_t c = 0; c < 4; ++c) {
    EXPECT_EQ(reflect[c], expect_reflect[c]) << c;
    EXPECT_EQ(wrap[c], expect_wrap[c]) << c;
    EXPECT_EQ(nearest[c], expect_nearest[c]) << c;
  }
}

// ---- RandomZoom ----

TEST(RandomZoom, NegativeFactorsZoomInAboutTheCentreAndKeepTheAspectRatio) {
  // Keras: zoom z = 1 + factor; output pixel p reads input centre + z·(p − centre), so z < 1
  // enlarges the content; without width_factor the columns zoom by the rows' factor.
  rl::RandomZoom zoom(rl::AugmentationFactor(-0.5, -0.5), std::nullopt, {.seed = 1});
  const Tensor x = images(1, 5, 7, 2, [](int64_t, int64_t r, int64_t c, int64_t k) {
    return static_cast<float>(k == 0 ? r : c);
  });
  const Tensor y = run(zoom, x, true);
  for (int64_t r = 0; r < 5; ++r)
    for (int64_t c = 0; c < 7; ++c) {
      EXPECT_NEAR(at(y, 0, r, c, 0), 2.0 + 0.5 * (r - 2.0), 1e-5);
      EXPECT_NEAR(at(y, 0, r, c, 1), 3.0 + 0.5 * (c - 3.0), 1e-5);
    }
}

TEST(RandomZoom, PositiveFactorsZoomOut) {
  rl::RandomZoom zoom(rl::AugmentationFactor(1.0, 1.0), rl::AugmentationFactor(0.0, 0.0),
                      {.fill_mode = "constant", .seed = 1, .fill_value = -1});
  const Tensor x = images(1, 5, 3, 1, [](int64_t, int64_t r, int64_t, int64_t) { return static_cast<float>(r); });
  const Tensor y = run(zoom, x, true);
  // z = 2 on the rows: row r reads input row 2 + 2(r − 2); rows 0 and 4 fall outside.
  const std::vector<float> expected = {-1, 0, 2, 4, -1};
  for (int64_t r = 0; r < 5; ++r)
    for (int64_t c = 0; c < 3; ++c) EXPECT_NEAR(at(y, 0, r, c), expected[static_cast<size_t>(r)], 1e-5) << r;
}

// ---- RandomContrast ----

TEST(RandomContrast, ScalesAboutEachChannelsMeanByFactorsInKerasRange) {
  // Keras 3: c ~ U[1 − lower, 1 + upper] per image; a number f resolves to (0, f), so it only
  // raises contrast; the range (f, f) gives the documented [1 − f, 1 + f]. Per-channel means
  // stay; the output is clipped to value_range.
  const int64_t batch = 300;
  const Tensor x = images(batch, 4, 4, 2, [](int64_t i, int64_t r, int64_t c, int64_t k) {
    return static_cast<float>(100 + 10 * k + (r * 4 + c) - 7.5 + (i % 3));
  });
  auto factors = [&](rl::AugmentationFactor factor) {
    rl::RandomContrast contrast(factor, {.value_range = {0, 255}, .seed = 9});
    const Tensor y = run(contrast, x, true);
    std::vector<double> result;
    for (int64_t i = 0; i < batch; ++i) {
      for (int64_t k = 0; k < 2; ++k) {
        double mean_in = 0, mean_out = 0;
        for (int64_t p = 0; p < 16; ++p) {
          mean_in += at(x, i, p / 4, p % 4, k) / 16.0;
          mean_out += at(y, i, p / 4, p % 4, k) / 16.0;
        }
        EXPECT_NEAR(mean_out, mean_in, 1e-3);
      }
      // Pixel (0, 0) sits 7.5 below its channel's mean.
      result.push_back((at(y, i, 0, 0, 0) - (at(x, i, 0, 0, 0) + 7.5)) / -7.5);
    }
    return result;
  };
  double low = 10, high = -10;
  for (double c : factors(0.4)) {
    low = std::min(low, c);
    high = std::max(high, c);
  }
  EXPECT_GE(low, 1.0 - 1e-4);
  EXPECT_LE(high, 1.4 + 1e-4);
  EXPECT_GT(high, 1.35);
  low = 10;
  for (double c : factors(rl::AugmentationFactor(0.4, 0.4))) low = std::min(low, c);
  EXPECT_LT(low, 0.65);
  EXPECT_GE(low, 0.6 - 1e-4);

  rl::RandomContrast strong(rl::AugmentationFactor(0.0, 1.0), {.value_range = {0, 1}, .seed = 2});
  const Tensor wide = images(50, 2, 2, 1, [](int64_t, int64_t r, int64_t c, int64_t) {
    return static_cast<float>((r * 2 + c) / 3.0);
  });
  const Tensor clipped = run(strong, wide, true);
  for (int64_t i = 0; i < clipped.size(); ++i) {
    EXPECT_GE(clipped[i], 0.0f);
    EXPECT_LE(clipped[i], 1.0f);
  }
}

// ---- RandomErasing ----

TEST(RandomErasing, ErasesOneRectangleOfTheDrawnScaleInEveryChannel) {
  // Keras 3: width √u₁·W and height √u₂·H with u ~ U[scale]; a pixel is erased when its index
  // lies in [start, start + size) on both axes; a constant fill_value fills every channel.
  const int64_t batch = 200;
  rl::RandomErasing erasing({.factor = rl::AugmentationFactor(1, 1),
                             .scale = rl::AugmentationFactor(0.1, 0.4),
                             .fill_value = {-5},
                             .value_range = {-10, 1e6},
                             .seed = 6});
  const Tensor x = distinct_images(batch, 10, 10, 3);
  const Tensor y = run(erasing, x, true);
  ASSERT_EQ(erasing.last_rectangles().size(), static_cast<size_t>(batch));
  for (int64_t i = 0; i < batch; ++i) {
    const auto& rect = erasing.last_rectangles()[static_cast<size_t>(i)];
    ASSERT_TRUE(rect.erased);
    const double width = rect.col_end - rect.col_begin, height = rect.row_end - rect.row_begin;
    EXPECT_GE(width, std::sqrt(0.1) * 10 - 1e-5);
    EXPECT_LE(width, std::sqrt(0.4) * 10 + 1e-5);
    EXPECT_GE(height, std::sqrt(0.1) * 10 - 1e-5);
    EXPECT_GE(rect.col_begin, 0.0);
    EXPECT_LE(rect.col_end, 10.0 + 1e-9);
    for (int64_t r = 0; r < 10; ++r)
      for (int64_t c = 0; c < 10; ++c)
        for (int64_t k = 0; k < 3; ++k)
          ASSERT_EQ(at(y, i, r, c, k), rect.contains(r, c) ? -5.0f : at(x, i, r, c, k));
  }
}

TEST(RandomErasing, TheDefaultFactorErasesHalfTheImagesWithNoise) {
  // Keras resolves factor=1.0 to (0, 1): p ~ U[0, 1), erase when U < p, so half on average.
  // With no fill_value the patch is N(0, 1)·value_range[1], clipped to value_range.
  const int64_t batch = 2000;
  rl::RandomErasing erasing({.value_range = {0, 1}, .seed = 7});
  const Tensor x = images(batch, 6, 6, 1, [](int64_t, int64_t, int64_t, int64_t) { return 0.5f; });
  const Tensor y = run(erasing, x, true);
  int64_t erased = 0, changed = 0, at_zero = 0;
  for (int64_t i = 0; i < batch; ++i) erased += erasing.last_rectangles()[static_cast<size_t>(i)].erased;
  for (int64_t i = 0; i < y.size(); ++i) {
    ASSERT_GE(y[i], 0.0f);
    ASSERT_LE(y[i], 1.0f);
    changed += y[i] != 0.5f;
    at_zero += y[i] == 0.0f;
  }
  EXPECT_NEAR(static_cast<double>(erased), batch / 2.0, 5 * std::sqrt(batch * 0.25));
  EXPECT_GT(changed, 0);
  // About half the noise is negative and clips to 0.
  EXPECT_GT(at_zero, changed / 3);
}
