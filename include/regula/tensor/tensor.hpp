#pragma once
/// @file
/// Tensor: a dense float32 array with a shape, row-major, channels last (NHWC).

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "regula/tensor/shape.hpp"
#include "regula/tensor/storage.hpp"

namespace regula {

/// A float32 tensor. Copying a Tensor shares its storage (like a Python reference); use
/// `clone()` for a deep copy. New storage comes from `tensor_allocator()` (the current backend's;
/// host memory, 64-byte aligned so SIMD kernels can use aligned loads).
class Tensor {
 public:
  /// An empty tensor (no storage, shape ()).
  Tensor() = default;
  /// A zero-filled tensor of `shape`.
  explicit Tensor(Shape shape);
  /// A tensor of `shape` filled with `value`.
  Tensor(Shape shape, float value);
  /// A tensor of `shape` holding `values` (their count must equal the shape's element count).
  Tensor(Shape shape, const std::vector<float>& values);

  /// A tensor of `shape` whose contents are left uninitialised (for buffers about to be written).
  static Tensor uninitialized(Shape shape);

  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  int64_t dim(int axis) const { return shape_[axis]; }
  int64_t size() const { return size_; }
  bool empty() const { return data_ == nullptr; }
  /// The device of the storage (the host for an empty tensor).
  Device device() const { return storage_ != nullptr ? storage_->device() : Device{}; }

  float* data() { return data_; }
  const float* data() const { return data_; }
  std::span<float> values() { return {data_, static_cast<size_t>(size_)}; }
  std::span<const float> values() const { return {data_, static_cast<size_t>(size_)}; }
  float& operator[](int64_t i) { return data_[i]; }
  float operator[](int64_t i) const { return data_[i]; }

  /// A view with another shape of the same element count, sharing storage.
  Tensor reshaped(Shape shape) const;
  /// Rows [begin, end) along the first axis, as a view sharing storage.
  Tensor slice_rows(int64_t begin, int64_t end) const;
  /// A deep copy.
  Tensor clone() const;
  /// Sets every element to `value`.
  void fill(float value);
  /// Makes this tensor hold `shape`, reallocating only when the element count grows beyond the
  /// current storage or the storage is shared. Contents are unspecified afterwards.
  void ensure_shape(const Shape& shape);
  /// Copies the values of `src` (same element count) into this tensor's storage.
  void copy_from(const Tensor& src);

  /// How many elements the storage holds (at least size(); `ensure_shape` reuses it up to this).
  int64_t capacity() const { return capacity_; }
  /// Whether two tensors share the same storage.
  bool shares_storage_with(const Tensor& other) const { return storage_ == other.storage_; }

 private:
  Shape shape_;
  int64_t size_ = 0;
  int64_t capacity_ = 0;
  std::shared_ptr<Storage> storage_;
  float* data_ = nullptr;
};

}  // namespace regula
