// The augmentation preview grid: layout, originals in the first column, augmentations beside them.

#include <gtest/gtest.h>

#include <filesystem>

#include "regula/preprocessing/augmentation_preview.hpp"
#include "regula/preprocessing/image.hpp"
#include "regula/regula.hpp"

namespace rg = regula;
namespace pp = regula::preprocessing;

TEST(AugmentationPreview, GridHoldsEachOriginalThenItsAugmentations) {
  rg::Rng rng(1);
  rg::Tensor images({2, 5, 4, 1});
  for (float& v : images.values()) v = static_cast<float>(rng.uniform());
  const pp::ImageDataGenerator generator({.rotation_range = 30, .horizontal_flip = true});
  const pp::AugmentationPreviewOptions options{.variants = 3, .seed = 4, .scale = 2, .padding = 1};
  const rg::Tensor grid = pp::augmentation_preview(generator, images, options);
  // 2 rows of 5·2-pixel tiles and 4 columns (original + 3) of 4·2-pixel tiles, 1 pixel apart.
  ASSERT_EQ(grid.shape(), (rg::Shape{2 * 10 + 3, 4 * 8 + 5, 1}));
  auto at = [&](int64_t row, int64_t column, int64_t y, int64_t x) {  // pixel (y, x) of a tile, before scaling
    return grid[(1 + row * 11 + 2 * y) * grid.dim(1) + 1 + column * 9 + 2 * x];
  };
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t y = 0; y < 5; ++y)
      for (int64_t x = 0; x < 4; ++x) EXPECT_EQ(at(i, 0, y, x), images[(i * 5 + y) * 4 + x]);
  // The augmented tiles are the generator's random transforms, so they differ from the original.
  bool differs = false;
  for (int64_t y = 0; y < 5; ++y)
    for (int64_t x = 0; x < 4; ++x) differs = differs || at(0, 1, y, x) != at(0, 0, y, x);
  EXPECT_TRUE(differs);
  // The padding takes the images' largest value.
  const float largest = *std::max_element(images.data(), images.data() + images.size());
  EXPECT_EQ(grid[0], largest);
}

TEST(AugmentationPreview, WritesAnImageFileAndRefusesBadArguments) {
  const auto path = std::filesystem::temp_directory_path() / "regula_augmentation_preview_test.png";
  rg::Tensor images({3, 6, 6, 1}, 0.5f);
  images[0] = 1.0f;
  pp::save_augmentation_preview(path.string(), pp::ImageDataGenerator({.zoom_range = 0.2}), images, {.variants = 2});
  const pp::Image written = pp::load_img(path.string(), {.color_mode = "grayscale"});
  EXPECT_EQ(written.height, 3 * 18 + 4 * 4);
  EXPECT_EQ(written.width, 3 * 18 + 4 * 4);
  std::filesystem::remove(path);
  EXPECT_THROW(pp::augmentation_preview(pp::ImageDataGenerator(), rg::Tensor({6, 6, 1})), rg::ShapeError);
  EXPECT_THROW(pp::augmentation_preview(pp::ImageDataGenerator(), images, {.variants = 0}), rg::ValueError);
}
