#pragma once
/// @file
/// RandomRotation (Keras 3 `keras.layers.RandomRotation`): rotates each training image by its own
/// random angle about the centre of the pixel grid ((height − 1)/2, (width − 1)/2).
///
/// `factor` is a fraction of a full turn: a number f draws the angle uniformly from
/// [−f·2π, f·2π], a range (lower, upper) from [lower·2π, upper·2π]; positive angles turn the
/// content counter-clockwise. Keras's rule for the factor: a number must be in [−1, 1]; a range
/// is refused only when lower > 1 or upper < −1. Filling, interpolation, gradient and randomness
/// as layers/affine_augmentation.hpp; identity at inference.

#include "regula/layers/affine_augmentation.hpp"
#include "regula/layers/augmentation_factor.hpp"

namespace regula::layers {

class RandomRotation final : public LayerBase<RandomRotation, AffineAugmentation> {
 public:
  explicit RandomRotation(AugmentationFactor factor, AffineAugmentationOptions options = {});
  std::string class_name() const override { return "RandomRotation"; }
  /// {"factor": [lower, upper] (the resolved range, as Keras stores it)} besides the shared keys.
  nlohmann::json get_config() const override;
  /// The angles' range, in fractions of a full turn.
  std::array<double, 2> factor() const { return range_; }

 protected:
  imaging::AffineMap draw_map(const CounterRng& step, uint64_t first_counter, int64_t height,
                              int64_t width) const override;

 private:
  std::array<double, 2> range_;
};

}  // namespace regula::layers
