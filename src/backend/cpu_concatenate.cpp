// The fast CPU backend's concatenation kernels: one row a loop iteration, spread over threads
// above kParallelElements values.

#include <algorithm>

#include "src/backend/cpu_backend.hpp"

namespace regula::backend {
namespace {

constexpr int64_t kParallelElements = 32768;

int64_t row_length(const std::vector<int64_t>& blocks) {
  int64_t length = 0;
  for (const int64_t b : blocks) length += b;
  return length;
}

}  // namespace

void CpuBackend::concatenate_rows(int64_t rows, const std::vector<const float*>& sources,
                                  const std::vector<int64_t>& blocks, float* dst) {
  const int64_t out_block = row_length(blocks);
#pragma omp parallel for schedule(static) if (rows * out_block > kParallelElements)
  for (int64_t r = 0; r < rows; ++r) {
    float* d = dst + r * out_block;
    for (size_t k = 0; k < sources.size(); ++k) {
      const float* s = sources[k] + r * blocks[k];
      d = std::copy(s, s + blocks[k], d);
    }
  }
}

void CpuBackend::split_rows(int64_t rows, const float* src, const std::vector<int64_t>& blocks,
                            const std::vector<float*>& parts) {
  const int64_t out_block = row_length(blocks);
#pragma omp parallel for schedule(static) if (rows * out_block > kParallelElements)
  for (int64_t r = 0; r < rows; ++r) {
    const float* s = src + r * out_block;
    for (size_t k = 0; k < parts.size(); ++k) {
      if (parts[k] != nullptr) std::copy(s, s + blocks[k], parts[k] + r * blocks[k]);
      s += blocks[k];
    }
  }
}

}  // namespace regula::backend
