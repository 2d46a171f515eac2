#pragma once
/// @file
/// Shape: the dimensions of a tensor (row-major, channels last: NHWC for images).

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace regula {

/// The dimensions of a tensor. Layer shapes in regula leave out the batch dimension (Keras's
/// `input_shape`); tensors that flow through a model carry it first.
class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) : dims_(dims) {}
  explicit Shape(std::vector<int64_t> dims) : dims_(std::move(dims)) {}

  /// Number of dimensions.
  int rank() const { return static_cast<int>(dims_.size()); }
  /// Product of the dimensions (1 for a scalar shape).
  int64_t num_elements() const;
  int64_t operator[](int axis) const { return dims_.at(static_cast<size_t>(axis)); }
  int64_t& operator[](int axis) { return dims_.at(static_cast<size_t>(axis)); }
  const std::vector<int64_t>& dims() const { return dims_; }
  bool empty() const { return dims_.empty(); }

  /// This shape with `batch` prepended: (batch, d0, d1, ...).
  Shape with_batch(int64_t batch) const;
  /// This shape without its first dimension.
  Shape without_batch() const;

  /// "(28, 28, 1)"; with `batch_placeholder` "(None, 28, 28, 1)" as Keras prints model shapes.
  std::string to_string(bool batch_placeholder = false) const;

  friend bool operator==(const Shape& a, const Shape& b) { return a.dims_ == b.dims_; }
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

 private:
  std::vector<int64_t> dims_;
};

}  // namespace regula
