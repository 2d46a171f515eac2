#pragma once
/// @file
/// Dense (Keras `keras.layers.Dense`): output = activation(input · kernel + bias).
///
/// Input (batch, …, in) → output (batch, …, units); the kernel is (in, units) as in Keras and
/// applies to the last axis. Defaults as Keras: no activation, bias on, glorot_uniform kernel,
/// zero bias.

#include <string>

#include "regula/layers/activations.hpp"
#include "regula/layers/layer.hpp"

namespace regula::layers {

/// Dense options, in Keras's argument order.
struct DenseOptions {
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

class Dense final : public LayerBase<Dense> {
 public:
  /// `units` must be positive.
  explicit Dense(int64_t units, DenseOptions options = {});
  std::string class_name() const override { return "Dense"; }
  void forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext& context) override;
  void backward(const std::vector<const Tensor*>& inputs, const Tensor& output, const Tensor& grad_output,
                const std::vector<Tensor*>& grad_inputs) override;
  bool ends_in_softmax() const override { return activation_.kind() == ActivationKind::softmax; }
  nlohmann::json get_config() const override;

  int64_t units() const { return units_; }

 protected:
  Shape build_impl(const std::vector<Shape>& input_shapes) override;

 private:
  int64_t units_;
  DenseOptions options_;
  ActivationStage activation_;
};

}  // namespace regula::layers
