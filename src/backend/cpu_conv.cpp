// Fast convolutions over NHWC: im2col + one GEMM per batch chunk, direct kernels for tiny patches
// (cpu_conv_small_patch.cpp: the first layer of an image model has in_c = 1, where K = kh·kw is too
// small for a GEMM to pay off) and no im2col at all for 1x1, stride-1, unpadded kernels.
//
// Layout: im2col row r = (n, oh, ow) holds the patch (kh, kw, ic) in the same order as the kernel
// (kh, kw, in_c, out_c) flattened to a K × out_c matrix with K = kh·kw·in_c, so
//   forward           dst(rows × out_c)    = col(rows × K) · kernel(K × out_c)
//   backward weights  grad_kernel(K × out_c) = colᵀ · grad_dst
//   backward data     gcol(rows × K)       = grad_dst · kernelᵀ, then col2im into grad_src.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "src/backend/cpu_backend.hpp"
#include "src/backend/cpu_conv_small_patch.hpp"

namespace regula::backend {
namespace {

// A chunk's columns are kept around 8 MiB: big enough that the GEMM runs near peak, small enough
// to stay in the last-level cache between im2col writing it and the GEMM reading it.
constexpr int64_t kColumnBudget = int64_t{2} << 20;

// Below this many values a parallel region (and its barrier) costs more than the work.
constexpr int64_t kParallelThreshold = 32768;

int64_t patch_size(const Conv2DGeometry& g) { return g.kernel_h * g.kernel_w * g.in_c; }
int64_t out_pixels(const Conv2DGeometry& g) { return g.out_h * g.out_w; }

bool is_pointwise(const Conv2DGeometry& g) {
  return g.kernel_h == 1 && g.kernel_w == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_top == 0 &&
         g.pad_left == 0 && g.out_h == g.in_h && g.out_w == g.in_w;
}

int64_t samples_per_chunk(const Conv2DGeometry& g) {
  const int64_t per_sample = std::max<int64_t>(out_pixels(g) * patch_size(g), 1);
  return std::clamp<int64_t>(kColumnBudget / per_sample, 1, std::max<int64_t>(g.batch, 1));
}

// Copies `count` values into float32 or (rounded) bfloat16 columns.
inline void copy_values(const float* from, int64_t count, float* to) {
  std::memcpy(to, from, static_cast<size_t>(count) * sizeof(float));
}
inline void copy_values(const float* from, int64_t count, uint16_t* to) {
#pragma omp simd
  for (int64_t i = 0; i < count; ++i) to[i] = to_bfloat16_bits(from[i]);
}

// Gathers the patch of output pixel (n, oh, ow) into `dst` (K values, zeros outside the image),
// as float32 or as bfloat16 (whose zero is also all bits zero).
template <class Value>
inline void gather_patch(const Conv2DGeometry& g, const float* src, int64_t n, int64_t oh, int64_t ow, Value* dst) {
  const int64_t ih0 = oh * g.stride_h - g.pad_top;
  const int64_t iw0 = ow * g.stride_w - g.pad_left;
  const int64_t row_values = g.kernel_w * g.in_c;
  for (int64_t kh = 0; kh < g.kernel_h; ++kh, dst += row_values) {
    const int64_t ih = ih0 + kh;
    if (ih < 0 || ih >= g.in_h) {
      std::memset(dst, 0, static_cast<size_t>(row_values) * sizeof(Value));
      continue;
    }
    const float* s = src + ((n * g.in_h + ih) * g.in_w) * g.in_c;
    // The columns of this kernel row that fall inside the image are contiguous in NHWC.
    const int64_t kw_begin = std::clamp<int64_t>(-iw0, 0, g.kernel_w);
    const int64_t kw_end = std::clamp<int64_t>(g.in_w - iw0, kw_begin, g.kernel_w);
    if (kw_begin > 0) std::memset(dst, 0, static_cast<size_t>(kw_begin * g.in_c) * sizeof(Value));
    if (kw_end > kw_begin) copy_values(s + (iw0 + kw_begin) * g.in_c, (kw_end - kw_begin) * g.in_c, dst + kw_begin * g.in_c);
    if (kw_end < g.kernel_w)
      std::memset(dst + kw_end * g.in_c, 0, static_cast<size_t>((g.kernel_w - kw_end) * g.in_c) * sizeof(Value));
  }
}

// im2col for samples [n0, n0 + count) into `col` (count·out_h·out_w rows of K values).
template <class Value>
void im2col(const Conv2DGeometry& g, const float* src, int64_t n0, int64_t count, Value* col) {
  const int64_t k = patch_size(g);
#pragma omp parallel for collapse(2) schedule(static) if (count * g.out_h * g.out_w * k > kParallelThreshold)
  for (int64_t n = 0; n < count; ++n)
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      Value* row = col + ((n * g.out_h + oh) * g.out_w) * k;
      for (int64_t ow = 0; ow < g.out_w; ++ow, row += k) gather_patch(g, src, n0 + n, oh, ow, row);
    }
}

// col2im as a gather: each input pixel sums the patch entries that read it, so threads write
// disjoint memory (no atomics, no zeroing pass) and grad_src is overwritten.
void col2im(const Conv2DGeometry& g, const float* gcol, int64_t n0, int64_t count, float* grad_src) {
  const int64_t k = patch_size(g);
#pragma omp parallel for collapse(2) schedule(static) if (count * g.out_h * g.out_w * k > kParallelThreshold)
  for (int64_t n = 0; n < count; ++n)
    for (int64_t ih = 0; ih < g.in_h; ++ih) {
      for (int64_t iw = 0; iw < g.in_w; ++iw) {
        float* gs = grad_src + (((n0 + n) * g.in_h + ih) * g.in_w + iw) * g.in_c;
        std::fill(gs, gs + g.in_c, 0.0f);
        for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
          const int64_t th = ih + g.pad_top - kh;
          if (th < 0) break;
          if (th % g.stride_h != 0) continue;
          const int64_t oh = th / g.stride_h;
          if (oh >= g.out_h) continue;
          for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
            const int64_t tw = iw + g.pad_left - kw;
            if (tw < 0) break;
            if (tw % g.stride_w != 0) continue;
            const int64_t ow = tw / g.stride_w;
            if (ow >= g.out_w) continue;
            const float* src = gcol + ((n * g.out_h + oh) * g.out_w + ow) * k + (kh * g.kernel_w + kw) * g.in_c;
#pragma omp simd
            for (int64_t c = 0; c < g.in_c; ++c) gs[c] += src[c];
          }
        }
      }
    }
}

}  // namespace

float* CpuBackend::scratch(std::vector<float>& buffer, int64_t count) {
  if (static_cast<int64_t>(buffer.size()) < count) buffer.resize(static_cast<size_t>(count));
  return buffer.data();
}

const float* CpuBackend::rounded_to_bfloat16(const float* x, int64_t count, std::vector<float>& buffer) {
  float* rounded = scratch(buffer, count);
#pragma omp parallel for simd schedule(static) if (count > kParallelThreshold)
  for (int64_t i = 0; i < count; ++i) rounded[i] = round_to_bfloat16(x[i]);
  return rounded;
}

void CpuBackend::conv2d_forward(const Conv2DGeometry& g, const float* src, const float* kernel, const float* bias,
                                float* dst) {
  const int64_t k = patch_size(g);
  const int64_t oc_count = g.out_c;
  const int64_t rows = g.batch * out_pixels(g);
  if (rows == 0 || oc_count == 0) return;

  if (is_small_patch(g)) {
    if (g.compute == ComputeDtype::bfloat16 && cpu_has_bfloat16()) {
      src = rounded_to_bfloat16(src, g.batch * g.in_h * g.in_w * g.in_c, rounded_src_);
      kernel = rounded_to_bfloat16(kernel, k * oc_count, rounded_other_);
    }
    small_patch_conv_forward(g, src, kernel, bias, dst);
    return;
  }

  const bool threaded = rows * (k + 1) * oc_count > kParallelThreshold;

  if (bias != nullptr) {
#pragma omp parallel for schedule(static) if (threaded)
    for (int64_t r = 0; r < rows; ++r) std::copy(bias, bias + oc_count, dst + r * oc_count);
  }
  const float beta = bias != nullptr ? 1.0f : 0.0f;
  if (is_pointwise(g)) {
    gemm(false, false, rows, oc_count, k, 1.0f, src, k, kernel, oc_count, beta, dst, oc_count, g.compute);
    return;
  }
  if (g.compute == ComputeDtype::bfloat16 && cpu_has_bfloat16()) {
    // bfloat16: im2col writes rounded columns directly (half the bytes, no conversion pass).
    const int64_t chunk = samples_per_chunk(g);
    const uint16_t* kernel_bf16 = to_bfloat16(kernel, k * oc_count, bfloat16_b_);
    uint16_t* col = grown(bfloat16_columns_, chunk * out_pixels(g) * k);
    for (int64_t n0 = 0; n0 < g.batch; n0 += chunk) {
      const int64_t count = std::min(chunk, g.batch - n0);
      im2col(g, src, n0, count, col);
      matmul_bfloat16(false, false, count * out_pixels(g), oc_count, k, col, kernel_bf16, beta,
                      dst + n0 * out_pixels(g) * oc_count, oc_count);
    }
    return;
  }
  const int64_t chunk = samples_per_chunk(g);
  float* col = scratch(col_, chunk * out_pixels(g) * k);
  for (int64_t n0 = 0; n0 < g.batch; n0 += chunk) {
    const int64_t count = std::min(chunk, g.batch - n0);
    const int64_t chunk_rows = count * out_pixels(g);
    im2col(g, src, n0, count, col);
    gemm(false, false, chunk_rows, oc_count, k, 1.0f, col, k, kernel, oc_count, beta,
         dst + n0 * out_pixels(g) * oc_count, oc_count, g.compute);
  }
}

void CpuBackend::conv2d_backward_data(const Conv2DGeometry& g, const float* grad_dst, const float* kernel,
                                      float* grad_src) {
  const int64_t k = patch_size(g);
  const int64_t src_size = g.batch * g.in_h * g.in_w * g.in_c;
  if (g.out_c == 0 || out_pixels(g) == 0) {
    std::fill(grad_src, grad_src + src_size, 0.0f);
    return;
  }
  if (is_pointwise(g)) {
    gemm(false, true, g.batch * out_pixels(g), k, g.out_c, 1.0f, grad_dst, g.out_c, kernel, g.out_c, 0.0f, grad_src,
         k, g.compute);
    return;
  }
  const int64_t chunk = samples_per_chunk(g);
  float* gcol = scratch(col_, chunk * out_pixels(g) * k);
  for (int64_t n0 = 0; n0 < g.batch; n0 += chunk) {
    const int64_t count = std::min(chunk, g.batch - n0);
    gemm(false, true, count * out_pixels(g), k, g.out_c, 1.0f, grad_dst + n0 * out_pixels(g) * g.out_c, g.out_c,
         kernel, g.out_c, 0.0f, gcol, k, g.compute);
    col2im(g, gcol, n0, count, grad_src);
  }
}

void CpuBackend::conv2d_backward_weights(const Conv2DGeometry& g, const float* src, const float* grad_dst,
                                         float* grad_kernel, float* grad_bias) {
  const int64_t k = patch_size(g);
  const int64_t oc_count = g.out_c;
  const int64_t rows = g.batch * out_pixels(g);
  if (rows == 0) {
    std::fill(grad_kernel, grad_kernel + k * oc_count, 0.0f);
    if (grad_bias != nullptr) std::fill(grad_bias, grad_bias + oc_count, 0.0f);
    return;
  }

  const int threads = rows * (k + 1) * oc_count > kParallelThreshold ? omp_get_max_threads() : 1;
  if (is_small_patch(g)) {
    if (g.compute != ComputeDtype::bfloat16 || !cpu_has_bfloat16()) {
      small_patch_conv_backward_weights(g, src, grad_dst, grad_kernel, grad_bias, partial_);
      return;
    }
    // bfloat16: the products from rounded operands; the bias gradient (below) sums the unrounded
    // grad_dst, as the reference does.
    const float* rounded_grad = rounded_to_bfloat16(grad_dst, rows * oc_count, rounded_other_);
    small_patch_conv_backward_weights(g, rounded_to_bfloat16(src, g.batch * g.in_h * g.in_w * g.in_c, rounded_src_),
                                      rounded_grad, grad_kernel, nullptr, partial_);
  } else if (is_pointwise(g)) {
    gemm(true, false, k, oc_count, rows, 1.0f, src, k, grad_dst, oc_count, 0.0f, grad_kernel, oc_count, g.compute);
  } else if (g.compute == ComputeDtype::bfloat16 && cpu_has_bfloat16()) {
    const int64_t chunk = samples_per_chunk(g);
    const uint16_t* grad_bf16 = to_bfloat16(grad_dst, rows * oc_count, bfloat16_b_);
    uint16_t* col = grown(bfloat16_columns_, chunk * out_pixels(g) * k);
    for (int64_t n0 = 0; n0 < g.batch; n0 += chunk) {
      const int64_t count = std::min(chunk, g.batch - n0);
      im2col(g, src, n0, count, col);
      matmul_bfloat16(true, false, k, oc_count, count * out_pixels(g), col, grad_bf16 + n0 * out_pixels(g) * oc_count,
                      n0 == 0 ? 0.0f : 1.0f, grad_kernel, oc_count);
    }
  } else {
    const int64_t chunk = samples_per_chunk(g);
    float* col = scratch(col_, chunk * out_pixels(g) * k);
    for (int64_t n0 = 0; n0 < g.batch; n0 += chunk) {
      const int64_t count = std::min(chunk, g.batch - n0);
      im2col(g, src, n0, count, col);
      gemm(true, false, k, oc_count, count * out_pixels(g), 1.0f, col, k, grad_dst + n0 * out_pixels(g) * oc_count,
           oc_count, n0 == 0 ? 0.0f : 1.0f, grad_kernel, oc_count, g.compute);
    }
  }
  if (grad_bias != nullptr) {
    float* partial = scratch(partial_, oc_count * threads);
    std::fill(partial, partial + oc_count * threads, 0.0f);
#pragma omp parallel num_threads(threads)
    {
      float* acc = partial + oc_count * omp_get_thread_num();
#pragma omp for schedule(static)
      for (int64_t r = 0; r < rows; ++r) {
        const float* gd = grad_dst + r * oc_count;
#pragma omp simd
        for (int64_t c = 0; c < oc_count; ++c) acc[c] += gd[c];
      }
    }
    for (int64_t c = 0; c < oc_count; ++c) {
      float sum = 0.0f;
      for (int t = 0; t < threads; ++t) sum += partial[oc_count * t + c];
      grad_bias[c] = sum;
    }
  }
}

}  // namespace regula::backend
