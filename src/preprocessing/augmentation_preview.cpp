// The augmentation preview grid: originals and their random augmentations side by side.

#include "regula/preprocessing/augmentation_preview.hpp"

#include <algorithm>

#include "regula/error.hpp"
#include "regula/preprocessing/image.hpp"
#include "regula/utils/random.hpp"

namespace regula::preprocessing {

Tensor augmentation_preview(const ImageDataGenerator& generator, const Tensor& images,
                            const AugmentationPreviewOptions& options) {
  if (images.rank() != 4 || images.dim(0) < 1)
    throw ShapeError("augmentation_preview: images must be (N >= 1, height, width, channels); got " + images.shape().to_string());
  if (options.variants < 1 || options.scale < 1 || options.padding < 0)
    throw ValueError("augmentation_preview: variants=" + std::to_string(options.variants) + ", scale=" +
                     std::to_string(options.scale) + ", padding=" + std::to_string(options.padding) +
                     "; variants and scale must be >= 1 and padding >= 0");
  const int64_t n = images.dim(0), h = images.dim(1), w = images.dim(2), c = images.dim(3);
  const int64_t columns = 1 + options.variants;
  const int64_t tile_h = h * options.scale, tile_w = w * options.scale, pad = options.padding;
  const Shape image_shape{h, w, c};
  const float background = *std::max_element(images.data(), images.data() + images.size());
  Tensor grid({n * tile_h + (n + 1) * pad, columns * tile_w + (columns + 1) * pad, c}, background);
  Tensor tile(image_shape);
  const CounterRng seeds(options.seed);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < columns; ++k) {
      const float* source = images.data() + i * h * w * c;
      if (k == 0)
        std::copy(source, source + h * w * c, tile.data());
      else
        generator.apply_transform(source, tile.data(), image_shape,
                                  generator.get_random_transform(image_shape, seeds.bits(static_cast<uint64_t>(i * columns + k))));
      const int64_t top = pad + i * (tile_h + pad), left = pad + k * (tile_w + pad);
      for (int64_t y = 0; y < tile_h; ++y)
        for (int64_t x = 0; x < tile_w; ++x)
          for (int64_t ch = 0; ch < c; ++ch)
            grid[((top + y) * grid.dim(1) + left + x) * c + ch] =
                tile[((y / options.scale) * w + x / options.scale) * c + ch];
    }
  return grid;
}

void save_augmentation_preview(const std::string& path, const ImageDataGenerator& generator, const Tensor& images,
                               const AugmentationPreviewOptions& options) {
  save_img(path, augmentation_preview(generator, images, options), {.scale = true});
}

}  // namespace regula::preprocessing
