#pragma once
/// @file
/// Layer fusion's vocabulary: the element-wise steps a layer may run at the end of its own pass on
/// behalf of the layers that follow it (see Layer::tail_step and Layer::accepted_tail).

#include <cstdint>

#include "regula/utils/random.hpp"

namespace regula::layers {

/// The element-wise steps a tail is made of.
enum class TailStep {
  /// max(v, 0) (an Activation("relu") layer).
  kRelu,
  /// v · mask.factor(i): a dropout mask (a Dropout layer in training).
  kMask,
};

/// A counter-based keep-or-drop mask: element i (its flat index in the batch) is multiplied by
/// `factor(i)`, `keep_scale` when kept, 0 when dropped. Inactive: the identity.
struct ElementMask {
  bool active = false;
  CounterRng rng = CounterRng(0);
  /// Element i drops when its 32 random bits fall below this (rate · 2³², saturated).
  uint32_t threshold = 0;
  float keep_scale = 1.0f;
  float factor(uint32_t i) const { return rng.bits32(i) >= threshold ? keep_scale : 0.0f; }
};

/// The tail of one pass: ReLU (when `relu`), then `mask` (when active), applied to each value the
/// accepting layer computes.
struct ElementwiseTail {
  bool relu = false;
  ElementMask mask;
};

}  // namespace regula::layers
