#pragma once
/// @file
/// What RandomRotation, RandomTranslation and RandomZoom share (Keras 3's geometric augmentation
/// layers): in training, each image of the batch is warped by its own random affine map, drawn
/// by the layer from its counter-based stream; at inference the output equals the input
/// (layers/image_augmentation.hpp).
///
/// The warp maps every output pixel (row r, column c) to a point of the input in pixel index
/// coordinates (Keras's `affine_transform`, no half-pixel offset) and reads it with `interpolation`
/// ("bilinear" or "nearest"); points outside the image are filled by `fill_mode`:
/// "reflect" dcba|abcd|dcba (Keras's default for these layers), "wrap" abcd|abcd|abcd,
/// "nearest" aaaa|abcd|dddd, "constant" kkkk|abcd|kkkk with k = fill_value. Keras's backends
/// differ at the border of "constant" (TensorFlow blends the fill value into the pixels next to
/// the border); regula fills a point outside the image with k and interpolates inside.
///
/// The warp is linear in the image, so the layer has a gradient: the warp's transpose
/// (imaging::warp_image_transpose), through the same maps as the forward pass of the step.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "regula/imaging/affine_warp.hpp"
#include "regula/layers/image_augmentation.hpp"
#include "regula/utils/random.hpp"

namespace regula::layers {

/// The options the geometric augmentation layers share, with Keras 3's names and defaults.
struct AffineAugmentationOptions {
  /// "reflect", "wrap", "constant" or "nearest" (see the file comment).
  std::string fill_mode = "reflect";
  /// "bilinear" or "nearest".
  std::string interpolation = "bilinear";
  /// −1 (Keras's None): derive the layer's stream from the global seed.
  int64_t seed = -1;
  /// The value of points outside the image with fill_mode "constant".
  double fill_value = 0.0;
  std::string name = "";
};

/// The shared implementation; a concrete layer supplies `draw_map`.
class AffineAugmentation : public ImageAugmentation {
 public:
  /// Besides name/trainable/dtype: fill_mode, interpolation, seed (null for none), fill_value,
  /// data_format ("channels_last"), as Keras.
  nlohmann::json get_config() const override;
  const AffineAugmentationOptions& options() const { return options_; }

 protected:
  /// Checks the options (ValueError naming the layer and the allowed values) and keys the
  /// layer's random stream. `class_name` is the concrete layer's (its messages' prefix: the
  /// virtual class_name is not yet callable while this base is being constructed).
  AffineAugmentation(AffineAugmentationOptions options, const std::string& default_name,
                     const std::string& class_name);
  /// The output→input map of image `image` of a batch of (height, width) images, from the
  /// uniform draws `step.uniform(first_counter + k)` for k = 0, 1, … (at most 4 per image).
  virtual imaging::AffineMap draw_map(const CounterRng& step, uint64_t first_counter, int64_t height,
                                      int64_t width) const = 0;
  void augment(const Tensor& images, Tensor& output, const CounterRng& step) override;
  void augment_backward(const Tensor& images, const Tensor& grad_output, Tensor& grad_input) override;

 private:
  AffineAugmentationOptions options_;
  imaging::WarpOptions warp_options_;
  /// The maps of the last training forward pass, one per image (backward reads them).
  std::vector<imaging::AffineMap> maps_;
};

/// A uniform draw in [range[0], range[1]) from `step` at `counter`.
inline double uniform_in(const CounterRng& step, uint64_t counter, double low, double high) {
  return low + (high - low) * static_cast<double>(step.uniform(counter));
}

}  // namespace regula::layers
