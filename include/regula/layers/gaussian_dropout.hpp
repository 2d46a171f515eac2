#pragma once
/// @file
/// GaussianDropout (Keras `keras.layers.GaussianDropout`): multiplicative 1-centred Gaussian noise.
///
/// In training (`ForwardContext::training`) and rate > 0:
///     output = input · n,  n ~ N(1, σ²),  σ = √(rate / (1 − rate)),
/// drawn independently per element (E[output] = input; σ² is the variance of inverted Bernoulli
/// dropout at the same rate); ∂output/∂input = n. At inference, or with rate 0, the output equals
/// the input. Any shape.
///
/// Randomness as GaussianNoise's (layers/gaussian_noise.hpp): n at element i is a pure function of
/// (layer key, training step, i), so a step repeats and does not depend on the thread count.

#include <cstdint>
#include <string>

#include "regula/layers/layer.hpp"

namespace regula::layers {

/// GaussianDropout options, in Keras's order (after `rate`).
struct GaussianDropoutOptions {
  /// −1 (Keras's None): derive the layer's stream from the global seed.
  int64_t seed = -1;
  std::string name = "";
};

class GaussianDropout final : public LayerBase<GaussianDropout> {
 public:
  /// `rate`, the drop probability the noise imitates, must be in [0, 1).
  explicit GaussianDropout(double rate, GaussianDropoutOptions options = {});
  std::string class_name() const override { return "GaussianDropout"; }
  void forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext& context) override;
  void backward(const std::vector<const Tensor*>& inputs, const Tensor& output, const Tensor& grad_output,
                const std::vector<Tensor*>& grad_inputs) override;
  /// {"rate", "seed" (null for none)} besides name/trainable, as Keras.
  nlohmann::json get_config() const override;
  double rate() const { return rate_; }

 protected:
  Shape build_impl(const std::vector<Shape>& input_shapes) override;

 private:
  double rate_;
  GaussianDropoutOptions options_;
  /// Per-element factor n of the last pass; kept (with its storage) between steps.
  Tensor scale_;
  /// Whether the last pass applied `scale_` (false: it was the identity).
  bool masked_ = false;
};

}  // namespace regula::layers
