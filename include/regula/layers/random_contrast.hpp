#pragma once
/// @file
/// RandomContrast (Keras 3 `keras.layers.RandomContrast`): scales each training image's contrast
/// by its own random factor.
///
/// Per image, one factor c for all channels; per image and channel the mean m over height and
/// width; output = clip((x − m)·c + m, value_range). The range of c follows Keras 3's code:
/// `factor` (a range (lower, upper) with lower ≤ 1 and upper ≥ 0, or a number f in [0, 1]) is
/// resolved by Keras's rule to (max(−|f|, 0), |f|) = (0, f) for a number, and c is drawn from
/// [1 − lower, 1 + upper]. So a number f only raises contrast (c in [1, 1 + f]); Keras's
/// documentation says [1 − f, 1 + f], which the range (f, f) gives. `value_range` is the
/// images' range (Keras's default (0, 255); (0, 1) for images scaled to [0, 1]).
///
/// Gradient: ∂out_j/∂x_i = c·δij + (1 − c)/(height·width) within an image's channel, zero where
/// the output was clipped. Identity at inference; randomness as layers/image_augmentation.hpp.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "regula/layers/augmentation_factor.hpp"
#include "regula/layers/image_augmentation.hpp"

namespace regula::layers {

/// RandomContrast options, in Keras's order (after `factor`).
struct RandomContrastOptions {
  /// The images' range (lower < upper); outputs are clipped to it.
  std::array<double, 2> value_range = {0.0, 255.0};
  /// −1 (Keras's None): derive the layer's stream from the global seed.
  int64_t seed = -1;
  std::string name = "";
};

class RandomContrast final : public LayerBase<RandomContrast, ImageAugmentation> {
 public:
  explicit RandomContrast(AugmentationFactor factor, RandomContrastOptions options = {});
  std::string class_name() const override { return "RandomContrast"; }
  /// {"factor": [lower, upper] (resolved, as Keras stores it), "value_range", "seed"}.
  nlohmann::json get_config() const override;
  /// The range of the contrast factor c: [1 − lower, 1 + upper].
  std::array<double, 2> contrast_range() const { return {1.0 - range_[0], 1.0 + range_[1]}; }

 protected:
  void augment(const Tensor& images, Tensor& output, const CounterRng& step) override;
  void augment_backward(const Tensor& images, const Tensor& grad_output, Tensor& grad_input) override;

 private:
  std::array<double, 2> range_;
  RandomContrastOptions options_;
  /// Per image of the last training pass: its factor; per image and channel: its mean.
  std::vector<float> factors_;
  std::vector<float> means_;
};

}  // namespace regula::layers
