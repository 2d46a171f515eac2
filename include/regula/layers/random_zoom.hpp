#pragma once
/// @file
/// RandomZoom (Keras 3 `keras.layers.RandomZoom`): zooms each training image in or out by its own
/// random factor about the centre of the pixel grid.
///
/// `height_factor` and `width_factor` are fractions (every value in [−1, 1], Keras's rule): a
/// number f draws the vertical zoom z from [1 − f, 1 + f], a range (lower, upper) from
/// [1 + lower, 1 + upper]. Each output pixel reads the input at centre + z·(pixel − centre), so
/// z > 1 (a positive factor) zooms out — the content shrinks — and z < 1 zooms in. Without
/// `width_factor` (Keras's None) the horizontal zoom is the vertical one, which keeps the aspect
/// ratio. Filling (Keras's default "reflect"), interpolation, gradient and randomness as
/// layers/affine_augmentation.hpp; identity at inference.

#include <optional>

#include "regula/layers/affine_augmentation.hpp"
#include "regula/layers/augmentation_factor.hpp"

namespace regula::layers {

class RandomZoom final : public LayerBase<RandomZoom, AffineAugmentation> {
 public:
  explicit RandomZoom(AugmentationFactor height_factor, std::optional<AugmentationFactor> width_factor = std::nullopt,
                      AffineAugmentationOptions options = {});
  std::string class_name() const override { return "RandomZoom"; }
  /// {"height_factor", "width_factor" (null for none)} as given, besides the shared keys.
  nlohmann::json get_config() const override;

 protected:
  imaging::AffineMap draw_map(const CounterRng& step, uint64_t first_counter, int64_t height,
                              int64_t width) const override;

 private:
  AugmentationFactor height_factor_;
  std::optional<AugmentationFactor> width_factor_;
  std::array<double, 2> height_range_;
  std::optional<std::array<double, 2>> width_range_;
};

}  // namespace regula::layers
