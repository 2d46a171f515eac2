#pragma once
/// @file
/// Balanced class weights. Equivalent: scikit-learn's
/// `sklearn.utils.class_weight.compute_class_weight("balanced", classes=np.unique(y), y=y)`, the
/// usual source of Keras's `fit(class_weight=…)` map.

#include <map>
#include <string>

#include "regula/tensor/tensor.hpp"

namespace regula::utils {

/// Weights that make every class present in `y` contribute equally:
///     weight[c] = n_samples / (n_classes · count[c])
/// over the n_classes distinct classes that occur in `y` (absent classes get no entry; Keras's
/// `fit` weighs them 1). The result plugs into `fit`'s class_weight.
///
/// `y` holds integer class indices stored as float, shape (N) or (N, 1), or one-hot /
/// probability rows (N, C) reduced by argmax (as `training::class_weight_to_sample_weights`).
/// `mode` must be "balanced". Throws ValueError for another mode, an empty `y`, or a label that
/// is negative or not an integer (naming the value and the sample index).
std::map<int, double> compute_class_weight(const std::string& mode, const Tensor& y);

}  // namespace regula::utils
