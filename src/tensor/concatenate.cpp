#include "regula/tensor/concatenate.hpp"

#include <algorithm>
#include <string>

#include "regula/error.hpp"

namespace regula {

Tensor concatenate_rows(const std::vector<const Tensor*>& parts) {
  if (parts.empty()) throw ShapeError("concatenate_rows: no tensors to join");
  const Shape& first = parts[0]->shape();
  int64_t rows = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Shape& shape = parts[i]->shape();
    if (shape.rank() < 1)
      throw ShapeError("concatenate_rows: part " + std::to_string(i) + " has shape " + shape.to_string() +
                       "; every part needs a first (sample) axis");
    if (shape.without_batch() != first.without_batch())
      throw ShapeError("concatenate_rows: part " + std::to_string(i) + " has shape " + shape.to_string() +
                       ", part 0 has shape " + first.to_string() + "; only the first axis may differ");
    rows += shape[0];
  }
  Tensor joined = Tensor::uninitialized(first.without_batch().with_batch(rows));
  float* dst = joined.data();
  for (const Tensor* part : parts) dst = std::copy(part->data(), part->data() + part->size(), dst);
  return joined;
}

}  // namespace regula
