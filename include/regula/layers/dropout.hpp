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
#include "regula/utils/random.hpp"

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
  /// Fusion: Dropout folds into the pass before it as its mask (1 / (1 − rate) when kept, 0 when
  /// dropped), the same mask its own forward pass would apply.
  std::optional<TailStep> tail_step() const override { return TailStep::kMask; }
  void add_to_tail(ElementwiseTail& tail, const ForwardContext& context) const override;

 protected:
  Shape build_impl(const std::vector<Shape>& input_shapes) override;

 private:
  double rate_;
  DropoutOptions options_;
  /// The last forward pass's mask: backward recomputes it from (key, step, index) instead of
  /// keeping one factor per element in memory.
  ElementMask last_mask_;

  /// The mask a forward pass in `context` applies (a pure function of the layer's key and the
  /// step; inactive at inference and for rate 0).
  ElementMask mask(const ForwardContext& context) const;
};

}  // namespace regula::layers
