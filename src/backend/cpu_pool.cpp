// Fast pooling over NHWC: threads over (sample, output row), vectorised over channels (the
// contiguous axis), so a 2x2 window is a handful of SIMD compares per output pixel.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>

#include "src/backend/cpu_backend.hpp"

namespace regula::backend {
namespace {

// Clipped window [h0, h1) × [w0, w1) of output pixel (oh, ow).
struct Window {
  int64_t h0, h1, w0, w1;
};

inline Window window_of(const Pool2DGeometry& g, int64_t oh, int64_t ow) {
  const int64_t top = oh * g.stride_h - g.pad_top;
  const int64_t left = ow * g.stride_w - g.pad_left;
  return {std::max<int64_t>(top, 0), std::min<int64_t>(top + g.pool_h, g.in_h), std::max<int64_t>(left, 0),
          std::min<int64_t>(left + g.pool_w, g.in_w)};
}

// Windows that do not overlap let backward threads split output rows: every input pixel then
// receives from at most one window, so writes never collide.
bool windows_disjoint(const Pool2DGeometry& g) { return g.stride_h >= g.pool_h && g.stride_w >= g.pool_w; }

// Windows that tile the input exactly (2x2 windows of stride 2 over an even image, unpadded):
// every input pixel is in exactly one window, so backward can write each one once, with no
// zeroing pass before a scatter.
bool windows_tile_input(const Pool2DGeometry& g) {
  return g.stride_h == g.pool_h && g.stride_w == g.pool_w && g.pad_top == 0 && g.pad_left == 0 &&
         g.out_h * g.pool_h == g.in_h && g.out_w * g.pool_w == g.in_w;
}

// Below this many values a parallel region (and its barrier) costs more than the work.
constexpr int64_t kParallelThreshold = 32768;

bool worth_threads(const Pool2DGeometry& g) {
  return g.batch * std::max(g.in_h * g.in_w, g.out_h * g.out_w) * g.channels > kParallelThreshold;
}

}  // namespace

void CpuBackend::max_pool2d_forward(const Pool2DGeometry& g, const float* src, float* dst, int32_t* argmax) {
  const int64_t channels = g.channels;
#pragma omp parallel for collapse(2) schedule(static) if (worth_threads(g))
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      const float* s = src + n * g.in_h * g.in_w * channels;
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const int64_t o = ((n * g.out_h + oh) * g.out_w + ow) * channels;
        float* d = dst + o;
        int32_t* a = argmax != nullptr ? argmax + o : nullptr;
        const Window w = window_of(g, oh, ow);
        if (w.h0 >= w.h1 || w.w0 >= w.w1) {
          std::fill(d, d + channels, 0.0f);
          if (a != nullptr) std::fill(a, a + channels, -1);
          continue;
        }
        // The first position in window order seeds the maximum; later ones win only when strictly
        // greater, the same tie rule as the reference backend.
        const int64_t first = (w.h0 * g.in_w + w.w0) * channels;
        std::memcpy(d, s + first, static_cast<size_t>(channels) * sizeof(float));
        if (a != nullptr)
          for (int64_t c = 0; c < channels; ++c) a[c] = static_cast<int32_t>(first + c);
        for (int64_t ih = w.h0; ih < w.h1; ++ih)
          for (int64_t iw = (ih == w.h0 ? w.w0 + 1 : w.w0); iw < w.w1; ++iw) {
            const int64_t base = (ih * g.in_w + iw) * channels;
            const float* v = s + base;
            if (a != nullptr) {
#pragma omp simd
              for (int64_t c = 0; c < channels; ++c) {
                const bool greater = v[c] > d[c];
                d[c] = greater ? v[c] : d[c];
                a[c] = greater ? static_cast<int32_t>(base + c) : a[c];
              }
            } else {
#pragma omp simd
              for (int64_t c = 0; c < channels; ++c) d[c] = v[c] > d[c] ? v[c] : d[c];
            }
          }
      }
    }
}

void CpuBackend::max_pool2d_backward(const Pool2DGeometry& g, const float* grad_dst, const int32_t* argmax,
                                     float* grad_src) {
  const int64_t in_sample = g.in_h * g.in_w * g.channels;
  const int64_t out_row = g.out_w * g.channels;
  const int64_t out_sample = g.out_h * out_row;
  if (windows_tile_input(g)) {
    // Each input value is its window's gradient where it was the maximum, else 0; `0.0f + g`
    // keeps the bits of the scatter below (which adds g to a zero, turning −0 into +0).
    const int64_t channels = g.channels;
#pragma omp parallel for collapse(2) schedule(static) if (worth_threads(g))
    for (int64_t n = 0; n < g.batch; ++n)
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        float* gs = grad_src + n * in_sample;
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const int64_t o = n * out_sample + oh * out_row + ow * channels;
          const float* gd = grad_dst + o;
          const int32_t* a = argmax + o;
          for (int64_t ih = oh * g.pool_h; ih < (oh + 1) * g.pool_h; ++ih)
            for (int64_t iw = ow * g.pool_w; iw < (ow + 1) * g.pool_w; ++iw) {
              const int64_t base = (ih * g.in_w + iw) * channels;
              const auto first = static_cast<int32_t>(base);
              float* v = gs + base;
#pragma omp simd
              for (int32_t c = 0; c < static_cast<int32_t>(channels); ++c) {
                // A bit mask rather than a select, which GCC leaves unvectorized here.
                const uint32_t keep = a[c] == first + c ? ~0u : 0u;
                v[c] = std::bit_cast<float>(std::bit_cast<uint32_t>(0.0f + gd[c]) & keep);
              }
            }
        }
      }
    return;
  }
  if (windows_disjoint(g)) {
#pragma omp parallel if (worth_threads(g))
    {
#pragma omp for schedule(static)
      for (int64_t i = 0; i < g.batch * in_sample; ++i) grad_src[i] = 0.0f;
#pragma omp for collapse(2) schedule(static)
      for (int64_t n = 0; n < g.batch; ++n)
        for (int64_t oh = 0; oh < g.out_h; ++oh) {
          float* gs = grad_src + n * in_sample;
          const int64_t o0 = n * out_sample + oh * out_row;
          for (int64_t o = o0; o < o0 + out_row; ++o)
            if (argmax[o] >= 0) gs[argmax[o]] += grad_dst[o];
        }
    }
    return;
  }
#pragma omp parallel for schedule(static) if (worth_threads(g))
  for (int64_t n = 0; n < g.batch; ++n) {
    float* gs = grad_src + n * in_sample;
    std::fill(gs, gs + in_sample, 0.0f);
    for (int64_t o = n * out_sample; o < (n + 1) * out_sample; ++o)
      if (argmax[o] >= 0) gs[argmax[o]] += grad_dst[o];
  }
}

void CpuBackend::avg_pool2d_forward(const Pool2DGeometry& g, const float* src, float* dst) {
  const int64_t channels = g.channels;
#pragma omp parallel for collapse(2) schedule(static) if (worth_threads(g))
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      const float* s = src + n * g.in_h * g.in_w * channels;
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        float* d = dst + ((n * g.out_h + oh) * g.out_w + ow) * channels;
        const Window w = window_of(g, oh, ow);
        std::fill(d, d + channels, 0.0f);
        const int64_t count = std::max<int64_t>(w.h1 - w.h0, 0) * std::max<int64_t>(w.w1 - w.w0, 0);
        if (count == 0) continue;
        for (int64_t ih = w.h0; ih < w.h1; ++ih)
          for (int64_t iw = w.w0; iw < w.w1; ++iw) {
            const float* v = s + (ih * g.in_w + iw) * channels;
#pragma omp simd
            for (int64_t c = 0; c < channels; ++c) d[c] += v[c];
          }
        const float inv = 1.0f / static_cast<float>(count);
#pragma omp simd
        for (int64_t c = 0; c < channels; ++c) d[c] *= inv;
      }
    }
}

void CpuBackend::avg_pool2d_backward(const Pool2DGeometry& g, const float* grad_dst, float* grad_src) {
  const int64_t channels = g.channels;
  const int64_t in_sample = g.in_h * g.in_w * channels;
  // Scatters output row oh of sample n into its (zeroed) input rows.
  auto scatter_row = [&](int64_t n, int64_t oh) {
    float* gs = grad_src + n * in_sample;
    for (int64_t ow = 0; ow < g.out_w; ++ow) {
      const Window w = window_of(g, oh, ow);
      const int64_t count = std::max<int64_t>(w.h1 - w.h0, 0) * std::max<int64_t>(w.w1 - w.w0, 0);
      if (count == 0) continue;
      const float inv = 1.0f / static_cast<float>(count);
      const float* gd = grad_dst + ((n * g.out_h + oh) * g.out_w + ow) * channels;
      for (int64_t ih = w.h0; ih < w.h1; ++ih)
        for (int64_t iw = w.w0; iw < w.w1; ++iw) {
          float* v = gs + (ih * g.in_w + iw) * channels;
#pragma omp simd
          for (int64_t c = 0; c < channels; ++c) v[c] += gd[c] * inv;
        }
    }
  };
  if (windows_disjoint(g)) {
#pragma omp parallel if (worth_threads(g))
    {
#pragma omp for schedule(static)
      for (int64_t i = 0; i < g.batch * in_sample; ++i) grad_src[i] = 0.0f;
#pragma omp for collapse(2) schedule(static)
      for (int64_t n = 0; n < g.batch; ++n)
        for (int64_t oh = 0; oh < g.out_h; ++oh) scatter_row(n, oh);
    }
    return;
  }
#pragma omp parallel for schedule(static) if (worth_threads(g))
  for (int64_t n = 0; n < g.batch; ++n) {
    std::fill(grad_src + n * in_sample, grad_src + (n + 1) * in_sample, 0.0f);
    for (int64_t oh = 0; oh < g.out_h; ++oh) scatter_row(n, oh);
  }
}

}  // namespace regula::backend
