#include "regula/utils/class_weight.hpp"

#include <cmath>
#include <cstdint>

#include <fmt/format.h>

#include "regula/error.hpp"

namespace regula::utils {

std::map<int, double> compute_class_weight(const std::string& mode, const Tensor& y) {
  if (mode != "balanced")
    throw ValueError(fmt::format("compute_class_weight: mode='{}' is not supported; allowed: 'balanced'", mode));
  if (y.empty() || y.size() == 0 || y.rank() == 0)
    throw ValueError("compute_class_weight: y is empty; it needs at least one label");
  // (N, C) with C > 1 holds one-hot or probability rows; anything else is one index per sample.
  const bool rows = y.rank() == 2 && y.dim(1) > 1;
  const int64_t samples = y.dim(0);
  std::map<int, int64_t> counts;
  for (int64_t i = 0; i < samples; ++i) {
    int label = 0;
    if (rows) {
      const int64_t c = y.dim(1);
      const float* row = y.data() + i * c;
      for (int64_t k = 1; k < c; ++k)
        if (row[k] > row[label]) label = static_cast<int>(k);
    } else {
      if (y.size() != samples)
        throw ValueError(fmt::format("compute_class_weight: y of shape {} must be (N), (N, 1) or (N, C) one-hot rows",
                                     y.shape().to_string()));
      const float v = y[i];
      if (!(v >= 0.0f) || v != std::floor(v) || v > 2147483647.0f)
        throw ValueError(fmt::format("compute_class_weight: label {} of sample {} is not a non-negative integer", v, i));
      label = static_cast<int>(v);
    }
    ++counts[label];
  }
  std::map<int, double> weights;
  const auto n_classes = static_cast<double>(counts.size());
  for (const auto& [label, count] : counts)
    weights[label] = static_cast<double>(samples) / (n_classes * static_cast<double>(count));
  return weights;
}

}  // namespace regula::utils
