// The fast batch-normalization kernels: per-channel sums (float within blocks of rows, double
// across them, per-thread partials), and the normalization with its tail compiled for each
// combination of ReLU, mask and max pooling.

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cstdint>

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
// it won and +0 elsewhere; it is selected with a bit mask, for the same reason.
template <bool kRelu, bool kMask, bool kPool>
struct FixedTail {
  ElementMask mask;
  TailMaxPool pool;

  /// Where the gradient of input row r's tail outputs is: grad_dst's row, or under a pooling
  /// tail the pooled gradient and winners of the row's windows and the row's first index within
  /// its sample.
  struct OutputGradientRow {
    const float* grad;
    const int32_t* argmax;
    int32_t first_in_sample;
  };

  float forward(float v, uint32_t i) const {
    if constexpr (kRelu) v = v < 0.0f ? 0.0f : v;  // ReLU's select: NaN passes
    if constexpr (kMask) v = v * mask.factor(i);
    return v;
  }
  float gradient(float g, float v, uint32_t i) const {
    // ReLU's gate as a bit mask (v > 0 keeps g, else +0, as the select would): with a pooling
    // tail GCC sinks the routing's add into a select and then leaves the loop unvectorized.
    if constexpr (kRelu) g = std::bit_cast<float>(std::bit_cast<uint32_t>(g) & (0u - static_cast<uint32_t>(v > 0.0f)));
    if constexpr (kMask) g = g * mask.factor(i);
    return g;
  }
  OutputGradientRow output_gradient_row(const float* grad_dst, int64_t r, int64_t channels) const {
    if constexpr (kPool) {
      const int64_t o = pool.pooled_index(r * channels, channels);  // the pooled row of channel 0
      return {grad_dst + o, pool.argmax + o, pool.index_in_sample(r * channels, channels)};
    } else {
      return {grad_dst + r * channels, nullptr, 0};
    }
  }
  /// ∂loss/∂(tail output) of channel c of the row.
  float output_gradient(const OutputGradientRow& row, int64_t c) const {
    if constexpr (kPool) {
      // All ones where the value won, zero elsewhere, without a select (which breaks vectorization
      // once ReLU's and the mask's selects are in the same loop).
      const uint32_t won = 0u - static_cast<uint32_t>(row.argmax[c] == row.first_in_sample + static_cast<int32_t>(c));
      return std::bit_cast<float>(std::bit_cast<uint32_t>(0.0f + row.grad[c]) & won);
    } else {
      return row.grad[c];
    }
  }
};

// Calls body(FixedTail<relu, mask, pool>{…}), so each combination gets its own branch-free loops.
template <bool kPool, class Body>
void with_fixed_steps(const ElementwiseTail& tail, Body&& body) {
  if (tail.relu && tail.mask.active)
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

// batch_norm_apply with a pooling tail: threads over (image, output row); each window's values are
// computed, and pooled as Backend::max_pool2d_forward pools (the first position in window order
// seeds the maximum, later ones win only when strictly greater).
template <class Tail>
void apply_and_pool(int64_t rows, int64_t channels, const float* src, const float* a, const float* b,
                    const Tail& tail_in, float* dst) {
  const TailMaxPool& pool = tail_in.pool;
  const int64_t images = rows / (pool.in_h * pool.in_w);
  const int64_t out_h = pool.out_h(), out_w = pool.out_w();
  const auto tail = tail_in;
#pragma omp parallel for collapse(2) schedule(static) firstprivate(tail) if (rows * channels > kParallelThreshold)
  for (int64_t n = 0; n < images; ++n)
    for (int64_t oh = 0; oh < out_h; ++oh)
      for (int64_t ow = 0; ow < out_w; ++ow) {
        const int64_t o = ((n * out_h + oh) * out_w + ow) * channels;
        float* d = dst + o;
        int32_t* winner = tail.pool.argmax != nullptr ? tail.pool.argmax + o : nullptr;
        bool seeded = false;
        for (int64_t ih = oh * pool.pool_h; ih < (oh + 1) * pool.pool_h; ++ih)
          for (int64_t iw = ow * pool.pool_w; iw < (ow + 1) * pool.pool_w; ++iw) {
            const int64_t r = (n * pool.in_h + ih) * pool.in_w + iw;
            const float* s = src + r * channels;
            const auto first = static_cast<uint32_t>(r * channels);
            const auto in_sample = static_cast<int32_t>((ih * pool.in_w + iw) * channels);
            if (!seeded) {
#pragma omp simd
              for (int64_t c = 0; c < channels; ++c) d[c] = tail.forward(a[c] * s[c] + b[c], first + static_cast<uint32_t>(c));
              if (winner != nullptr)
                for (int64_t c = 0; c < channels; ++c) winner[c] = in_sample + static_cast<int32_t>(c);
              seeded = true;
            } else if (winner != nullptr) {
#pragma omp simd
              for (int64_t c = 0; c < channels; ++c) {
                const float v = tail.forward(a[c] * s[c] + b[c], first + static_cast<uint32_t>(c));
                const bool greater = v > d[c];
                d[c] = greater ? v : d[c];
                winner[c] = greater ? in_sample + static_cast<int32_t>(c) : winner[c];
              }
            } else {
#pragma omp simd
              for (int64_t c = 0; c < channels; ++c) {
                const float v = tail.forward(a[c] * s[c] + b[c], first + static_cast<uint32_t>(c));
                d[c] = v > d[c] ? v : d[c];
              }
            }
          }
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
