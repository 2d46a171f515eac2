#pragma once
/// @file
/// RandomErasing (Keras 3 `keras.layers.RandomErasing`; Zhong et al. 2020): replaces a random
/// rectangle of some training images by noise or a constant.
///
/// Per image, as Keras 3's code draws it:
/// - whether: p uniform in the resolved `factor` range, and the image is erased when another
///   uniform draw is below p. Keras resolves a number f to (0, f), so the default factor 1.0
///   erases half of the images on average (p uniform in [0, 1)); the range (1, 1) erases every
///   image.
/// - the rectangle: u₁, u₂ uniform in the resolved `scale` range; width √u₁·W and height √u₂·H
///   (not rounded), its top-left corner uniform in [0, W − width) × [0, H − height); pixels whose
///   index lies in [start, start + size) on both axes are erased, in every channel.
/// - the fill: with no `fill_value` (Keras's None) Gaussian noise N(0, 1)·value_range[1] per
///   value; one number: that value; one number per channel: those values.
/// The output is clipped to `value_range` (Keras's default (0, 255); (0, 1) for images scaled to
/// [0, 1]). `factor` and `scale` follow Keras's factor rule with bounds [0, 1].
///
/// Gradient: the output's gradient where the value was kept and inside value_range, zero where
/// erased or clipped. Identity at inference; randomness as layers/image_augmentation.hpp.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "regula/layers/augmentation_factor.hpp"
#include "regula/layers/image_augmentation.hpp"

namespace regula::layers {

/// RandomErasing options, in Keras's order.
struct RandomErasingOptions {
  /// The probability range of erasing an image (see the file comment).
  AugmentationFactor factor = 1.0;
  /// The range of the rectangle's area fractions u₁, u₂.
  AugmentationFactor scale = AugmentationFactor(0.02, 0.33);
  /// Empty (Keras's None): noise. One value, or one per channel: a constant fill.
  std::vector<double> fill_value = {};
  /// The images' range (lower < upper); outputs are clipped to it.
  std::array<double, 2> value_range = {0.0, 255.0};
  /// −1 (Keras's None): derive the layer's stream from the global seed.
  int64_t seed = -1;
  std::string name = "";
};

class RandomErasing final : public LayerBase<RandomErasing, ImageAugmentation> {
 public:
  explicit RandomErasing(RandomErasingOptions options = {});
  std::string class_name() const override { return "RandomErasing"; }
  /// {"factor", "scale" (resolved ranges, as Keras stores them), "fill_value" (null for noise),
  /// "value_range", "seed"}.
  nlohmann::json get_config() const override;

  /// One image's erased rectangle in pixels, [row_begin, row_end) × [col_begin, col_end) as
  /// real bounds (a pixel index i is inside when begin ≤ i < end); empty when not erased.
  struct Rectangle {
    bool erased = false;
    double row_begin = 0;
    double row_end = 0;
    double col_begin = 0;
    double col_end = 0;
    bool contains(int64_t row, int64_t col) const {
      return erased && row >= row_begin && row < row_end && col >= col_begin && col < col_end;
    }
  };
  /// The rectangles of the last training pass, one per image.
  const std::vector<Rectangle>& last_rectangles() const { return rectangles_; }

 protected:
  /// Also checks fill_value against the channels.
  Shape build_impl(const std::vector<Shape>& input_shapes) override;
  void augment(const Tensor& images, Tensor& output, const CounterRng& step) override;
  void augment_backward(const Tensor& images, const Tensor& grad_output, Tensor& grad_input) override;

 private:
  RandomErasingOptions options_;
  std::array<double, 2> factor_range_;
  std::array<double, 2> scale_range_;
  std::vector<Rectangle> rectangles_;
};

}  // namespace regula::layers
