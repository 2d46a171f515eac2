// Image files and arrays (regula/preprocessing/image.hpp): save_img / load_img round trips,
// PIL's grayscale conversion, nearest and bilinear resizing on tiny known images, array_to_img's
// scaling rule and the error messages.

#include "regula/preprocessing/image.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <string>

#include "regula/error.hpp"
#include "test_support.hpp"

namespace {

namespace pp = regula::preprocessing;
using regula::Shape;
using regula::Tensor;
using regula::testing_support::expect_error;
using regula::testing_support::TemporaryDirectory;

class ImageIoTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return directory_.file(name); }

  TemporaryDirectory directory_;
};

std::vector<float> values_of(const Tensor& t) { return {t.values().begin(), t.values().end()}; }

// A (height, width, channels) tensor holding 0, 7, 14, ... (mod 256).
Tensor ramp(int64_t height, int64_t width, int64_t channels) {
  Tensor x(Shape{height, width, channels});
  for (int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 7) % 256);
  return x;
}

TEST_F(ImageIoTest, PngAndBmpRoundTripExactly) {
  for (const char* name : {"rgb.png", "rgb.bmp"}) {
    const Tensor x = ramp(2, 3, 3);
    pp::save_img(path(name), x, {.scale = false});
    const pp::Image img = pp::load_img(path(name));
    EXPECT_EQ(img.width, 3);
    EXPECT_EQ(img.height, 2);
    EXPECT_EQ(img.channels, 3);
    EXPECT_EQ(values_of(pp::img_to_array(img)), values_of(x)) << name;
  }
  const Tensor rgba = ramp(3, 2, 4);
  pp::save_img(path("rgba.png"), rgba, {.scale = false});
  EXPECT_EQ(values_of(pp::img_to_array(pp::load_img(path("rgba.png"), {.color_mode = "rgba"}))), values_of(rgba));
  // "rgb" drops the alpha channel.
  const Tensor rgb = pp::img_to_array(pp::load_img(path("rgba.png")));
  ASSERT_EQ(rgb.shape(), (Shape{3, 2, 3}));
  EXPECT_EQ(rgb[3], rgba[4]);

  const Tensor grey = ramp(4, 5, 1);
  pp::save_img(path("grey.png"), grey, {.scale = false});
  const Tensor grey_back = pp::img_to_array(pp::load_img(path("grey.png"), {.color_mode = "grayscale"}));
  EXPECT_EQ(grey_back.shape(), (Shape{4, 5, 1}));
  EXPECT_EQ(values_of(grey_back), values_of(grey));
  // A grey file loaded as "rgb" repeats the grey value in each channel.
  const Tensor grey_rgb = pp::img_to_array(pp::load_img(path("grey.png")));
  EXPECT_EQ(grey_rgb[3 * 7 + 0], grey[7]);
  EXPECT_EQ(grey_rgb[3 * 7 + 2], grey[7]);
}

TEST_F(ImageIoTest, JpegRoundTripIsClose) {
  Tensor x(Shape{16, 16, 3});
  for (int64_t i = 0; i < x.size(); i += 3) {
    x[i] = 200;
    x[i + 1] = 100;
    x[i + 2] = 50;
  }
  pp::save_img(path("flat.jpg"), x, {.scale = false, .quality = 95});
  const Tensor back = pp::img_to_array(pp::load_img(path("flat.jpg")));
  ASSERT_EQ(back.shape(), x.shape());
  for (int64_t i = 0; i < x.size(); ++i) EXPECT_NEAR(back[i], x[i], 3.0f) << i;
  // The format can come from file_format instead of the extension.
  pp::save_img(path("image.data"), x, {.scale = false, .file_format = "PNG"});
  EXPECT_EQ(values_of(pp::img_to_array(pp::load_img(path("image.data")))), values_of(x));
}

TEST_F(ImageIoTest, GrayscaleIsPilLuma) {
  // Pure red, green and blue give PIL's 76, 150 and 29; (10, 200, 30) gives 124.
  Tensor x(Shape{1, 4, 3}, {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 200, 30});
  pp::save_img(path("colors.png"), x, {.scale = false});
  const Tensor grey = pp::img_to_array(pp::load_img(path("colors.png"), {.color_mode = "grayscale"}));
  ASSERT_EQ(grey.shape(), (Shape{1, 4, 1}));
  EXPECT_EQ(values_of(grey), (std::vector<float>{76, 150, 29, 124}));
}

TEST_F(ImageIoTest, ResizesWithNearestAndBilinear) {
  // 2×2 grey image, nearest up to 4×4: every pixel becomes a 2×2 block.
  pp::save_img(path("2x2.png"), Tensor(Shape{2, 2, 1}, {0, 100, 200, 255}), {.scale = false});
  const Tensor up = pp::img_to_array(
      pp::load_img(path("2x2.png"), {.color_mode = "grayscale", .target_size = pp::ImageSize{4, 4}}));
  EXPECT_EQ(values_of(up), (std::vector<float>{0, 0, 100, 100, 0, 0, 100, 100, 200, 200, 255, 255, 200, 200, 255, 255}));

  // Nearest down from 4 to 2 columns takes the pixel under each output centre: columns 1 and 3.
  pp::save_img(path("row.png"), Tensor(Shape{1, 4, 1}, {0, 100, 200, 255}), {.scale = false});
  EXPECT_EQ(values_of(pp::img_to_array(pp::load_img(
                path("row.png"), {.color_mode = "grayscale", .target_size = pp::ImageSize{1, 2}}))),
            (std::vector<float>{100, 255}));
  // PIL's bilinear shrinks with a filter widened by the scale (antialiasing).
  EXPECT_EQ(values_of(pp::img_to_array(pp::load_img(path("row.png"), {.color_mode = "grayscale",
                                                                       .target_size = pp::ImageSize{1, 2},
                                                                       .interpolation = "bilinear"}))),
            (std::vector<float>{71, 209}));

  // Bilinear up from [0, 100] to 4 columns: pixel centres at 0.25, 0.75, 1.25, 1.75 of the source.
  pp::save_img(path("pair.png"), Tensor(Shape{1, 2, 1}, {0, 100}), {.scale = false});
  EXPECT_EQ(values_of(pp::img_to_array(pp::load_img(path("pair.png"), {.color_mode = "grayscale",
                                                                        .target_size = pp::ImageSize{1, 4},
                                                                        .interpolation = "bilinear"}))),
            (std::vector<float>{0, 25, 75, 100}));

  // tf.image.resize-style float resizing: no antialiasing, no rounding.
  const Tensor row(Shape{1, 4, 1}, {0, 100, 200, 255});
  EXPECT_EQ(values_of(pp::resize_array(row, {1, 2}, "bilinear")), (std::vector<float>{50, 227.5f}));
  EXPECT_EQ(values_of(pp::resize_array(row, {1, 2}, "nearest")), (std::vector<float>{100, 255}));
}

TEST_F(ImageIoTest, KeepAspectRatioCropsTheCentre) {
  // 2 rows × 4 columns to 2×2: the centre columns 1 and 2 are kept, not squeezed.
  const Tensor x(Shape{2, 4, 1}, {0, 10, 20, 30, 40, 50, 60, 70});
  pp::save_img(path("wide.png"), x, {.scale = false});
  EXPECT_EQ(values_of(pp::img_to_array(pp::load_img(path("wide.png"), {.color_mode = "grayscale",
                                                                        .target_size = pp::ImageSize{2, 2},
                                                                        .keep_aspect_ratio = true}))),
            (std::vector<float>{10, 20, 50, 60}));
  EXPECT_EQ(values_of(pp::smart_resize(x, {2, 2})), (std::vector<float>{10, 20, 50, 60}));
}

TEST_F(ImageIoTest, ArrayToImgScalesLikeKeras) {
  // x − min = (0, 1, 2, 4), / 4 · 255 = (0, 63.75, 127.5, 255), truncated.
  const pp::Image scaled = pp::array_to_img(Tensor(Shape{2, 2, 1}, {-1, 0, 1, 3}));
  EXPECT_EQ(scaled.pixels, (std::vector<uint8_t>{0, 63, 127, 255}));
  EXPECT_EQ(scaled.channels, 1);
  // A constant array has max 0 after subtracting the min: all zeros.
  EXPECT_EQ(pp::array_to_img(Tensor(Shape{1, 2, 3}, 5.0f)).pixels, std::vector<uint8_t>(6, 0));
  // Without scaling values are truncated, and clipped to 0..255.
  EXPECT_EQ(pp::array_to_img(Tensor(Shape{1, 3, 1}, {12.7f, 300, -5}), {.scale = false}).pixels,
            (std::vector<uint8_t>{12, 255, 0}));
}

TEST_F(ImageIoTest, ErrorsNameTheFileOrTheAllowedValues) {
  expect_error<regula::IOError>([&] { pp::load_img(path("missing.png")); }, {path("missing.png")});
  std::mt19937 gen(42);
  std::ofstream corrupt(path("corrupt.png"), std::ios::binary);
  for (int i = 0; i < 200; ++i) corrupt.put(static_cast<char>('A' + gen() % 26));
  corrupt.close();
  expect_error<regula::IOError>([&] { pp::load_img(path("corrupt.png")); }, {path("corrupt.png"), "cannot decode"});

  pp::save_img(path("ok.png"), ramp(2, 2, 3));
  expect_error<regula::ValueError>([&] { pp::load_img(path("ok.png"), {.color_mode = "cmyk"}); },
                                   {"'cmyk'", "'rgb', 'grayscale', 'rgba'"});
  expect_error<regula::ValueError>([&] { pp::load_img(path("ok.png"), {.interpolation = "lanczos"}); },
                                   {"'lanczos'", "'nearest', 'bilinear'"});
  expect_error<regula::ValueError>(
      [&] { pp::load_img(path("ok.png"), {.target_size = pp::ImageSize{0, 3}}); }, {"at least 1"});
  expect_error<regula::ShapeError>([&] { pp::array_to_img(Tensor(Shape{4, 4})); }, {"rank 3", "(4, 4)"});
  expect_error<regula::ShapeError>([&] { pp::array_to_img(Tensor(Shape{4, 4, 2})); },
                                   {"channel count 2", "allowed: 1 (grayscale), 3 (RGB), 4 (RGBA)"});
  expect_error<regula::ValueError>([&] { pp::save_img(path("x.gif"), ramp(2, 2, 3)); },
                                   {"'gif'", "'png', 'jpeg' (or 'jpg'), 'bmp'"});
  expect_error<regula::ValueError>([&] { pp::save_img(path("noext"), ramp(2, 2, 3)); }, {"no extension"});
}

}  // namespace
