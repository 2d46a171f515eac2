// The reference concatenation kernels: value by value, source by source, from the index map
// dst[r · Σb + offset_k + j] = source_k[r · b_k + j].

#include "src/backend/reference_backend.hpp"

namespace regula::backend {

void ReferenceBackend::concatenate_rows(int64_t rows, const std::vector<const float*>& sources,
                                        const std::vector<int64_t>& blocks, float* dst) {
  int64_t row_length = 0;
  for (const int64_t b : blocks) row_length += b;
  int64_t offset = 0;
  for (size_t k = 0; k < sources.size(); ++k) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < blocks[k]; ++j) dst[r * row_length + offset + j] = sources[k][r * blocks[k] + j];
    offset += blocks[k];
  }
}

void ReferenceBackend::split_rows(int64_t rows, const float* src, const std::vector<int64_t>& blocks,
                                  const std::vector<float*>& parts) {
  int64_t row_length = 0;
  for (const int64_t b : blocks) row_length += b;
  int64_t offset = 0;
  for (size_t k = 0; k < parts.size(); ++k) {
    if (parts[k] != nullptr)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < blocks[k]; ++j) parts[k][r * blocks[k] + j] = src[r * row_length + offset + j];
    offset += blocks[k];
  }
}

}  // namespace regula::backend
