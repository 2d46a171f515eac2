#include "regula/layers/dense.hpp"

#include "regula/backend/context.hpp"
#include "regula/error.hpp"

namespace regula::layers {

Dense::Dense(int64_t units, DenseOptions options)
    : LayerBase(options.name, "dense", options.activity_regularizer), units_(units), options_(std::move(options)) {
  if (units_ <= 0) throw ValueError(where() + ": units=" + std::to_string(units_) + " must be a positive integer");
  activation_ = ActivationStage(parse_activation(options_.activation, where()));
}

Shape Dense::build_impl(const std::vector<Shape>& input_shapes) {
  expect_inputs(input_shapes, 1);
  const Shape& in = input_shapes[0];
  if (in.rank() < 1)
    throw ShapeError(where() + ": input shape " + in.to_string(true) + " needs at least one feature axis");
  const int64_t features = in[in.rank() - 1];
  add_weight("kernel", {features, units_}, options_.kernel_initializer, true, features, units_,
             options_.kernel_regularizer)
      .constraint = options_.kernel_constraint;
  if (options_.use_bias)
    add_weight("bias", {units_}, options_.bias_initializer, true, 1, 1, options_.bias_regularizer).constraint =
        options_.bias_constraint;
  Shape out = in;
  out[out.rank() - 1] = units_;
  return out;
}

void Dense::forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext& context) {
  const Tensor& x = *inputs[0];
  const Tensor& kernel = weights()[0].value;
  const int64_t features = kernel.dim(0);
  const int64_t rows = x.size() / features;
  float* y = output.data();
  if (options_.use_bias) {
    const float* b = weights()[1].value.data();
    for (int64_t r = 0; r < rows; ++r) std::copy(b, b + units_, y + r * units_);
  }
  backend::current().gemm(false, false, rows, units_, features, 1.0f, x.data(), features, kernel.data(), units_,
                          options_.use_bias ? 1.0f : 0.0f, y, units_, dtype_policy().kernel_compute());
  activation_.forward(output, context.training);
}

void Dense::backward(const std::vector<const Tensor*>& inputs, const Tensor& output, const Tensor& grad_output,
                     const std::vector<Tensor*>& grad_inputs) {
  const Tensor& x = *inputs[0];
  Weight& kernel = weights()[0];
  const int64_t features = kernel.value.dim(0);
  const int64_t rows = x.size() / features;
  const Tensor& g = activation_.backward(output, grad_output, grad_output_is_logits());
  backend::Backend& be = backend::current();
  // kernel gradient: xᵀ · g (features × units)
  const backend::ComputeDtype compute = dtype_policy().kernel_compute();
  be.gemm(true, false, features, units_, rows, 1.0f, x.data(), features, g.data(), units_, 0.0f,
          kernel.gradient.data(), units_, compute);
  if (options_.use_bias) {
    float* gb = weights()[1].gradient.data();
    std::fill(gb, gb + units_, 0.0f);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t u = 0; u < units_; ++u) gb[u] += g[r * units_ + u];
  }
  if (grad_inputs[0] != nullptr)
    be.gemm(false, true, rows, features, units_, 1.0f, g.data(), units_, kernel.value.data(), units_, 0.0f,
            grad_inputs[0]->data(), features, compute);
}

nlohmann::json Dense::get_config() const {
  nlohmann::json config = Layer::get_config();
  config["units"] = units_;
  config["activation"] = activation_name(activation_.kind());
  config["use_bias"] = options_.use_bias;
  config["kernel_initializer"] = {{"class_name", options_.kernel_initializer}, {"config", nlohmann::json::object()}};
  config["bias_initializer"] = {{"class_name", options_.bias_initializer}, {"config", nlohmann::json::object()}};
  config["kernel_regularizer"] = options_.kernel_regularizer ? options_.kernel_regularizer->get_config() : nlohmann::json();
  config["bias_regularizer"] = options_.bias_regularizer ? options_.bias_regularizer->get_config() : nlohmann::json();
  config["kernel_constraint"] = options_.kernel_constraint ? constraints::to_config(*options_.kernel_constraint) : nlohmann::json();
  config["bias_constraint"] = options_.bias_constraint ? constraints::to_config(*options_.bias_constraint) : nlohmann::json();
  return config;
}

}  // namespace regula::layers
