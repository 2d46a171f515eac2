#pragma once
/// @file
/// Joining tensors along the first (sample) axis, as `numpy.concatenate(parts, axis=0)`.

#include <vector>

#include "regula/tensor/tensor.hpp"

namespace regula {

/// A new tensor holding the rows of every part in order. Parts must have the same shape apart from
/// their first axis; throws ShapeError naming the first part that differs (or a part with no axes).
Tensor concatenate_rows(const std::vector<const Tensor*>& parts);

}  // namespace regula
