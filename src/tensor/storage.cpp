#include "regula/tensor/storage.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>

namespace regula {
namespace {

constexpr size_t kAlignment = 64;

class HostStorage final : public Storage {
 public:
  HostStorage(float* data, int64_t capacity) : Storage(data, capacity) {}
  ~HostStorage() override { std::free(data()); }
  Device device() const override { return {}; }
};

class HostAllocator final : public Allocator {
 public:
  Device device() const override { return {}; }
  std::shared_ptr<Storage> allocate(int64_t count) override {
    size_t bytes = static_cast<size_t>(std::max<int64_t>(count, 1)) * sizeof(float);
    bytes = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    void* p = std::aligned_alloc(kAlignment, bytes);
    if (p == nullptr) throw std::bad_alloc();
    try {
      return std::make_shared<HostStorage>(static_cast<float*>(p), count);
    } catch (...) {
      std::free(p);
      throw;
    }
  }
};

std::atomic<Allocator*>& current_allocator() {
  static std::atomic<Allocator*> allocator{&host_allocator()};
  return allocator;
}

}  // namespace

std::string Device::to_string() const {
  const std::string kind = "cpu";
  return index == 0 ? kind : kind + ":" + std::to_string(index);
}

Allocator& host_allocator() {
  static HostAllocator allocator;
  return allocator;
}

Allocator& tensor_allocator() { return *current_allocator().load(std::memory_order_relaxed); }

void set_tensor_allocator(Allocator& allocator) { current_allocator().store(&allocator, std::memory_order_relaxed); }

}  // namespace regula
