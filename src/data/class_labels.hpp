#pragma once
// Class labels decoded from a label tensor, for the stratified splitters (train_test_split with
// stratify, StratifiedKFold): one small integer code per sample and the count of each class.

#include <cstdint>
#include <vector>

#include "regula/tensor/tensor.hpp"

namespace regula::data::detail {

/// How the distinct classes are numbered.
enum class ClassOrder {
  /// By increasing label value (numpy's `np.unique`), as StratifiedShuffleSplit numbers them.
  sorted_by_value,
  /// By first appearance in y (0 = the first sample's class), as StratifiedKFold numbers them.
  first_appearance,
};

struct ClassLabels {
  /// For each sample, its class code in [0, counts.size()).
  std::vector<int64_t> codes;
  /// For each class code, the label value it stands for (the class index, or the one-hot column).
  std::vector<int64_t> values;
  /// For each class code, how many samples have it.
  std::vector<int64_t> counts;

  int64_t n_classes() const { return static_cast<int64_t>(counts.size()); }
  int64_t n_samples() const { return static_cast<int64_t>(codes.size()); }
  /// The size of the least populated class.
  int64_t min_count() const;
};

/// Decodes `y`: class indices stored as float, shape (N) or (N, 1) (any integer value), or
/// one-hot rows (N, K) with K > 1, reduced by argmax. `caller` prefixes error messages.
/// Throws ValueError for y of another rank, with no samples, or holding a label that is not a
/// finite integer (naming the value and the sample).
ClassLabels decode_class_labels(const Tensor& y, const char* caller, ClassOrder order);

}  // namespace regula::data::detail
