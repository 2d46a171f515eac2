#include "regula/tensor/tensor.hpp"

#include <algorithm>
#include <cstring>

#include "regula/error.hpp"

namespace regula {
namespace {

void check_dims(const Shape& shape) {
  for (int64_t d : shape.dims())
    if (d < 0) throw ShapeError("Tensor: negative dimension in shape " + shape.to_string());
}

}  // namespace

Tensor Tensor::uninitialized(Shape shape) {
  check_dims(shape);
  Tensor t;
  t.size_ = shape.num_elements();
  t.capacity_ = t.size_;
  t.shape_ = std::move(shape);
  t.storage_ = tensor_allocator().allocate(t.size_);
  t.data_ = t.storage_->data();
  return t;
}

Tensor::Tensor(Shape shape) : Tensor(uninitialized(std::move(shape))) { fill(0.0f); }

Tensor::Tensor(Shape shape, float value) : Tensor(uninitialized(std::move(shape))) { fill(value); }

Tensor::Tensor(Shape shape, const std::vector<float>& values) : Tensor(uninitialized(std::move(shape))) {
  if (static_cast<int64_t>(values.size()) != size_)
    throw ShapeError("Tensor: " + std::to_string(values.size()) + " values given for shape " +
                     shape_.to_string() + ", which holds " + std::to_string(size_));
  std::copy(values.begin(), values.end(), data_);
}

Tensor Tensor::reshaped(Shape shape) const {
  check_dims(shape);
  if (shape.num_elements() != size_)
    throw ShapeError("Tensor::reshaped: cannot view shape " + shape_.to_string() + " (" +
                     std::to_string(size_) + " elements) as " + shape.to_string() + " (" +
                     std::to_string(shape.num_elements()) + " elements)");
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::slice_rows(int64_t begin, int64_t end) const {
  if (rank() == 0 || begin < 0 || end < begin || end > shape_[0])
    throw ShapeError("Tensor::slice_rows: rows [" + std::to_string(begin) + ", " + std::to_string(end) +
                     ") are outside a tensor of shape " + shape_.to_string());
  const int64_t row = shape_[0] == 0 ? 0 : size_ / shape_[0];
  Tensor t = *this;
  t.shape_[0] = end - begin;
  t.size_ = (end - begin) * row;
  t.data_ = data_ + begin * row;
  t.capacity_ = capacity_ - begin * row;
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = uninitialized(shape_);
  if (size_ > 0) std::memcpy(t.data_, data_, static_cast<size_t>(size_) * sizeof(float));
  return t;
}

void Tensor::fill(float value) { std::fill(data_, data_ + size_, value); }

void Tensor::ensure_shape(const Shape& shape) {
  const int64_t n = shape.num_elements();
  if (storage_ != nullptr && n <= capacity_ && storage_.use_count() == 1) {
    shape_ = shape;
    size_ = n;
    return;
  }
  *this = uninitialized(shape);
}

void Tensor::copy_from(const Tensor& src) {
  if (src.size_ != size_)
    throw ShapeError("Tensor::copy_from: source of shape " + src.shape_.to_string() +
                     " does not fit destination of shape " + shape_.to_string());
  if (size_ > 0 && src.data_ != data_) std::memmove(data_, src.data_, static_cast<size_t>(size_) * sizeof(float));
}

}  // namespace regula
