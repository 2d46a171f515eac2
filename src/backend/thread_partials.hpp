#pragma once
// Per-thread partial sums of the CPU backend's reductions (bias and weight gradients): each thread
// adds its share of rows into its own block of `stride` floats, and the blocks are then added in
// thread order, so a result depends on the thread count only, not on scheduling.

#include <algorithm>
#include <cstdint>
#include <vector>

namespace regula::backend {

/// `threads` zeroed blocks of `stride` floats in `buffer` (grown as needed, never shrunk).
inline float* zeroed_thread_partials(std::vector<float>& buffer, int64_t stride, int threads) {
  const auto size = static_cast<size_t>(stride * threads);
  if (buffer.size() < size) buffer.resize(size);
  std::fill(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(size), 0.0f);
  return buffer.data();
}

/// out[i] = Σ over threads t, in order, of partials[t·stride + offset + i], for i < count.
inline void add_thread_partials(const float* partials, int64_t stride, int threads, int64_t offset, int64_t count,
                                float* out) {
  for (int64_t i = 0; i < count; ++i) {
    float sum = 0.0f;
    for (int t = 0; t < threads; ++t) sum += partials[stride * t + offset + i];
    out[i] = sum;
  }
}

}  // namespace regula::backend
