#pragma once
/// @file
/// RandomFlip (Keras 3 `keras.layers.RandomFlip`): flips training images with probability 1/2.
///
/// `mode` is "horizontal" (left-right), "vertical" (top-bottom) or "horizontal_and_vertical"
/// (Keras's default). As Keras 3 does, one draw per image decides: in "horizontal_and_vertical"
/// an image is either flipped both ways (a half turn) or left as it is, never flipped one way
/// only. Keras silently ignores an unknown mode; regula refuses it (ValueError). A flip only
/// moves values, so the gradient is the same flip of the output's gradient. Identity at
/// inference; randomness as layers/image_augmentation.hpp.

#include <cstdint>
#include <string>
#include <vector>

#include "regula/layers/image_augmentation.hpp"

namespace regula::layers {

/// RandomFlip options, in Keras's order (after `mode`).
struct RandomFlipOptions {
  /// −1 (Keras's None): derive the layer's stream from the global seed.
  int64_t seed = -1;
  std::string name = "";
};

class RandomFlip final : public LayerBase<RandomFlip, ImageAugmentation> {
 public:
  explicit RandomFlip(std::string mode = "horizontal_and_vertical", RandomFlipOptions options = {});
  std::string class_name() const override { return "RandomFlip"; }
  /// {"mode", "seed" (null for none), "data_format"} besides name/trainable/dtype, as Keras.
  nlohmann::json get_config() const override;
  const std::string& mode() const { return mode_; }

 protected:
  void augment(const Tensor& images, Tensor& output, const CounterRng& step) override;
  void augment_backward(const Tensor& images, const Tensor& grad_output, Tensor& grad_input) override;

 private:
  /// Applies each image's flip (from `flipped_`) to `source`, writing `destination`.
  void flip_images(const Tensor& source, Tensor& destination) const;

  std::string mode_;
  bool horizontal_;
  bool vertical_;
  /// Which images the last training pass flipped.
  std::vector<uint8_t> flipped_;
};

}  // namespace regula::layers
