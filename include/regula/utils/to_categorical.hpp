#pragma once
/// @file
/// One-hot encoding of class indices. Keras equivalent: `keras.utils.to_categorical`.

#include <cstdint>

#include "regula/tensor/tensor.hpp"

namespace regula::utils {

/// Converts a tensor of class indices to one-hot rows.
///
/// `y` holds integer class indices stored as float, shape (N) (or any shape; as in Keras a
/// trailing dimension of 1 is dropped first, so (N, 1) works like (N)). The result has shape
/// y's shape + (num_classes), float32, with 1 at each sample's class and 0 elsewhere:
/// (N) -> (N, C).
///
/// `num_classes`: number of classes C; -1 (default, Keras's `None`) means max(y) + 1.
///
/// Throws `ValueError` for an empty `y` with `num_classes == -1`, `num_classes` of 0 or below
/// -1, and for a label that is negative, not an integer (or NaN) or >= num_classes, naming the
/// value and the sample index.
Tensor to_categorical(const Tensor& y, int64_t num_classes = -1);

}  // namespace regula::utils
