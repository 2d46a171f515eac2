#include "regula/utils/to_categorical.hpp"

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "regula/error.hpp"

namespace regula::utils {
namespace {

std::string format_value(float v) {
  // Enough digits that 2.9999998 does not print as "3".
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
  return buf;
}

}  // namespace

Tensor to_categorical(const Tensor& y, int64_t num_classes) {
  if (num_classes == 0 || num_classes < -1)
    throw ValueError("to_categorical: num_classes must be >= 1 or -1 (max label + 1), got " +
                     std::to_string(num_classes));
  if (y.empty()) throw ValueError("to_categorical: the label tensor is empty (no storage)");
  std::vector<int64_t> dims = y.shape().dims();
  // Keras drops a trailing 1 so that labels of shape (N, 1) give (N, C), not (N, 1, C).
  if (dims.size() > 1 && dims.back() == 1) dims.pop_back();
  const int64_t n = y.size();
  const float* src = y.data();

  // Validate every label before using any of them as an index.
  float max_label = -1.0f;
  for (int64_t i = 0; i < n; ++i) {
    float v = src[i];
    if (!(v >= 0.0f) || std::trunc(v) != v || std::isinf(v))
      throw ValueError("to_categorical: label " + format_value(v) + " at sample " + std::to_string(i) +
                       " is not a non-negative integer");
    if (num_classes != -1 && v >= static_cast<float>(num_classes))
      throw ValueError("to_categorical: label " + format_value(v) + " at sample " + std::to_string(i) +
                       " is out of range for num_classes=" + std::to_string(num_classes) + " (labels must be in [0, " +
                       std::to_string(num_classes - 1) + "])");
    if (v > max_label) max_label = v;
  }
  if (num_classes == -1) {
    if (n == 0)
      throw ValueError("to_categorical: cannot infer num_classes (max label + 1) from zero labels; pass num_classes");
    // Beyond 2^24 float labels are no longer exact integers; such a label is surely not a class.
    if (max_label >= 16777216.0f)
      throw ValueError("to_categorical: the largest label " + format_value(max_label) +
                       " is too large to infer num_classes from; pass num_classes");
    num_classes = static_cast<int64_t>(max_label) + 1;
  }

  dims.push_back(num_classes);
  Tensor out(Shape(std::move(dims)));  // zero-filled
  float* dst = out.data();
  for (int64_t i = 0; i < n; ++i) dst[i * num_classes + static_cast<int64_t>(src[i])] = 1.0f;
  return out;
}

}  // namespace regula::utils
