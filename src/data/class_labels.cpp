// Decoding class labels (class indices or one-hot rows) into per-sample class codes and counts.

#include "src/data/class_labels.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "regula/error.hpp"

namespace regula::data::detail {
namespace {

/// The label of sample `i`: its class index, or the argmax of its one-hot row.
int64_t label_of_sample(const Tensor& y, int64_t i, bool one_hot_rows, const char* caller) {
  if (one_hot_rows) {
    const int64_t width = y.dim(1);
    const float* row = y.data() + i * width;
    return std::max_element(row, row + width) - row;
  }
  const float value = y[i];
  if (!std::isfinite(value) || value != std::floor(value) || std::fabs(value) > 9.0e15f)
    throw ValueError(fmt::format("{}: label {} of sample {} is not an integer class index; y must hold class "
                                 "indices (N) or one-hot rows (N, K)",
                                 caller, value, i));
  return static_cast<int64_t>(value);
}

}  // namespace

int64_t ClassLabels::min_count() const { return counts.empty() ? 0 : *std::min_element(counts.begin(), counts.end()); }

ClassLabels decode_class_labels(const Tensor& y, const char* caller, ClassOrder order) {
  const bool valid_rank = y.rank() == 1 || y.rank() == 2;
  if (y.empty() || !valid_rank)
    throw ValueError(fmt::format("{}: y of shape {} must be class indices (N), (N, 1) or one-hot rows (N, K)", caller,
                                 y.shape().to_string()));
  const int64_t n_samples = y.dim(0);
  if (n_samples == 0) throw ValueError(fmt::format("{}: y has no samples", caller));
  const bool one_hot_rows = y.rank() == 2 && y.dim(1) > 1;

  std::vector<int64_t> labels(static_cast<size_t>(n_samples));
  for (int64_t i = 0; i < n_samples; ++i) labels[static_cast<size_t>(i)] = label_of_sample(y, i, one_hot_rows, caller);

  // Number the distinct labels in the requested order.
  std::map<int64_t, int64_t> code_of_label;
  if (order == ClassOrder::sorted_by_value) {
    for (const int64_t label : labels) code_of_label.emplace(label, 0);
    int64_t next = 0;
    for (auto& [label, code] : code_of_label) code = next++;
  } else {
    for (const int64_t label : labels) code_of_label.emplace(label, static_cast<int64_t>(code_of_label.size()));
  }

  ClassLabels result;
  result.values.resize(code_of_label.size());
  result.counts.assign(code_of_label.size(), 0);
  for (const auto& [label, code] : code_of_label) result.values[static_cast<size_t>(code)] = label;
  result.codes.reserve(labels.size());
  for (const int64_t label : labels) {
    const int64_t code = code_of_label.at(label);
    result.codes.push_back(code);
    ++result.counts[static_cast<size_t>(code)];
  }
  return result;
}

}  // namespace regula::data::detail
