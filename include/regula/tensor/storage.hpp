#pragma once
/// @file
/// Where a tensor's values live: a Storage names its Device and is made by an Allocator. The host
/// allocator serves the `reference` and `cpu` backends; an accelerator backend brings an allocator
/// of its own device's memory, and `backend::Context` makes the current backend's allocator the one
/// new tensors use.

#include <cstdint>
#include <memory>
#include <string>

namespace regula {

/// The kinds of device memory. Only the host exists today.
enum class DeviceType { cpu };

/// A device: its kind and, for several devices of a kind, its index.
struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;
  /// "cpu", or "<kind>:<index>" for an index above 0.
  std::string to_string() const;
  bool operator==(const Device&) const = default;
};

/// A block of `capacity()` float32 values on one device, 64-byte aligned. Tensors share storage
/// through std::shared_ptr; the storage is freed with the last tensor that refers to it.
class Storage {
 public:
  virtual ~Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  float* data() const { return data_; }
  int64_t capacity() const { return capacity_; }
  virtual Device device() const = 0;

 protected:
  Storage(float* data, int64_t capacity) : data_(data), capacity_(capacity) {}

 private:
  float* data_;
  int64_t capacity_;
};

/// Makes storage on one device.
class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual Device device() const = 0;
  /// Storage for `count` floats (count >= 0), contents uninitialised; throws std::bad_alloc.
  virtual std::shared_ptr<Storage> allocate(int64_t count) = 0;
};

/// The allocator of host memory (aligned_alloc, 64-byte alignment for aligned SIMD loads).
Allocator& host_allocator();

/// The allocator new tensors use: the host's until `set_tensor_allocator` (which the backend
/// context calls when a backend is selected) chooses another.
Allocator& tensor_allocator();
void set_tensor_allocator(Allocator& allocator);

}  // namespace regula
