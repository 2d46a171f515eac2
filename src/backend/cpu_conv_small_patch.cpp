// The direct weight-gradient kernel for small patches (K = kh·kw·in_c ≤ kSmallPatchMax), such as
// the first layer of an image model (in_c = 1, K = 9), where oneDNN's NHWC backward-weights
// primitive is slow: 7.5 ms against 3 ms here for the seed model's first layer at batch 128 on a
// 2-core AMD EPYC (its forward primitive is the faster one, so forward goes to oneDNN).
//
// Rows (n, oh, ow) are processed in tiles: a tile's patches are gathered into a small row-major
// buffer (tile rows × K, on the stack), then register-blocked loops run over it, vectorised over
// output channels in blocks of 8 floats (GCC/Clang vector extensions: AVX2 registers with
// -march=x86-64-v3, SSE pairs without):
//   partial(i, c) += Σ_rows patch(row, i) · grad_dst(row, c), where the bias
//                     gradient is one more patch entry whose value is always 1.
// Each thread accumulates its rows' weight gradients in its own partial (K + 1) × out_c block; the
// partials are then added in thread order, so results are deterministic for a thread count.
#include <omp.h>

#include <algorithm>

#include "src/backend/cpu_backend.hpp"
#include "src/backend/cpu_conv_small_patch.hpp"
#include "src/backend/thread_partials.hpp"

namespace regula::backend {
namespace {

using Vec8 = float __attribute__((vector_size(32)));
constexpr int64_t kLanes = 8;
// Rows gathered per tile: the tile (≤ 64 × 33 floats) and its grad_dst rows stay in L1.
constexpr int64_t kTileRows = 64;
// Below this many multiply-adds a parallel region costs more than it saves.
constexpr int64_t kParallelWork = 1 << 16;

// An unaligned, alias-safe view of 8 floats: loads and stores compile to single vmovups.
using UnalignedVec8 = float __attribute__((vector_size(32), aligned(4), may_alias));
inline Vec8 load(const float* p) { return *reinterpret_cast<const UnalignedVec8*>(p); }
inline void store(float* p, Vec8 v) { *reinterpret_cast<UnalignedVec8*>(p) = v; }
inline Vec8 broadcast(float x) { return Vec8{x, x, x, x, x, x, x, x}; }

int64_t out_pixels(const Conv2DGeometry& g) { return g.out_h * g.out_w; }

// Writes the patches of `count` consecutive flat output rows from `first_row` (each K values in
// kernel order kh, kw, ic, zeros outside the image, then `extra` ones: the bias's input) to
// `patches`, one row every K + extra values.
void gather_patches(const Conv2DGeometry& g, const float* src, int64_t first_row, int64_t count, int extra,
                    float* patches) {
  int64_t n = first_row / out_pixels(g);
  int64_t oh = first_row % out_pixels(g) / g.out_w;
  int64_t ow = first_row % g.out_w;
  for (int64_t r = 0; r < count; ++r) {
    const int64_t ih0 = oh * g.stride_h - g.pad_top;
    const int64_t iw0 = ow * g.stride_w - g.pad_left;
    const float* image = src + n * g.in_h * g.in_w * g.in_c;
    for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
      const int64_t ih = ih0 + kh;
      const bool row_inside = ih >= 0 && ih < g.in_h;
      for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
        const int64_t iw = iw0 + kw;
        const bool inside = row_inside && iw >= 0 && iw < g.in_w;
        const float* s = image + (ih * g.in_w + iw) * g.in_c;
        for (int64_t c = 0; c < g.in_c; ++c) *patches++ = inside ? s[c] : 0.0f;
      }
    }
    for (int i = 0; i < extra; ++i) *patches++ = 1.0f;
    if (++ow == g.out_w) {
      ow = 0;
      if (++oh == g.out_h) {
        oh = 0;
        ++n;
      }
    }
  }
}

// partial(i0 + [0, I), c0 + [0, 8·V)) += Σ_r patches(r, i0 + ·) · grad_dst(r, c0 + ·).
template <int I, int V>
inline void weights_block(int64_t rows, const float* patches, int64_t k, const float* grad_dst, int64_t out_c,
                          int64_t i0, int64_t c0, float* partial) {
  Vec8 acc[I][V];
  for (int i = 0; i < I; ++i)
    for (int v = 0; v < V; ++v) acc[i][v] = load(partial + (i0 + i) * out_c + c0 + v * kLanes);
  for (int64_t r = 0; r < rows; ++r) {
    Vec8 gd[V];
    for (int v = 0; v < V; ++v) gd[v] = load(grad_dst + r * out_c + c0 + v * kLanes);
    for (int i = 0; i < I; ++i) {
      const Vec8 x = broadcast(patches[r * k + i0 + i]);
      for (int v = 0; v < V; ++v) acc[i][v] += x * gd[v];
    }
  }
  for (int i = 0; i < I; ++i)
    for (int v = 0; v < V; ++v) store(partial + (i0 + i) * out_c + c0 + v * kLanes, acc[i][v]);
}

template <int V>
inline void weights_columns(int64_t rows, const float* patches, int64_t k, const float* grad_dst, int64_t out_c,
                            int64_t c0, float* partial) {
  int64_t i = 0;
  for (; i + 4 <= k; i += 4) weights_block<4, V>(rows, patches, k, grad_dst, out_c, i, c0, partial);
  for (; i + 2 <= k; i += 2) weights_block<2, V>(rows, patches, k, grad_dst, out_c, i, c0, partial);
  for (; i < k; ++i) weights_block<1, V>(rows, patches, k, grad_dst, out_c, i, c0, partial);
}

void weights_tile(int64_t rows, const float* patches, int64_t k, const float* grad_dst, int64_t out_c,
                  float* partial) {
  int64_t c0 = 0;
  for (; c0 + 2 * kLanes <= out_c; c0 += 2 * kLanes)
    weights_columns<2>(rows, patches, k, grad_dst, out_c, c0, partial);
  for (; c0 + kLanes <= out_c; c0 += kLanes) weights_columns<1>(rows, patches, k, grad_dst, out_c, c0, partial);
  for (; c0 < out_c; ++c0)
    for (int64_t i = 0; i < k; ++i) {
      float sum = partial[i * out_c + c0];
      for (int64_t r = 0; r < rows; ++r) sum += patches[r * k + i] * grad_dst[r * out_c + c0];
      partial[i * out_c + c0] = sum;
    }
}

// Asks for `count` floats from `p` to be fetched into the cache ahead of their use. The tile loop
// asks for the next tile's grad_dst rows while this tile computes: each tile's rows are read once,
// from memory, and without the hint the first loads of a tile waited for them (43 % of this
// kernel's samples on one load instruction).
void prefetch(const float* p, int64_t count) {
  constexpr int64_t kFloatsPerLine = 64 / sizeof(float);
  for (int64_t i = 0; i < count; i += kFloatsPerLine) __builtin_prefetch(p + i);
}

}  // namespace

bool is_small_patch(const Conv2DGeometry& g) { return g.kernel_h * g.kernel_w * g.in_c <= kSmallPatchMax; }

void small_patch_conv_backward_weights(const Conv2DGeometry& g, const float* src, const float* grad_dst,
                                       float* grad_kernel, float* grad_bias, std::vector<float>& partial_buffer) {
  const int64_t k = g.kernel_h * g.kernel_w * g.in_c;
  const int64_t k_bias = k + 1;  // the bias is the patch entry that is always 1
  const int64_t rows = g.batch * out_pixels(g);
  const int64_t tiles = (rows + kTileRows - 1) / kTileRows;
  const int threads = rows * k * g.out_c > kParallelWork ? std::max(1, omp_get_max_threads()) : 1;
  const int64_t stride = k_bias * g.out_c;
  float* partials = zeroed_thread_partials(partial_buffer, stride, threads);
#pragma omp parallel num_threads(threads)
  {
    float* partial = partials + stride * omp_get_thread_num();
    float patches[kTileRows * (kSmallPatchMax + 1)];
#pragma omp for schedule(static)
    for (int64_t t = 0; t < tiles; ++t) {
      const int64_t r0 = t * kTileRows;
      const int64_t count = std::min(kTileRows, rows - r0);
      prefetch(grad_dst + (r0 + count) * g.out_c, std::min(kTileRows, rows - r0 - count) * g.out_c);
      gather_patches(g, src, r0, count, 1, patches);
      weights_tile(count, patches, k_bias, grad_dst + r0 * g.out_c, g.out_c, partial);
    }
  }
  add_thread_partials(partials, stride, threads, 0, k * g.out_c, grad_kernel);
  if (grad_bias != nullptr) add_thread_partials(partials, stride, threads, k * g.out_c, g.out_c, grad_bias);
}

}  // namespace regula::backend
