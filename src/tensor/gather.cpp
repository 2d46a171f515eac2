// Row gathering for batches, splits and folds.

#include "regula/tensor/gather.hpp"

#include <cstring>
#include <string>

#include "regula/error.hpp"

namespace regula {

void gather_rows_into(const Tensor& src, std::span<const int64_t> indices, int64_t begin, int64_t end, Tensor& dst,
                      bool parallel) {
  Shape shape = src.shape();
  shape[0] = end - begin;
  dst.ensure_shape(shape);
  const int64_t row = src.dim(0) == 0 ? 0 : src.size() / src.dim(0);
  const float* s = src.data();
  float* d = dst.data();
#pragma omp parallel for if (parallel && (end - begin) * row > 65536)
  for (int64_t i = begin; i < end; ++i)
    std::memcpy(d + (i - begin) * row, s + indices[static_cast<size_t>(i)] * row, static_cast<size_t>(row) * sizeof(float));
}

Tensor gather_rows(const Tensor& src, std::span<const int64_t> indices) {
  if (src.rank() == 0) throw ValueError("gather_rows: the tensor has no rows (shape ())");
  for (const int64_t i : indices)
    if (i < 0 || i >= src.dim(0))
      throw ValueError("gather_rows: index " + std::to_string(i) + " is outside [0, " + std::to_string(src.dim(0)) +
                       ") for a tensor of shape " + src.shape().to_string());
  Tensor result;
  gather_rows_into(src, indices, 0, static_cast<int64_t>(indices.size()), result);
  return result;
}

}  // namespace regula
