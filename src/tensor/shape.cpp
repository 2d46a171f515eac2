#include "regula/tensor/shape.hpp"

#include "regula/error.hpp"

namespace regula {

int64_t Shape::num_elements() const {
  int64_t n = 1;
  for (int64_t d : dims_) n *= d;
  return n;
}

Shape Shape::with_batch(int64_t batch) const {
  std::vector<int64_t> dims;
  dims.reserve(dims_.size() + 1);
  dims.push_back(batch);
  dims.insert(dims.end(), dims_.begin(), dims_.end());
  return Shape(std::move(dims));
}

Shape Shape::without_batch() const {
  if (dims_.empty()) throw ShapeError("Shape::without_batch: shape () has no batch dimension");
  return Shape(std::vector<int64_t>(dims_.begin() + 1, dims_.end()));
}

std::string Shape::to_string(bool batch_placeholder) const {
  std::string s = "(";
  bool first = true;
  if (batch_placeholder) {
    s += "None";
    first = false;
  }
  for (int64_t d : dims_) {
    if (!first) s += ", ";
    s += std::to_string(d);
    first = false;
  }
  if (dims_.size() == 1 && !batch_placeholder) s += ",";
  return s + ")";
}

}  // namespace regula
