// A training step reuses its buffers: after the first steps have sized everything (layer outputs,
// gradients, backend scratch, optimizer slots), train_on_batch and predict_on_batch allocate no
// buffer. Every allocation in this test program goes through the counting functions below: operator
// new (std::vector, std::string, shared_ptr control blocks) and aligned_alloc (tensor storage); a
// "buffer" is an allocation of 1 KiB or more. Smaller ones remain and are not counted: a Flatten view's shape
// (a few dimensions) and oneDNN's per-call sgemm descriptors (under 200 bytes each).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>

#include "regula/model/seed_model.hpp"
#include "regula/regula.hpp"

namespace {
constexpr std::size_t kBufferBytes = 1024;
std::atomic<int64_t> allocations{0};  // of kBufferBytes or more
std::atomic<int64_t> tensor_bytes{0};  // requested from aligned_alloc (tensor storage)
}

// Tensor storage comes from std::aligned_alloc; this definition takes its place in this program.
extern "C" void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  tensor_bytes.fetch_add(static_cast<int64_t>(size), std::memory_order_relaxed);
  if (size >= kBufferBytes) allocations.fetch_add(1, std::memory_order_relaxed);
  void* p = nullptr;
  return posix_memalign(&p, alignment, size) == 0 ? p : nullptr;
}

void* operator new(std::size_t size) {
  if (size >= kBufferBytes) allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// GCC pairs the std::free below with the replaced operator new above only after inlining, and
// warns about a mismatch that is not there.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace rg = regula;

namespace {

TEST(SteadyState, SeedModelTrainingAndPredictionStepsAllocateNoBuffer) {
  rg::set_random_seed(3);
  auto model = rg::models::seed_model();
  model->compile({.optimizer = "adam", .loss = "sparse_categorical_crossentropy", .metrics = {"accuracy"}});
  const int64_t batch = 8;
  rg::Tensor x({batch, 28, 28, 1});
  rg::Tensor y({batch});
  rg::Rng rng(5);
  for (int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(rng.uniform());
  for (int64_t i = 0; i < batch; ++i) y[i] = static_cast<float>(i % 10);

  for (int step = 0; step < 2; ++step) model->train_on_batch(x, y);  // sizes every buffer
  const int64_t before_training = allocations.load();
  for (int step = 0; step < 3; ++step) model->train_on_batch(x, y);
  EXPECT_EQ(allocations.load() - before_training, 0) << "buffers allocated in 3 steady-state training steps";

  model->predict_on_batch(x);
  const int64_t before_prediction = allocations.load();
  for (int step = 0; step < 3; ++step) model->predict_on_batch(x);
  EXPECT_EQ(allocations.load() - before_prediction, 0) << "buffers allocated in 3 steady-state prediction steps";
}

// Inference keeps only the buffers still to be read: a layer's output buffer passes to a later layer
// once its last reader has run (PyTorch's no_grad inference frees tensors the same way). So the
// first prediction at a new batch size allocates about the two largest outputs, not every
// layer's output as a training pass (which keeps them all for backward) must.
TEST(SteadyState, InferenceReusesOutputBuffersOnceTheirLastReaderHasRun) {
  rg::set_random_seed(4);
  auto model = rg::models::seed_model();
  model->compile({.optimizer = "adam", .loss = "sparse_categorical_crossentropy"});
  const int64_t batch = 16;
  rg::Tensor x({batch, 28, 28, 1}, 0.5f);
  // The backend's scratch (the convolutions' staged operands and blocked kernels) is sized by a
  // first prediction of another model at this batch size: what is measured is the outputs.
  rg::models::seed_model()->predict_on_batch(x);
  int64_t all_outputs = 0, largest = 0;
  for (rg::layers::Layer* layer : model->layers()) {
    const int64_t bytes = layer->output_shape().num_elements() * batch * static_cast<int64_t>(sizeof(float));
    all_outputs += bytes;
    largest = std::max(largest, bytes);
  }
  const int64_t before = tensor_bytes.load();
  model->predict_on_batch(x);
  const int64_t allocated = tensor_bytes.load() - before;
  EXPECT_LE(allocated, 2 * largest + largest / 2) << "all outputs would take " << all_outputs << " bytes";
  EXPECT_LT(allocated, all_outputs / 2);
}

}  // namespace

namespace {

// Fused BatchNormalization → ReLU → Dropout chains keep no intermediate tensors: the seed model's
// first training step allocates at least the normalization and ReLU outputs of its three chains
// less than the same step with fusion off.
TEST(SteadyState, FusedChainsAllocateNoIntermediateOutputs) {
  const int64_t batch = 16;
  rg::Tensor x({batch, 28, 28, 1}, 0.25f);
  rg::Tensor y({batch}, 3.0f);
  const auto first_step_bytes = [&](bool fusion) {
    rg::set_random_seed(6);
    auto model = rg::models::seed_model();
    model->set_layer_fusion(fusion);
    model->compile({.optimizer = "adam", .loss = "sparse_categorical_crossentropy"});
    const int64_t before = tensor_bytes.load();
    model->train_on_batch(x, y);
    return tensor_bytes.load() - before;
  };
  first_step_bytes(false);  // sizes the backend's scratch, which is not what is measured
  const int64_t fused = first_step_bytes(true);
  const int64_t plain = first_step_bytes(false);
  // Inner outputs of the chains: the BatchNormalization, ReLU and Dropout outputs of the two
  // convolution blocks (their MaxPooling2D joins the chain: 2x2 windows tiling 28x28 and 14x14
  // images), the BatchNormalization and ReLU outputs of the dense block.
  const int64_t inner =
      batch * (3 * (28 * 28 * 64 + 14 * 14 * 128) + 2 * 256) * static_cast<int64_t>(sizeof(float));
  EXPECT_LE(fused + inner, plain) << "fused " << fused << " bytes, unfused " << plain;
}

}  // namespace
