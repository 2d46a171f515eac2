#pragma once
/// @file
/// Dropout (Keras `keras.layers.Dropout`): inverted dropout.
///
/// In training (`ForwardContext::training`) each element is kept with probability 1 − rate and
/// scaled by 1 / (1 − rate), or set to 0: E[output] = input. At inference, or with rate 0, the
/// output equals the input. Any shape.
///
/// The mask is a pure function of (layer key, training step, element index) through a counter-based
/// generator, so a step's mask is the same whatever the thread count and is recomputed by the
/// backward pass rather than stored (no mask buffer, one write less in the forward pass); the
/// layer key comes from `seed` when given (≥ 0), else from the global seed (`next_random_key()`,
/// see utils/random.hpp). The drop test uses 32 random bits per element: P(drop) = rate within 2⁻³².
///
/// Keras's `noise_shape` (masks broadcast over some axes) is not supported.

#include <cstdint>
#include <string>

#include "regula/layers/layer.hpp"

namespace regula::layers {

/// Dropout options, in Keras's order (after `rate`).
struct DropoutOptions {
  /// −1 (Keras's None): derive the layer's stream from the global seed.
  int64_t seed = -1;
  std::string name = "";
};

class Dropout final : public LayerBase<Dropout> {
 public:
  /// `rate`, the fraction of inputs to drop, must be in [0, 1).
  explicit Dropout(double rate, DropoutOptions options = {});
  std::string class_name() const override { return "Dropout"; }
  void forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext& context) override;
  void backward(const std::vector<const Tensor*>& inputs, const Tensor& output, const Tensor& grad_output,
                const std::vector<Tensor*>& grad_inputs) override;
  nlohmann::json get_config() const override;
  double rate() const { return rate_; }

 protected:
  Shape build_impl(const std::vector<Shape>& input_shapes) override;

 private:
  double rate_;
  DropoutOptions options_;
  uint64_t key_;
  /// Whether the last pass dropped elements (false: it was the identity), and its step: backward
  /// recomputes that pass's mask from (key, step, index) instead of keeping it in memory.
  bool masked_ = false;
  uint64_t masked_step_ = 0;
};

}  // namespace regula::layers
