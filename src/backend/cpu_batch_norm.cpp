// The fast batch-normalization kernels: per-channel sums (float within blocks of rows, double
// across them, per-thread partials), and the normalization with its tail compiled for each
// combination of ReLU, mask and max pooling.

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <vector>

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
//
// With a pooling tail (kPool), the gradient reaching a value is its window's pooled gradient where
// it won and +0 elsewhere; it is selected with a bit mask, for the same reason. With ReLU in the
// tail as well, the backward pass gates a winner by its pooled value (TailMaxPool::pooled: > 0
// exactly where ReLU and the mask let it through) instead of recomputing ReLU's input and the
// mask's hash for every value: the same gradients (a gated winner gives +0 where the separate
// layers may give −0, which no sum or product that follows can tell apart).
template <bool kRelu, bool kMask, bool kPool, bool kGatedByPooled = false>
struct FixedTail {
  static_assert(!kGatedByPooled || (kPool && kRelu), "the pooled values gate a pooling tail with ReLU");
  ElementMask mask;
  TailMaxPool pool;

  /// Where the gradient of input row r's tail outputs is: grad_dst's row, or under a pooling
  /// tail the pooled gradient, winners and values of the row's windows and the row's first index
  /// within its sample.
  struct OutputGradientRow {
    const float* grad;
    const int32_t* argmax;
    const float* pooled;
    int32_t first_in_sample;
  };

  float forward(float v, uint32_t i) const {
    if constexpr (kRelu) v = v < 0.0f ? 0.0f : v;  // ReLU's select: NaN passes
    if constexpr (kMask) v = v * mask.factor(i);
    return v;
  }
  /// ∂loss/∂v from g = ∂loss/∂(tail output) as output_gradient gives it, v the value before the tail.
  float gradient(float g, float v, uint32_t i) const {
    if constexpr (kGatedByPooled) {
      // output_gradient has gated g already; the mask's factor is its keep scale there.
      if constexpr (kMask) g = g * mask.keep_scale;
      return g;
    }
    // ReLU's gate as a bit mask (v > 0 keeps g, else +0, as the select would): with a pooling
    // tail GCC sinks the routing's add into a select and then leaves the loop unvectorized.
    if constexpr (kRelu) g = std::bit_cast<float>(std::bit_cast<uint32_t>(g) & (0u - static_cast<uint32_t>(v > 0.0f)));
    if constexpr (kMask) g = g * mask.factor(i);
    return g;
  }
  OutputGradientRow output_gradient_row(const float* grad_dst, int64_t r, int64_t channels) const {
    if constexpr (kPool) {
      const int64_t o = pool.pooled_index(r * channels, channels);  // the pooled row of channel 0
      return {grad_dst + o, pool.argmax + o, kGatedByPooled ? pool.pooled + o : nullptr,
              pool.index_in_sample(r * channels, channels)};
    } else {
      return {grad_dst + r * channels, nullptr, nullptr, 0};
    }
  }
  /// ∂loss/∂(tail output) of channel c of the row.
  float output_gradient(const OutputGradientRow& row, int64_t c) const {
    if constexpr (kPool) {
      // All ones where the value won (and, gated by the pooled values, passed), zero elsewhere,
      // without a select (which breaks vectorization once ReLU's and the mask's selects are in
      // the same loop).
      uint32_t passes = 0u - static_cast<uint32_t>(row.argmax[c] == row.first_in_sample + static_cast<int32_t>(c));
      if constexpr (kGatedByPooled) passes &= 0u - static_cast<uint32_t>(row.pooled[c] > 0.0f);
      return std::bit_cast<float>(std::bit_cast<uint32_t>(0.0f + row.grad[c]) & passes);
    } else {
      return row.grad[c];
    }
  }
};

// Calls body(FixedTail<relu, mask, pool, gated>{…}), so each combination gets its own branch-free
// loops; gated by the pooled values where the tail pools after ReLU and they are given.
template <bool kPool, class Body>
void with_fixed_steps(const ElementwiseTail& tail, Body&& body) {
  const bool gated = kPool && tail.relu && tail.pool.pooled != nullptr;
  if (gated && tail.mask.active)
    body(FixedTail<true, true, kPool, kPool>{tail.mask, tail.pool});
  else if (gated)
    body(FixedTail<true, false, kPool, kPool>{tail.mask, tail.pool});
  else if (tail.relu && tail.mask.active)
    body(FixedTail<true, true, kPool>{tail.mask, tail.pool});
  else if (tail.relu)
    body(FixedTail<true, false, kPool>{tail.mask, tail.pool});
  else if (tail.mask.active)
    body(FixedTail<false, true, kPool>{tail.mask, tail.pool});
  else
    body(FixedTail<false, false, kPool>{tail.mask, tail.pool});
}
template <class Body>
void with_fixed_tail(const ElementwiseTail& tail, Body&& body) {
  if (tail.pool.active)
    with_fixed_steps<true>(tail, body);
  else
    with_fixed_steps<false>(tail, body);
}

// Channels of a window pooled together by pool_window: their maxima fit in registers.
constexpr int64_t kPooledChannelBlock = 16;

// One window of apply_and_pool: for each channel, the tail's value at each window position
// (rows first_row + offsets[k], k in window order) and their maximum, with its position when
// kWinners. Blocks of channels keep their maxima in registers across the positions and store them
// once: selecting into the output at each position made GCC emit masked stores behind a branch.
template <bool kWinners, class Tail>
inline void pool_window(const Tail& tail, int64_t channels, int64_t positions, const int64_t* offsets,
                        const float* src, int64_t first_row, int64_t first_in_sample, const float* a, const float* b,
                        float* d, int32_t* winner) {
  for (int64_t c0 = 0; c0 < channels; c0 += kPooledChannelBlock) {
    const int64_t width = std::min(kPooledChannelBlock, channels - c0);
    float best[kPooledChannelBlock] = {};
    int32_t best_at[kPooledChannelBlock] = {};
    for (int64_t k = 0; k < positions; ++k) {
      const int64_t first = (first_row + offsets[k]) * channels + c0;
      const float* s = src + first;
      const auto at = static_cast<int32_t>(first_in_sample + offsets[k] * channels + c0);
      const auto pool_channel = [&](int64_t j) {
        const float v = tail.forward(a[c0 + j] * s[j] + b[c0 + j], static_cast<uint32_t>(first + j));
        const bool wins = k == 0 || v > best[j];
        best[j] = wins ? v : best[j];
        if constexpr (kWinners) best_at[j] = wins ? at + static_cast<int32_t>(j) : best_at[j];
      };
      if (width == kPooledChannelBlock) {
#pragma omp simd
        for (int64_t j = 0; j < kPooledChannelBlock; ++j) pool_channel(j);
      } else {
        for (int64_t j = 0; j < width; ++j) pool_channel(j);
      }
    }
    std::copy(best, best + width, d + c0);
    if constexpr (kWinners) std::copy(best_at, best_at + width, winner + c0);
  }
}

// batch_norm_apply with a pooling tail: threads over (image, output row); each window's values are
// computed, and pooled as Backend::max_pool2d_forward pools (the first position in window order
// seeds the maximum, later ones win only when strictly greater).
template <class Tail>
void apply_and_pool(int64_t rows, int64_t channels, const float* src, const float* a, const float* b,
                    const Tail& tail_in, float* dst) {
  const TailMaxPool& pool = tail_in.pool;
  const int64_t images = rows / (pool.in_h * pool.in_w);
  const int64_t out_h = pool.out_h(), out_w = pool.out_w();
  // Each window position's row relative to the window's first, in window order; kept by the
  // calling thread, so that a steady-state step allocates nothing.
  const int64_t positions = pool.pool_h * pool.pool_w;
  static thread_local std::vector<int64_t> position_rows;
  position_rows.resize(static_cast<size_t>(positions));
  for (int64_t k = 0; k < positions; ++k) position_rows[static_cast<size_t>(k)] = k / pool.pool_w * pool.in_w + k % pool.pool_w;
  const int64_t* offsets = position_rows.data();
  const auto tail = tail_in;
#pragma omp parallel for collapse(2) schedule(static) firstprivate(tail) if (rows * channels > kParallelThreshold)
  for (int64_t n = 0; n < images; ++n)
    for (int64_t oh = 0; oh < out_h; ++oh)
      for (int64_t ow = 0; ow < out_w; ++ow) {
        const int64_t o = ((n * out_h + oh) * out_w + ow) * channels;
        const int64_t first_in_image = oh * pool.pool_h * pool.in_w + ow * pool.pool_w;
        const int64_t first_row = n * pool.in_h * pool.in_w + first_in_image;
        if (tail.pool.argmax != nullptr)
          pool_window<true>(tail, channels, positions, offsets, src, first_row, first_in_image * channels, a, b, dst + o,
                            tail.pool.argmax + o);
        else
          pool_window<false>(tail, channels, positions, offsets, src, first_row, 0, a, b, dst + o, nullptr);
      }
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
    if (tail_spec.pool.active) {
      apply_and_pool(rows, channels, src, a, b, tail_in, dst);
      return;
    }
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
                   const auto g_row = row_tail.output_gradient_row(grad_dst, r, channels);
                   const auto first = static_cast<uint32_t>(r * channels);
#pragma omp simd
                   for (int64_t c = 0; c < channels; ++c) {
                     const float g = row_tail.gradient(row_tail.output_gradient(g_row, c), a[c] * row[c] + b[c],
                                                       first + static_cast<uint32_t>(c));
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
      const auto g_row = tail.output_gradient_row(grad_dst, r, channels);
      float* d = grad_src + r * channels;
      const auto first = static_cast<uint32_t>(r * channels);
#pragma omp simd
      for (int64_t c = 0; c < channels; ++c) {
        const float g = tail.gradient(tail.output_gradient(g_row, c), a[c] * s[c] + b[c], first + static_cast<uint32_t>(c));
        d[c] = p[c] * g + q[c] * s[c] + rr[c];
      }
    }
  });
}

}  // namespace regula::backend
