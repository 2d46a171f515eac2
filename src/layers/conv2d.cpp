#include "regula/layers/conv2d.hpp"

#include <algorithm>
#include <cctype>

#include "regula/backend/context.hpp"
#include "regula/error.hpp"
#include "regula/initializers/initializers.hpp"

namespace regula::layers {

Padding parse_padding(const std::string& padding, const std::string& where) {
  std::string key = padding;
  // Keras lower-cases the padding argument before checking it.
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (key == "valid") return Padding::valid;
  if (key == "same") return Padding::same;
  throw ValueError(where + ": padding='" + padding + "' is not supported; allowed: 'valid', 'same'");
}

std::string padding_name(Padding padding) { return padding == Padding::same ? "same" : "valid"; }

AxisGeometry window_output_length(int64_t in, int64_t window, int64_t stride, Padding padding) {
  if (padding == Padding::valid) {
    // Floor division that stays correct for in < window (negative numerator).
    const int64_t span = in - window;
    const int64_t out = span < 0 ? 0 : span / stride + 1;
    return {out, 0};
  }
  const int64_t out = (in + stride - 1) / stride;
  const int64_t pad_total = std::max<int64_t>((out - 1) * stride + window - in, 0);
  return {out, pad_total / 2};
}

namespace {

void check_initializer(const std::string& name, const std::string& option, const std::string& where) {
  if (!initializers::is_known(name))
    throw ValueError(where + ": " + option + "='" + name +
                     "' is not a known initializer; allowed: glorot_uniform, glorot_normal, he_uniform, he_normal, "
                     "lecun_uniform, random_uniform, random_normal, zeros, ones");
}

nlohmann::json initializer_config(const std::string& name) {
  return {{"class_name", name}, {"config", nlohmann::json::object()}};
}

}  // namespace

Conv2D::Conv2D(int64_t filters, Size2D kernel_size, Conv2DOptions options)
    : LayerBase(options.name, "conv2d", options.activity_regularizer),
      filters_(filters),
      kernel_size_(kernel_size),
      options_(std::move(options)),
      padding_(Padding::valid) {
  if (filters_ <= 0)
    throw ValueError(where() + ": filters=" + std::to_string(filters_) + " must be a positive integer");
  if (kernel_size_.h <= 0 || kernel_size_.w <= 0)
    throw ValueError(where() + ": kernel_size=(" + std::to_string(kernel_size_.h) + ", " +
                     std::to_string(kernel_size_.w) + ") must be positive integers");
  if (options_.strides.h <= 0 || options_.strides.w <= 0)
    throw ValueError(where() + ": strides=(" + std::to_string(options_.strides.h) + ", " +
                     std::to_string(options_.strides.w) + ") must be positive integers");
  padding_ = parse_padding(options_.padding, where());
  activation_ = ActivationStage(parse_activation(options_.activation, where()));
  check_initializer(options_.kernel_initializer, "kernel_initializer", where());
  check_initializer(options_.bias_initializer, "bias_initializer", where());
}

Shape Conv2D::build_impl(const std::vector<Shape>& input_shapes) {
  expect_inputs(input_shapes, 1);
  const Shape& in = input_shapes[0];
  if (in.rank() != 3)
    throw ShapeError(where() + ": expects input of shape (batch, height, width, channels), got " + in.to_string(true));
  rows_ = window_output_length(in[0], kernel_size_.h, options_.strides.h, padding_);
  cols_ = window_output_length(in[1], kernel_size_.w, options_.strides.w, padding_);
  if (rows_.out <= 0 || cols_.out <= 0)
    throw ShapeError(where() + ": input " + in.to_string(true) + " is smaller than the kernel (" +
                     std::to_string(kernel_size_.h) + ", " + std::to_string(kernel_size_.w) +
                     ") with padding='valid'; use padding='same' or a larger input");
  const int64_t in_c = in[2];
  const int64_t area = kernel_size_.h * kernel_size_.w;
  add_weight("kernel", {kernel_size_.h, kernel_size_.w, in_c, filters_}, options_.kernel_initializer, true,
             area * in_c, area * filters_, options_.kernel_regularizer)
      .constraint = options_.kernel_constraint;
  if (options_.use_bias)
    add_weight("bias", {filters_}, options_.bias_initializer, true, 1, 1, options_.bias_regularizer).constraint =
        options_.bias_constraint;
  return {rows_.out, cols_.out, filters_};
}

namespace {

backend::Conv2DGeometry conv_geometry(const Shape& in, int64_t batch, int64_t filters, Size2D kernel, Size2D strides,
                                      AxisGeometry rows, AxisGeometry cols, backend::ComputeDtype compute) {
  backend::Conv2DGeometry g;
  g.compute = kernel.h * kernel.w * in[2] > kFloat32PatchLimit ? compute : backend::ComputeDtype::float32;
  g.batch = batch;
  g.in_h = in[0];
  g.in_w = in[1];
  g.in_c = in[2];
  g.out_h = rows.out;
  g.out_w = cols.out;
  g.out_c = filters;
  g.kernel_h = kernel.h;
  g.kernel_w = kernel.w;
  g.stride_h = strides.h;
  g.stride_w = strides.w;
  g.pad_top = rows.pad_before;
  g.pad_left = cols.pad_before;
  return g;
}

}  // namespace

void Conv2D::forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext& context) {
  const Tensor& x = *inputs[0];
  const auto g = conv_geometry(input_shapes()[0], x.dim(0), filters_, kernel_size_, options_.strides, rows_, cols_,
                               dtype_policy().kernel_compute());
  const float* bias = options_.use_bias ? weights()[1].value.data() : nullptr;
  backend::current().conv2d_forward(g, x.data(), weights()[0].value.data(), bias, output.data());
  activation_.forward(output, context.training);
}

void Conv2D::backward(const std::vector<const Tensor*>& inputs, const Tensor& output, const Tensor& grad_output,
                      const std::vector<Tensor*>& grad_inputs) {
  const Tensor& x = *inputs[0];
  const auto g = conv_geometry(input_shapes()[0], x.dim(0), filters_, kernel_size_, options_.strides, rows_, cols_,
                               dtype_policy().kernel_compute());
  const Tensor& grad = activation_.backward(output, grad_output, grad_output_is_logits());
  float* grad_bias = options_.use_bias ? weights()[1].gradient.data() : nullptr;
  float* grad_x = grad_inputs[0] != nullptr ? grad_inputs[0]->data() : nullptr;
  backend::current().conv2d_backward(g, x.data(), grad.data(), weights()[0].value.data(), grad_x,
                                     weights()[0].gradient.data(), grad_bias);
}

nlohmann::json Conv2D::get_config() const {
  nlohmann::json config = Layer::get_config();
  config["filters"] = filters_;
  config["kernel_size"] = {kernel_size_.h, kernel_size_.w};
  config["strides"] = {options_.strides.h, options_.strides.w};
  config["padding"] = padding_name(padding_);
  config["data_format"] = "channels_last";
  config["dilation_rate"] = {1, 1};
  config["groups"] = 1;
  config["activation"] = activation_name(activation_.kind());
  config["use_bias"] = options_.use_bias;
  config["kernel_initializer"] = initializer_config(options_.kernel_initializer);
  config["bias_initializer"] = initializer_config(options_.bias_initializer);
  config["kernel_regularizer"] =
      options_.kernel_regularizer ? options_.kernel_regularizer->get_config() : nlohmann::json();
  config["bias_regularizer"] = options_.bias_regularizer ? options_.bias_regularizer->get_config() : nlohmann::json();
  config["kernel_constraint"] = options_.kernel_constraint ? constraints::to_config(*options_.kernel_constraint) : nlohmann::json();
  config["bias_constraint"] = options_.bias_constraint ? constraints::to_config(*options_.bias_constraint) : nlohmann::json();
  return config;
}

}  // namespace regula::layers
