#pragma once
/// @file
/// Merge layers (Keras `keras.layers.Add`, `keras.layers.Concatenate`), called on a list of
/// symbolic tensors: `layers::Add()({a, b})`. Like Keras 3, one input or more is accepted.
///
/// - Add: output = Σ inputs; every input must have the same shape (no broadcasting).
/// - Concatenate(axis = −1): joins the inputs along `axis` (counted with the batch axis first, as
///   Keras; the batch axis itself cannot be joined). Shapes must be equal except along `axis`.

#include <cstdint>
#include <string>
#include <vector>

#include "regula/layers/layer.hpp"

namespace regula::layers {

/// Options shared by the merge layers, in Keras's order.
struct MergeOptions {
  std::string name = "";
};

class Add final : public LayerBase<Add> {
 public:
  explicit Add(MergeOptions options = {});
  std::string class_name() const override { return "Add"; }
  void forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext& context) override;
  void backward(const std::vector<const Tensor*>& inputs, const Tensor& output, const Tensor& grad_output,
                const std::vector<Tensor*>& grad_inputs) override;

 protected:
  Shape build_impl(const std::vector<Shape>& input_shapes) override;
};

class Concatenate final : public LayerBase<Concatenate> {
 public:
  explicit Concatenate(int64_t axis = -1, MergeOptions options = {});
  std::string class_name() const override { return "Concatenate"; }
  void forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext& context) override;
  void backward(const std::vector<const Tensor*>& inputs, const Tensor& output, const Tensor& grad_output,
                const std::vector<Tensor*>& grad_inputs) override;
  nlohmann::json get_config() const override;

 protected:
  Shape build_impl(const std::vector<Shape>& input_shapes) override;

 private:
  int64_t axis_;
  /// Per sample: the product of the axes before the joined one (batch excluded), and for each
  /// input the contiguous block (joined axis × later axes) it contributes.
  int64_t outer_ = 1;
  std::vector<int64_t> blocks_;
};

}  // namespace regula::layers
