#pragma once
/// @file
/// GaussianNoise (Keras `keras.layers.GaussianNoise`): additive zero-centred Gaussian noise.
///
/// In training (`ForwardContext::training`): output = input + ε, ε ~ N(0, stddev²) drawn
/// independently per element; ∂output/∂input = 1. At inference, or with stddev 0, the output
/// equals the input. Any shape.
///
/// Randomness as Dropout's (layers/dropout.hpp): ε at element i is a pure function of (layer key,
/// training step, i) — a standard normal by Box–Muller from two 32-bit counter-based draws — so a
/// step repeats and does not depend on the thread count.

#include <cstdint>
#include <string>

#include "regula/layers/layer.hpp"

namespace regula::layers {

/// GaussianNoise options, in Keras's order (after `stddev`).
struct GaussianNoiseOptions {
  /// −1 (Keras's None): derive the layer's stream from the global seed.
  int64_t seed = -1;
  std::string name = "";
};

class GaussianNoise final : public LayerBase<GaussianNoise> {
 public:
  /// `stddev`, the noise's standard deviation, must be in [0, 1] (Keras's check).
  explicit GaussianNoise(double stddev, GaussianNoiseOptions options = {});
  std::string class_name() const override { return "GaussianNoise"; }
  void forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext& context) override;
  void backward(const std::vector<const Tensor*>& inputs, const Tensor& output, const Tensor& grad_output,
                const std::vector<Tensor*>& grad_inputs) override;
  /// {"stddev", "seed" (null for none)} besides name/trainable, as Keras.
  nlohmann::json get_config() const override;
  double stddev() const { return stddev_; }

 protected:
  Shape build_impl(const std::vector<Shape>& input_shapes) override;

 private:
  double stddev_;
  GaussianNoiseOptions options_;
};

}  // namespace regula::layers
