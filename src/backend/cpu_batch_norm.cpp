// The fast batch-normalization kernels: per-channel sums with per-thread double partials, and the
// normalization with its element-wise tail compiled for each combination of ReLU and mask.

#include <omp.h>

#include <algorithm>

#include "src/backend/cpu_backend.hpp"

namespace regula::backend {
namespace {

// Below this many values a parallel region costs more than it saves.
constexpr int64_t kParallelThreshold = 32768;

// Adds per-channel sums of f(row, c) over all rows into out_a[0..channels) and out_b[0..channels)
// (two sums per channel), with per-thread double partials so the result does not depend on how
// rows are split beyond the summation order within a thread.
template <class Accumulate>
void channel_sums(int64_t rows, int64_t channels, std::vector<double>& partial, double* out_a, double* out_b,
                  Accumulate accumulate) {
  const int threads = rows * channels > kParallelThreshold ? omp_get_max_threads() : 1;
  const size_t stride = static_cast<size_t>(2 * channels);
  if (partial.size() < stride * static_cast<size_t>(threads)) partial.resize(stride * static_cast<size_t>(threads));
  std::fill(partial.begin(), partial.begin() + static_cast<std::ptrdiff_t>(stride * static_cast<size_t>(threads)), 0.0);
#pragma omp parallel num_threads(threads)
  {
    double* acc = partial.data() + stride * static_cast<size_t>(omp_get_thread_num());
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) accumulate(r, acc, acc + channels);
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
  // One pass of Σx and Σx²: it reads the batch once instead of twice.
  channel_sums(rows, channels, channel_partial_, sum, sum_squares, [&](int64_t r, double* s, double* s2) {
    const float* row = src + r * channels;
#pragma omp simd
    for (int64_t c = 0; c < channels; ++c) {
      const double v = row[c];
      s[c] += v;
      s2[c] += v * v;
    }
  });
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
  with_fixed_tail(tail_spec, [&](const auto& tail) {
    channel_sums(rows, channels, channel_partial_, sum_grad, sum_grad_centered,
                 [&](int64_t r, double* sum_g, double* sum_gx) {
                   const auto row_tail = tail;  // a private copy, as in batch_norm_apply
                   const float* row = src + r * channels;
                   const float* g_row = grad_dst + r * channels;
                   const auto first = static_cast<uint32_t>(r * channels);
#pragma omp simd
                   for (int64_t c = 0; c < channels; ++c) {
                     const float g = row_tail.gradient(g_row[c], a[c] * row[c] + b[c], first + static_cast<uint32_t>(c));
                     sum_g[c] += g;
                     sum_gx[c] += static_cast<double>(g) * (row[c] - mean[c]);
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
