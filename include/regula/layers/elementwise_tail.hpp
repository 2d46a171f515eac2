#pragma once
/// @file
/// Layer fusion's vocabulary: the element-wise steps a layer may run at the end of its own pass on
/// behalf of the layers that follow it (see Layer::tail_step and Layer::accepted_tail).

#include <cstdint>

#include "regula/backend/kernel_arguments.hpp"

namespace regula::layers {

/// The element-wise steps a tail is made of.
enum class TailStep {
  /// max(v, 0) (an Activation("relu") layer).
  kRelu,
  /// v · mask.factor(i): a dropout mask (a Dropout layer in training).
  kMask,
  /// A max pooling whose windows tile the image (a MaxPooling2D layer; backend::TailMaxPool).
  kMaxPool,
};

/// The mask and the tail themselves are the backend's: the kernel of the accepting layer runs them.
using backend::ElementMask;
using backend::ElementwiseTail;
using backend::TailMaxPool;

}  // namespace regula::layers
