#pragma once
/// @file
/// What every augmentation layer (RandomFlip, RandomRotation, RandomTranslation, RandomZoom,
/// RandomContrast, RandomErasing) shares: images of shape (batch, height, width, channels),
/// channels last; in training a random transformation per image, drawn from the layer's
/// counter-based stream (a pure function of layer key, training step and image index, so a step
/// repeats and does not depend on the thread count); at inference — and in the clean passes of
/// batch-normalization recalibration — the output equals the input and so does the gradient.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "regula/layers/layer.hpp"
#include "regula/utils/random.hpp"

namespace regula::layers {

class ImageAugmentation : public Layer {
 public:
  void forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext& context) final;
  void backward(const std::vector<const Tensor*>& inputs, const Tensor& output, const Tensor& grad_output,
                const std::vector<Tensor*>& grad_inputs) final;
  /// The seed given (−1: none, the stream comes from the global seed).
  int64_t seed() const { return seed_; }

 protected:
  /// `class_name` is the concrete layer's, for messages (the virtual class_name is not callable
  /// while this base is being constructed). Throws ValueError for seed < −1.
  ImageAugmentation(const std::string& name, const std::string& default_name, int64_t seed,
                    const std::string& class_name);
  /// Writes the augmented `images` to `output`, drawing from `step` (the generator of this
  /// training step); keeps what augment_backward needs.
  virtual void augment(const Tensor& images, Tensor& output, const CounterRng& step) = 0;
  /// The gradient of the last `augment` with respect to its images.
  virtual void augment_backward(const Tensor& images, const Tensor& grad_output, Tensor& grad_input) = 0;
  /// Expects one input of shape (height, width, channels) of fewer than 2³¹ values; the output
  /// has the same shape.
  Shape build_impl(const std::vector<Shape>& input_shapes) override;
  /// Keras's "seed" entry of get_config: the seed, or null for none.
  nlohmann::json seed_config() const;

 private:
  int64_t seed_;
  /// Whether the last forward pass augmented (training) or passed the images through.
  bool augmented_ = false;
};

/// Throws ValueError naming `where` unless `range` is finite with lower < upper (Keras's
/// `value_range` of RandomContrast and RandomErasing).
void check_value_range(const std::array<double, 2>& range, const std::string& where);

}  // namespace regula::layers
