#include "regula/layers/pooling.hpp"

#include "regula/backend/context.hpp"
#include "regula/error.hpp"

namespace regula::layers {

Pooling2DBase::Pooling2DBase(Size2D pool_size, PoolingOptions options, const std::string& default_name)
    : Layer(options.name, default_name),
      pool_size_(pool_size),
      strides_(options.strides == Size2D{0, 0} ? pool_size : options.strides),
      options_(std::move(options)) {}

void Pooling2DBase::validate_options() {
  if (pool_size_.h <= 0 || pool_size_.w <= 0)
    throw ValueError(where() + ": pool_size=(" + std::to_string(pool_size_.h) + ", " + std::to_string(pool_size_.w) +
                     ") must be positive integers");
  if (strides_.h <= 0 || strides_.w <= 0)
    throw ValueError(where() + ": strides=(" + std::to_string(strides_.h) + ", " + std::to_string(strides_.w) +
                     ") must be positive integers (or left out: equal to pool_size)");
  padding_ = parse_padding(options_.padding, where());
}

Shape Pooling2DBase::build_impl(const std::vector<Shape>& input_shapes) {
  expect_inputs(input_shapes, 1);
  const Shape& in = input_shapes[0];
  if (in.rank() != 3)
    throw ShapeError(where() + ": expects input of shape (batch, height, width, channels), got " + in.to_string(true));
  rows_ = window_output_length(in[0], pool_size_.h, strides_.h, padding_);
  cols_ = window_output_length(in[1], pool_size_.w, strides_.w, padding_);
  if (rows_.out <= 0 || cols_.out <= 0)
    throw ShapeError(where() + ": input " + in.to_string(true) + " is smaller than pool_size (" +
                     std::to_string(pool_size_.h) + ", " + std::to_string(pool_size_.w) +
                     ") with padding='valid'; use padding='same' or a smaller pool");
  in_h_ = in[0];
  in_w_ = in[1];
  channels_ = in[2];
  return {rows_.out, cols_.out, channels_};
}

backend::Pool2DGeometry Pooling2DBase::geometry(int64_t batch) const {
  backend::Pool2DGeometry g;
  g.batch = batch;
  g.in_h = in_h_;
  g.in_w = in_w_;
  g.channels = channels_;
  g.out_h = rows_.out;
  g.out_w = cols_.out;
  g.pool_h = pool_size_.h;
  g.pool_w = pool_size_.w;
  g.stride_h = strides_.h;
  g.stride_w = strides_.w;
  g.pad_top = rows_.pad_before;
  g.pad_left = cols_.pad_before;
  return g;
}

bool Pooling2DBase::windows_tile_input() const {
  return in_h_ > 0 && in_w_ > 0 && strides_ == pool_size_ && rows_.pad_before == 0 && cols_.pad_before == 0 &&
         rows_.out * pool_size_.h == in_h_ && cols_.out * pool_size_.w == in_w_;
}

backend::TailMaxPool Pooling2DBase::as_tail_step() const {
  return {.active = true, .in_h = in_h_, .in_w = in_w_, .pool_h = pool_size_.h, .pool_w = pool_size_.w};
}

nlohmann::json Pooling2DBase::get_config() const {
  nlohmann::json config = Layer::get_config();
  config["pool_size"] = {pool_size_.h, pool_size_.w};
  config["padding"] = padding_name(padding_);
  config["strides"] = {strides_.h, strides_.w};
  config["data_format"] = "channels_last";
  return config;
}

MaxPooling2D::MaxPooling2D(Size2D pool_size, PoolingOptions options)
    : Pooling2DBase(pool_size, std::move(options), "max_pooling2d") {
  validate_options();
}

std::shared_ptr<Layer> MaxPooling2D::into_shared() && { return std::make_shared<MaxPooling2D>(std::move(*this)); }

void MaxPooling2D::forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext&) {
  const Tensor& x = *inputs[0];
  // The winners are only needed to route gradients back; argmax_ keeps its capacity between steps.
  if (argmax_.size() < static_cast<size_t>(output.size())) argmax_.resize(static_cast<size_t>(output.size()));
  backend::current().max_pool2d_forward(geometry(x.dim(0)), x.data(), output.data(), argmax_.data());
}

void MaxPooling2D::backward(const std::vector<const Tensor*>& inputs, const Tensor&, const Tensor& grad_output,
                            const std::vector<Tensor*>& grad_inputs) {
  if (grad_inputs[0] == nullptr) return;
  backend::current().max_pool2d_backward(geometry(inputs[0]->dim(0)), grad_output.data(), argmax_.data(),
                                         grad_inputs[0]->data());
}

std::optional<TailStep> MaxPooling2D::tail_step() const {
  if (!windows_tile_input()) return std::nullopt;
  return TailStep::kMaxPool;
}

void MaxPooling2D::add_to_tail(ElementwiseTail& tail, const ForwardContext&) const { tail.pool = as_tail_step(); }

AveragePooling2D::AveragePooling2D(Size2D pool_size, PoolingOptions options)
    : Pooling2DBase(pool_size, std::move(options), "average_pooling2d") {
  validate_options();
}

std::shared_ptr<Layer> AveragePooling2D::into_shared() && {
  return std::make_shared<AveragePooling2D>(std::move(*this));
}

void AveragePooling2D::forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext&) {
  const Tensor& x = *inputs[0];
  backend::current().avg_pool2d_forward(geometry(x.dim(0)), x.data(), output.data());
}

void AveragePooling2D::backward(const std::vector<const Tensor*>& inputs, const Tensor&, const Tensor& grad_output,
                                const std::vector<Tensor*>& grad_inputs) {
  if (grad_inputs[0] == nullptr) return;
  backend::current().avg_pool2d_backward(geometry(inputs[0]->dim(0)), grad_output.data(), grad_inputs[0]->data());
}

GlobalAveragePooling2D::GlobalAveragePooling2D(GlobalPoolingOptions options)
    : LayerBase(options.name, "global_average_pooling2d"), options_(std::move(options)) {}

Shape GlobalAveragePooling2D::build_impl(const std::vector<Shape>& input_shapes) {
  expect_inputs(input_shapes, 1);
  const Shape& in = input_shapes[0];
  if (in.rank() != 3)
    throw ShapeError(where() + ": expects input of shape (batch, height, width, channels), got " + in.to_string(true));
  if (options_.keepdims) return {1, 1, in[2]};
  return {in[2]};
}

backend::Pool2DGeometry GlobalAveragePooling2D::geometry(int64_t batch) const {
  // A global average is an average pooling whose single window is the whole image.
  const Shape& in = input_shapes()[0];
  backend::Pool2DGeometry g;
  g.batch = batch;
  g.in_h = in[0];
  g.in_w = in[1];
  g.channels = in[2];
  g.out_h = 1;
  g.out_w = 1;
  g.pool_h = in[0];
  g.pool_w = in[1];
  g.stride_h = in[0];
  g.stride_w = in[1];
  return g;
}

void GlobalAveragePooling2D::forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext&) {
  const Tensor& x = *inputs[0];
  backend::current().avg_pool2d_forward(geometry(x.dim(0)), x.data(), output.data());
}

void GlobalAveragePooling2D::backward(const std::vector<const Tensor*>& inputs, const Tensor&, const Tensor& grad_output,
                                      const std::vector<Tensor*>& grad_inputs) {
  if (grad_inputs[0] == nullptr) return;
  backend::current().avg_pool2d_backward(geometry(inputs[0]->dim(0)), grad_output.data(), grad_inputs[0]->data());
}

nlohmann::json GlobalAveragePooling2D::get_config() const {
  nlohmann::json config = Layer::get_config();
  config["data_format"] = "channels_last";
  config["keepdims"] = options_.keepdims;
  return config;
}

}  // namespace regula::layers
