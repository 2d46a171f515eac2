#include "regula/layers/activation.hpp"

#include "regula/error.hpp"

namespace regula::layers {

Activation::Activation(const std::string& activation, ActivationOptions options)
    : LayerBase(options.name, "activation"), kind_(ActivationKind::linear) {
  kind_ = parse_activation(activation, where());
}

Shape Activation::build_impl(const std::vector<Shape>& input_shapes) {
  expect_inputs(input_shapes, 1);
  return input_shapes[0];
}

void Activation::forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext&) {
  activation_forward(kind_, *inputs[0], output);
}

void Activation::backward(const std::vector<const Tensor*>& inputs, const Tensor& output, const Tensor& grad_output,
                          const std::vector<Tensor*>& grad_inputs) {
  if (grad_inputs[0] == nullptr) return;
  // The layer keeps its input (the graph holds it), so no pre-activation copy is needed.
  if (grad_output_is_logits())
    grad_inputs[0]->copy_from(grad_output);
  else
    activation_backward(kind_, *inputs[0], output, grad_output, *grad_inputs[0]);
}

std::optional<TailStep> Activation::tail_step() const {
  if (kind_ == ActivationKind::relu) return TailStep::kRelu;
  return std::nullopt;
}

void Activation::add_to_tail(ElementwiseTail& tail, const ForwardContext& context) const {
  if (kind_ != ActivationKind::relu) Layer::add_to_tail(tail, context);
  tail.relu = true;
}

nlohmann::json Activation::get_config() const {
  nlohmann::json config = Layer::get_config();
  config["activation"] = activation_name(kind_);
  return config;
}

}  // namespace regula::layers
