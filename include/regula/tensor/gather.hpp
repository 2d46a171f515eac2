#pragma once
/// @file
/// Gathering rows (samples) of a tensor by index: batches in a shuffled order, the parts of a
/// split, the folds of cross-validation.

#include <cstdint>
#include <span>

#include "regula/tensor/tensor.hpp"

namespace regula {

/// Copies rows `indices[begin, end)` of `src` (along its first axis) into `dst`, which is
/// reshaped to hold them (its storage reused when large enough). Indices are not checked: they
/// must lie in [0, src.dim(0)). `parallel` splits a large copy over the OpenMP threads; pass false
/// on threads of one's own (e.g. data workers beside the training step).
void gather_rows_into(const Tensor& src, std::span<const int64_t> indices, int64_t begin, int64_t end, Tensor& dst,
                      bool parallel = true);

/// A new tensor holding the rows `indices` of `src`, in that order. Throws ValueError naming the
/// first index outside [0, src.dim(0)).
Tensor gather_rows(const Tensor& src, std::span<const int64_t> indices);

}  // namespace regula
