#pragma once
/// @file
/// SpatialDropout2D (Keras `keras.layers.SpatialDropout2D`): dropout of whole feature maps.
///
/// Input (batch, rows, cols, channels) (NHWC, Keras's "channels_last"); output the same shape.
/// In training (`ForwardContext::training`) each (sample, channel) pair is kept with probability
/// 1 − rate, its whole rows × cols map scaled by 1 / (1 − rate), or set to 0 everywhere:
///     output[b, i, j, c] = input[b, i, j, c] · m[b, c],  m[b, c] ∈ {0, 1/(1 − rate)},
/// so E[output] = input. This is Keras's Dropout with noise_shape = (batch, 1, 1, channels). At
/// inference, or with rate 0, the output equals the input.
///
/// Randomness as Dropout's (layers/dropout.hpp): m[b, c] is a pure function of (layer key, training
/// step, b · channels + c), so a step repeats and does not depend on the thread count.
///
/// Not supported: data_format "channels_first" (regula's images are NHWC).

#include <cstdint>
#include <string>

#include "regula/layers/layer.hpp"

namespace regula::layers {

/// SpatialDropout2D options, in Keras's order (after `rate`).
struct SpatialDropout2DOptions {
  /// Only "channels_last" (Keras's default `None` resolves to it).
  std::string data_format = "channels_last";
  /// −1 (Keras's None): derive the layer's stream from the global seed.
  int64_t seed = -1;
  std::string name = "";
};

class SpatialDropout2D final : public LayerBase<SpatialDropout2D> {
 public:
  /// `rate`, the fraction of channels to drop, must be in [0, 1).
  explicit SpatialDropout2D(double rate, SpatialDropout2DOptions options = {});
  std::string class_name() const override { return "SpatialDropout2D"; }
  void forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext& context) override;
  void backward(const std::vector<const Tensor*>& inputs, const Tensor& output, const Tensor& grad_output,
                const std::vector<Tensor*>& grad_inputs) override;
  /// {"rate", "seed" (null for none), "data_format"} besides name/trainable, as Keras.
  nlohmann::json get_config() const override;
  double rate() const { return rate_; }

 protected:
  Shape build_impl(const std::vector<Shape>& input_shapes) override;

 private:
  double rate_;
  SpatialDropout2DOptions options_;
  /// Per-(sample, channel) factor of the last pass, shape (batch, channels).
  Tensor scale_;
  /// Whether the last pass applied `scale_` (false: it was the identity).
  bool masked_ = false;
};

}  // namespace regula::layers
