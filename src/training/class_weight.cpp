#include "regula/training/class_weight.hpp"

#include <cmath>

#include "regula/error.hpp"

namespace regula::training {
namespace {

int64_t label_of(const Tensor& y, int64_t i) {
  const int64_t classes = y.rank() >= 2 ? y.size() / y.dim(0) : 1;
  const float* row = y.data() + i * classes;
  if (classes == 1) return static_cast<int64_t>(std::lround(row[0]));
  int64_t best = 0;
  for (int64_t c = 1; c < classes; ++c)
    if (row[c] > row[best]) best = c;
  return best;
}

}  // namespace

std::vector<float> class_weight_to_sample_weights(const Tensor& y, const std::map<int, double>& class_weight) {
  for (const auto& [cls, w] : class_weight)
    if (cls < 0 || !std::isfinite(w) || w < 0.0)
      throw ValueError("class_weight: entry {" + std::to_string(cls) + ": " + std::to_string(w) +
                       "} is invalid; classes must be >= 0 and weights finite and >= 0");
  const int64_t n = y.rank() == 0 ? 0 : y.dim(0);
  std::vector<float> weights(static_cast<size_t>(n), 1.0f);
  for (int64_t i = 0; i < n; ++i) {
    const auto it = class_weight.find(static_cast<int>(label_of(y, i)));
    if (it != class_weight.end()) weights[static_cast<size_t>(i)] = static_cast<float>(it->second);
  }
  return weights;
}

int64_t validation_split_index(int64_t samples, double validation_split) {
  if (!(validation_split > 0.0 && validation_split < 1.0))
    throw ValueError("fit: validation_split=" + std::to_string(validation_split) + " must be in the open interval (0, 1)");
  const auto split_at = static_cast<int64_t>(std::floor(static_cast<double>(samples) * (1.0 - validation_split)));
  if (split_at <= 0 || split_at >= samples)
    throw ValueError("fit: validation_split=" + std::to_string(validation_split) + " of " + std::to_string(samples) +
                     " samples leaves " + std::to_string(split_at) + " for training and " +
                     std::to_string(samples - split_at) + " for validation; both parts must be non-empty");
  return split_at;
}

}  // namespace regula::training
