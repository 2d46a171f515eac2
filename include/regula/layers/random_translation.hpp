#pragma once
/// @file
/// RandomTranslation (Keras 3 `keras.layers.RandomTranslation`): shifts each training image by
/// its own random offset.
///
/// `height_factor` and `width_factor` are fractions of the height and width: a number f draws
/// the shift from [−f, f]·size, a range (lower, upper) from [lower, upper]·size (every value in
/// [−1, 1], Keras's rule). The shifts are in pixels, not rounded; a positive height shift moves
/// the content down, a positive width shift moves it right. The height shift is drawn first.
/// Filling (Keras's default "reflect"), interpolation, gradient and randomness as
/// layers/affine_augmentation.hpp; identity at inference.

#include "regula/layers/affine_augmentation.hpp"
#include "regula/layers/augmentation_factor.hpp"

namespace regula::layers {

class RandomTranslation final : public LayerBase<RandomTranslation, AffineAugmentation> {
 public:
  RandomTranslation(AugmentationFactor height_factor, AugmentationFactor width_factor,
                    AffineAugmentationOptions options = {});
  std::string class_name() const override { return "RandomTranslation"; }
  /// {"height_factor", "width_factor"} as given, besides the shared keys.
  nlohmann::json get_config() const override;

 protected:
  imaging::AffineMap draw_map(const CounterRng& step, uint64_t first_counter, int64_t height,
                              int64_t width) const override;

 private:
  AugmentationFactor height_factor_;
  AugmentationFactor width_factor_;
  std::array<double, 2> height_range_;
  std::array<double, 2> width_range_;
};

}  // namespace regula::layers
