#pragma once
/// @file
/// A picture of what an ImageDataGenerator does: a grid with one row per image, the original
/// first and then random augmentations of it (the figure of the article's "Data Augmentation"
/// section). `regula augment-preview` writes one for an experiment file.
///
/// ```cpp
/// preprocessing::save_augmentation_preview("preview.png", datagen, x_train.slice_rows(0, 8));
/// ```

#include <cstdint>
#include <string>

#include "regula/preprocessing/image_data_generator.hpp"

namespace regula::preprocessing {

struct AugmentationPreviewOptions {
  /// Augmented copies shown beside each original.
  int64_t variants = 7;
  /// Seed of the random transforms (variant k of image i uses a seed derived from it, i and k).
  uint64_t seed = 0;
  /// Each image pixel is drawn as scale × scale pixels.
  int64_t scale = 3;
  /// Pixels of background between tiles (after scaling).
  int64_t padding = 4;
};

/// The grid as a float (rows, columns, channels) image in the images' own value range; the
/// background takes the largest value. Only the random transforms are applied (no
/// standardization), so the tiles stay comparable. Throws ShapeError unless `images` is
/// (N ≥ 1, H, W, C), ValueError for variants < 1, scale < 1 or padding < 0.
Tensor augmentation_preview(const ImageDataGenerator& generator, const Tensor& images,
                            const AugmentationPreviewOptions& options = {});

/// Writes `augmentation_preview` as an image file (PNG, JPEG or BMP by extension), the grid's
/// value range mapped to 0..255.
void save_augmentation_preview(const std::string& path, const ImageDataGenerator& generator, const Tensor& images,
                               const AugmentationPreviewOptions& options = {});

}  // namespace regula::preprocessing
