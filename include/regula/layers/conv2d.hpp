#pragma once
/// @file
/// Conv2D (Keras `keras.layers.Conv2D`): output = activation(conv2d(input, kernel) + bias).
///
/// Input (batch, height, width, in_channels) → output (batch, out_h, out_w, filters), NHWC
/// (Keras's channels_last). The kernel is (kernel_h, kernel_w, in_channels, filters) and the bias
/// (filters), as in Keras. Cross-correlation, as every deep-learning framework computes it.
///
/// Output size per spatial axis (Keras's rules):
/// - "valid": out = ⌊(in − k) / stride⌋ + 1; an input smaller than the kernel is a ShapeError.
/// - "same":  out = ⌈in / stride⌉; pad_total = max((out − 1)·stride + k − in, 0),
///            pad_before = ⌊pad_total / 2⌋ (the odd one goes after, as in TensorFlow).
///
/// Defaults as Keras: strides (1, 1), "valid", no activation, bias on, glorot_uniform kernel
/// (fan_in = kh·kw·in, fan_out = kh·kw·filters), zero bias. Not supported: data_format other than
/// channels_last, dilation_rate ≠ 1, groups ≠ 1.
///
/// Under a mixed_bfloat16 dtype policy (layers/dtype_policy.hpp) the convolution's products are
/// computed in bfloat16, except for patches of at most `kFloat32PatchLimit` (32) values (kh·kw·in_c,
/// e.g. a 3×3 first layer on grey images), which compute in float32: they run as direct loops,
/// not as a matrix product, so bfloat16 would only add rounding passes.
///
/// This header also holds the 2-D window geometry shared with the pooling layers (`Size2D`,
/// `Padding`, `window_output_length`).

#include <cstdint>
#include <string>

#include "regula/layers/activations.hpp"
#include "regula/layers/layer.hpp"

namespace regula::layers {

/// A (height, width) pair that, like Keras's int-or-tuple arguments, accepts one number for both:
/// `Conv2D(64, 3)` and `Conv2D(64, {3, 3})` mean the same.
struct Size2D {
  int64_t h = 1;
  int64_t w = 1;
  Size2D() = default;
  Size2D(int64_t both) : h(both), w(both) {}  // NOLINT: implicit on purpose, as Keras's int form
  Size2D(int64_t height, int64_t width) : h(height), w(width) {}
  friend bool operator==(const Size2D&, const Size2D&) = default;
};

/// Keras's `padding` argument of the 2-D window layers.
enum class Padding { valid, same };

/// Parses "valid" / "same" (case-insensitive, as Keras); throws ValueError naming `where`.
Padding parse_padding(const std::string& padding, const std::string& where);
std::string padding_name(Padding padding);

/// Output length and leading padding of one spatial axis for a window of `window` values moved by
/// `stride` (rules above). Returns an output length <= 0 when a "valid" window does not fit.
struct AxisGeometry {
  int64_t out = 0;
  int64_t pad_before = 0;
};
AxisGeometry window_output_length(int64_t in, int64_t window, int64_t stride, Padding padding);

/// Patches (kh·kw·in_c) of at most this many values compute in float32 under every policy.
inline constexpr int64_t kFloat32PatchLimit = 32;

/// Conv2D options, in Keras's argument order (after `filters` and `kernel_size`).
struct Conv2DOptions {
  Size2D strides = {1, 1};
  std::string padding = "valid";
  std::string activation = "linear";
  bool use_bias = true;
  std::string kernel_initializer = "glorot_uniform";
  std::string bias_initializer = "zeros";
  regularizers::RegularizerPtr kernel_regularizer = nullptr;
  regularizers::RegularizerPtr bias_regularizer = nullptr;
  regularizers::RegularizerPtr activity_regularizer = nullptr;
  constraints::ConstraintPtr kernel_constraint = nullptr;
  constraints::ConstraintPtr bias_constraint = nullptr;
  std::string name = "";
};

class Conv2D final : public LayerBase<Conv2D> {
 public:
  /// `filters`, the kernel size and the strides must be positive; `padding` "valid" or "same";
  /// the activation and initializers must be known names.
  Conv2D(int64_t filters, Size2D kernel_size, Conv2DOptions options = {});
  std::string class_name() const override { return "Conv2D"; }
  void forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext& context) override;
  void backward(const std::vector<const Tensor*>& inputs, const Tensor& output, const Tensor& grad_output,
                const std::vector<Tensor*>& grad_inputs) override;
  bool ends_in_softmax() const override { return activation_.kind() == ActivationKind::softmax; }
  nlohmann::json get_config() const override;

  int64_t filters() const { return filters_; }
  Size2D kernel_size() const { return kernel_size_; }

 protected:
  /// Input must be (height, width, channels); "valid" needs each side at least the kernel's.
  Shape build_impl(const std::vector<Shape>& input_shapes) override;

 private:
  int64_t filters_;
  Size2D kernel_size_;
  Conv2DOptions options_;
  Padding padding_;
  ActivationStage activation_;
  AxisGeometry rows_, cols_;  ///< output geometry, fixed at build
};

}  // namespace regula::layers
