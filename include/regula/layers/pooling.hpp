#pragma once
/// @file
/// 2-D pooling layers (Keras `MaxPooling2D`, `AveragePooling2D`, `GlobalAveragePooling2D`).
///
/// MaxPooling2D / AveragePooling2D: input (batch, height, width, channels) → output
/// (batch, out_h, out_w, channels), each channel pooled independently over windows of
/// `pool_size` moved by `strides` (default: `pool_size`, as Keras's `strides=None`). Output sizes
/// follow Conv2D's "valid"/"same" rules (see conv2d.hpp). With "same" padding, padded positions
/// never win a max and are not counted in an average (Keras/TensorFlow semantics).
///
/// GlobalAveragePooling2D: (batch, h, w, channels) → (batch, channels), the mean over h·w; with
/// `keepdims` (batch, 1, 1, channels).

#include <optional>
#include <string>
#include <vector>

#include "regula/backend/backend.hpp"
#include "regula/layers/conv2d.hpp"
#include "regula/layers/layer.hpp"

namespace regula::layers {

/// Options of MaxPooling2D and AveragePooling2D, in Keras's order (after `pool_size`).
struct PoolingOptions {
  /// Default {0, 0} (Keras's None): equal to pool_size.
  Size2D strides = {0, 0};
  std::string padding = "valid";
  std::string name = "";
};

/// The geometry and options shared by MaxPooling2D and AveragePooling2D.
class Pooling2DBase : public Layer {
 public:
  nlohmann::json get_config() const override;
  Size2D pool_size() const { return pool_size_; }
  Size2D strides() const { return strides_; }

 protected:
  Pooling2DBase(Size2D pool_size, PoolingOptions options, const std::string& default_name);
  /// Validates the options (needs `where()`, so the concrete class calls it from its constructor).
  void validate_options();
  /// Input must be (height, width, channels); "valid" needs each side at least the pool's.
  Shape build_impl(const std::vector<Shape>& input_shapes) override;
  /// The backend geometry for a batch of `batch` samples.
  backend::Pool2DGeometry geometry(int64_t batch) const;
  /// Whether the windows tile the (built) input exactly: strides equal to the window, no padding,
  /// and the input's sides multiples of the window's.
  bool windows_tile_input() const;
  /// This pooling as the last step of a fused tail (needs windows_tile_input()).
  backend::TailMaxPool as_tail_step() const;

 private:
  Size2D pool_size_;
  Size2D strides_;
  PoolingOptions options_;
  Padding padding_ = Padding::valid;
  int64_t in_h_ = 0, in_w_ = 0, channels_ = 0;
  AxisGeometry rows_, cols_;
};

/// Keras `MaxPooling2D(pool_size=(2, 2), strides=None, padding="valid")`.
class MaxPooling2D final : public Pooling2DBase {
 public:
  explicit MaxPooling2D(Size2D pool_size = {2, 2}, PoolingOptions options = {});
  std::string class_name() const override { return "MaxPooling2D"; }
  std::shared_ptr<Layer> into_shared() && override;
  void forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext& context) override;
  void backward(const std::vector<const Tensor*>& inputs, const Tensor& output, const Tensor& grad_output,
                const std::vector<Tensor*>& grad_inputs) override;
  /// Fusion: where its windows tile the input (the seed model's 2×2 poolings of even images), the
  /// pooling runs inside the pass of the BatchNormalization chain before it (TailStep::kMaxPool),
  /// which then writes neither the pooling's input nor, backward, its gradient.
  std::optional<TailStep> tail_step() const override;
  void add_to_tail(ElementwiseTail& tail, const ForwardContext& context) const override;

 private:
  std::vector<int32_t> argmax_;  ///< winner of each output value in the last forward pass
};

/// Keras `AveragePooling2D(pool_size=(2, 2), strides=None, padding="valid")`.
class AveragePooling2D final : public Pooling2DBase {
 public:
  explicit AveragePooling2D(Size2D pool_size = {2, 2}, PoolingOptions options = {});
  std::string class_name() const override { return "AveragePooling2D"; }
  std::shared_ptr<Layer> into_shared() && override;
  void forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext& context) override;
  void backward(const std::vector<const Tensor*>& inputs, const Tensor& output, const Tensor& grad_output,
                const std::vector<Tensor*>& grad_inputs) override;
};

/// GlobalAveragePooling2D options, in Keras's order.
struct GlobalPoolingOptions {
  bool keepdims = false;
  std::string name = "";
};

/// Keras `GlobalAveragePooling2D(keepdims=False)`.
class GlobalAveragePooling2D final : public LayerBase<GlobalAveragePooling2D> {
 public:
  explicit GlobalAveragePooling2D(GlobalPoolingOptions options = {});
  std::string class_name() const override { return "GlobalAveragePooling2D"; }
  void forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext& context) override;
  void backward(const std::vector<const Tensor*>& inputs, const Tensor& output, const Tensor& grad_output,
                const std::vector<Tensor*>& grad_inputs) override;
  nlohmann::json get_config() const override;

 protected:
  /// Input must be (height, width, channels).
  Shape build_impl(const std::vector<Shape>& input_shapes) override;

 private:
  backend::Pool2DGeometry geometry(int64_t batch) const;
  GlobalPoolingOptions options_;
};

}  // namespace regula::layers
