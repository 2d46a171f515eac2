// The fast batch-normalization kernels: per-channel sums (float within blocks of rows, double
// across them, per-thread partials), and the normalization with its element-wise tail compiled for
// each combination of ReLU and mask.

#include <omp.h>

#include <algorithm>

#include "src/backend/cpu_backend.hpp"

namespace regula::backend {
namespace {

// Below this many values a parallel region costs more than it saves.
constexpr int64_t kParallelThreshold = 32768;

// Rows summed in float within a block, the blocks' sums in double: per-element double arithmetic
// made these passes 3× slower than their memory traffic (measured on the seed model's first
// normalization, 6.4 M values), and a float sum of 16 values loses nothing a training step can see.
constexpr int64_t kRowsPerFloatBlock = 16;

// Adds per-channel sums of f(row, c) over all rows into out_a[0..channels) and out_b[0..channels)
// (two sums per channel). `accumulate(r, a, b)` adds row r's values into the float sums a and b; each
// block of kRowsPerFloatBlock rows starts from zero and is then added to its thread's double
// partials, which are added in thread order, so the result depends only on the thread count.
template <class Accumulate>
void channel_sums(int64_t rows, int64_t channels, std::vector<double>& partial, std::vector<float>& block_sums,
                  double* out_a, double* out_b, Accumulate accumulate) {
  const int threads = rows * channels > kParallelThreshold ? omp_get_max_threads() : 1;
  const size_t stride = static_cast<size_t>(2 * channels);
  const size_t size = stride * static_cast<size_t>(threads);
  if (partial.size() < size) partial.resize(size);
  if (block_sums.size() < size) block_sums.resize(size);
  std::fill(partial.begin(), partial.begin() + static_cast<std::ptrdiff_t>(size), 0.0);
#pragma omp parallel num_threads(threads)
  {
    double* acc = partial.data() + stride * static_cast<size_t>(omp_get_thread_num());
    float* block = block_sums.data() + stride * static_cast<size_t>(omp_get_thread_num());
#pragma omp for schedule(static)
    for (int64_t r0 = 0; r0 < rows; r0 += kRowsPerFloatBlock) {
      std::fill(block, block + stride, 0.0f);
      const int64_t r1 = std::min(rows, r0 + kRowsPerFloatBlock);
      for (int64_t r = r0; r < r1; ++r) accumulate(r, block, block + channels);
      for (int64_t c = 0; c < 2 * channels; ++c) acc[c] += block[c];
    }
  }
  std::fill(out_a, out_a + channels, 0.0);
  std::fill(out_b, out_b + channels, 0.0);
  for (int t = 0; t < threads; ++t) {
    const double* acc = partial.data() + stride * static_cast<size_t>(t);
    for (int64_t c = 0; c < channels; ++c) {
      out_a[c] += acc[c];
      out_b[c] += acc[channels + c];
    }
  }
}

// The tail with its flags as compile-time constants. The separate layers compute (v > 0) ? g·mask : 0
// (Dropout's backward, then ReLU's); gating first and multiplying after gives the same bits (the
// mask is finite, 0·mask = +0) with no multiply under a condition, which GCC would not vectorize
// (it may not speculate a floating-point operation that could trap).
template <bool kRelu, bool kMask>
struct FixedTail {
  ElementMask mask;
  float forward(float v, uint32_t i) const {
    if constexpr (kRelu) v = v < 0.0f ? 0.0f : v;  // ReLU's select: NaN passes
    if constexpr (kMask) v = v * mask.factor(i);
    return v;
  }
  float gradient(float g, float v, uint32_t i) const {
    if constexpr (kRelu) g = v > 0.0f ? g : 0.0f;
    if constexpr (kMask) g = g * mask.factor(i);
    return g;
  }
};

// Calls body(FixedTail<relu, mask>{mask}), so each combination gets its own branch-free loops.
template <class Body>
void with_fixed_tail(const ElementwiseTail& tail, Body&& body) {
  if (tail.relu && tail.mask.active)
    body(FixedTail<true, true>{tail.mask});
  else if (tail.relu)
    body(FixedTail<true, false>{tail.mask});
  else if (tail.mask.active)
    body(FixedTail<false, true>{tail.mask});
  else
    body(FixedTail<false, false>{tail.mask});
}

}  // namespace

void CpuBackend::batch_norm_moments(int64_t rows, int64_t channels, const float* src, double* sum,
                                    double* sum_squares) {
  if (rows == 0) {
    std::fill(sum, sum + channels, 0.0);
    std::fill(sum_squares, sum_squares + channels, 0.0);
    return;
  }
  // One pass of Σd and Σd² with d = x − x₀ (x₀ the first row: a shift that keeps the float sums of
  // squares free of cancellation when a channel's mean is large against its spread), then in
  // double Σx = Σd + n·x₀ and Σx² = Σd² + 2·x₀·Σd + n·x₀².
  if (static_cast<int64_t>(channel_shift_.size()) < channels) channel_shift_.resize(static_cast<size_t>(channels));
  float* shift = channel_shift_.data();
  std::copy(src, src + channels, shift);
  channel_sums(rows, channels, channel_partial_, channel_block_sums_, sum, sum_squares,
               [&](int64_t r, float* s, float* s2) {
                 const float* row = src + r * channels;
#pragma omp simd
                 for (int64_t c = 0; c < channels; ++c) {
                   const float d = row[c] - shift[c];
                   s[c] += d;
                   s2[c] += d * d;
                 }
               });
  const auto n = static_cast<double>(rows);
  for (int64_t c = 0; c < channels; ++c) {
    const double x0 = shift[c];
    sum_squares[c] += 2.0 * x0 * sum[c] + n * x0 * x0;
    sum[c] += n * x0;
  }
}

void CpuBackend::batch_norm_apply(int64_t rows, int64_t channels, const float* src, const float* a, const float* b,
                                  const ElementwiseTail& tail_spec, float* dst) {
  with_fixed_tail(tail_spec, [&](const auto& tail_in) {
    const auto tail = tail_in;
    // Each thread works on its own copy of the tail (firstprivate): read through the shared one, its
    // fields might alias the output and the inner loop would not vectorize.
#pragma omp parallel for schedule(static) firstprivate(tail) if (rows * channels > kParallelThreshold)
    for (int64_t r = 0; r < rows; ++r) {
      const float* s = src + r * channels;
      float* d = dst + r * channels;
      const auto first = static_cast<uint32_t>(r * channels);
#pragma omp simd
      for (int64_t c = 0; c < channels; ++c) d[c] = tail.forward(a[c] * s[c] + b[c], first + static_cast<uint32_t>(c));
    }
  });
}

void CpuBackend::batch_norm_backward_sums(int64_t rows, int64_t channels, const float* src, const float* grad_dst,
                                          const float* a, const float* b, const double* mean,
                                          const ElementwiseTail& tail_spec, double* sum_grad,
                                          double* sum_grad_centered) {
  if (static_cast<int64_t>(channel_shift_.size()) < channels) channel_shift_.resize(static_cast<size_t>(channels));
  float* mean_f = channel_shift_.data();
  std::copy(mean, mean + channels, mean_f);
  with_fixed_tail(tail_spec, [&](const auto& tail) {
    channel_sums(rows, channels, channel_partial_, channel_block_sums_, sum_grad, sum_grad_centered,
                 [&](int64_t r, float* sum_g, float* sum_gx) {
                   const auto row_tail = tail;  // a private copy, as in batch_norm_apply
                   const float* row = src + r * channels;
                   const float* g_row = grad_dst + r * channels;
                   const auto first = static_cast<uint32_t>(r * channels);
#pragma omp simd
                   for (int64_t c = 0; c < channels; ++c) {
                     const float g = row_tail.gradient(g_row[c], a[c] * row[c] + b[c], first + static_cast<uint32_t>(c));
                     sum_g[c] += g;
                     sum_gx[c] += g * (row[c] - mean_f[c]);
                   }
                 });
  });
}

void CpuBackend::batch_norm_backward_data(int64_t rows, int64_t channels, const float* src, const float* grad_dst,
                                          const float* a, const float* b, const ElementwiseTail& tail_spec,
                                          const float* p, const float* q, const float* rr, float* grad_src) {
  with_fixed_tail(tail_spec, [&](const auto& tail_in) {
    const auto tail = tail_in;
#pragma omp parallel for schedule(static) firstprivate(tail) if (rows * channels > kParallelThreshold)
    for (int64_t r = 0; r < rows; ++r) {
      const float* s = src + r * channels;
      const float* g_row = grad_dst + r * channels;
      float* d = grad_src + r * channels;
      const auto first = static_cast<uint32_t>(r * channels);
#pragma omp simd
      for (int64_t c = 0; c < channels; ++c) {
        const float g = tail.gradient(g_row[c], a[c] * s[c] + b[c], first + static_cast<uint32_t>(c));
        d[c] = p[c] * g + q[c] * s[c] + rr[c];
      }
    }
  });
}

}  // namespace regula::backend
