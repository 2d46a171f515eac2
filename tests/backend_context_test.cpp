// The backend context (which backend, which threads) and the storage of tensors (made by the
// allocator of the backend in use, naming its device).
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "regula/backend/context.hpp"
#include "regula/error.hpp"
#include "regula/tensor/tensor.hpp"

namespace rb = regula::backend;
using regula::Tensor;

namespace {

// Host memory that counts its allocations and calls itself device index 3.
class CountingAllocator final : public regula::Allocator {
 public:
  regula::Device device() const override { return {regula::DeviceType::cpu, 3}; }
  std::shared_ptr<regula::Storage> allocate(int64_t count) override {
    ++allocations;
    return std::make_shared<Block>(count);
  }
  int allocations = 0;

 private:
  class Block final : public regula::Storage {
   public:
    explicit Block(int64_t count)
        : Storage(static_cast<float*>(std::aligned_alloc(64, static_cast<size_t>(std::max<int64_t>(count, 16)) * 4)),
                  count) {}
    ~Block() override { std::free(data()); }
    regula::Device device() const override { return {regula::DeviceType::cpu, 3}; }
  };
};

TEST(TensorStorage, NamesTheHostDeviceAndSharesOnCopy) {
  const Tensor t(regula::Shape{2, 3}, 1.5f);
  EXPECT_EQ(t.device(), regula::Device{});
  EXPECT_EQ(t.device().to_string(), "cpu");
  EXPECT_EQ(Tensor().device().to_string(), "cpu");
  const Tensor view = t.slice_rows(1, 2);
  EXPECT_TRUE(view.shares_storage_with(t));
  EXPECT_EQ(view.data(), t.data() + 3);
  const Tensor copy = t.clone();
  EXPECT_FALSE(copy.shares_storage_with(t));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u);
}

TEST(TensorStorage, NewTensorsComeFromTheCurrentAllocator) {
  CountingAllocator counting;
  regula::set_tensor_allocator(counting);
  const Tensor a(regula::Shape{4}, 2.0f);
  const Tensor b = a.clone();
  regula::set_tensor_allocator(regula::host_allocator());
  EXPECT_EQ(counting.allocations, 2);
  EXPECT_EQ(a.device().to_string(), "cpu:3");
  EXPECT_EQ(b[3], 2.0f);
  EXPECT_EQ(Tensor(regula::Shape{1}).device().to_string(), "cpu");
}

TEST(BackendContext, SelectsTheBackendAndItsAllocator) {
  rb::Context& context = rb::context();
  ASSERT_EQ(context.kind(), rb::BackendKind::cpu);
  EXPECT_EQ(rb::current().name(), "cpu");
  {
    rb::ScopedBackend reference(rb::BackendKind::reference);
    EXPECT_EQ(context.kind(), rb::BackendKind::reference);
    EXPECT_EQ(rb::current().name(), "reference");
    EXPECT_EQ(&regula::tensor_allocator(), &rb::get(rb::BackendKind::reference).allocator());
  }
  EXPECT_EQ(rb::current().name(), "cpu");
  EXPECT_EQ(&regula::tensor_allocator(), &rb::get(rb::BackendKind::cpu).allocator());
}

TEST(BackendContext, OwnsTheThreadCount) {
  rb::Context& context = rb::context();
  const int before = context.num_threads();
  context.set_num_threads(1);
  EXPECT_EQ(context.num_threads(), 1);
  EXPECT_EQ(regula::num_threads(), 1);
  EXPECT_THROW(context.set_num_threads(0), regula::ValueError);
  EXPECT_EQ(context.num_threads(), 1);
  context.set_num_threads(before);
  EXPECT_EQ(regula::num_threads(), before);
}

TEST(BackendContext, OwnsTheConvolutionAlgorithm) {
  rb::Context& context = rb::context();
  const char* env = std::getenv("REGULA_CONVOLUTION");
  if (env == nullptr || std::string(env).empty()) {
    EXPECT_EQ(context.convolution_algorithm(), rb::ConvolutionAlgorithm::automatic);
  }
  const rb::ConvolutionAlgorithm before = context.convolution_algorithm();
  context.set_convolution_algorithm(rb::ConvolutionAlgorithm::direct);
  EXPECT_EQ(context.convolution_algorithm(), rb::ConvolutionAlgorithm::direct);
  context.set_convolution_algorithm(before);
  EXPECT_EQ(context.convolution_algorithm(), before);
}

}  // namespace
