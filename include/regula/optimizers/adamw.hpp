#pragma once
/// @file
/// AdamW (Keras 3 `keras.optimizers.AdamW`): Adam with decoupled weight decay
/// (Loshchilov & Hutter, 2019).
///
/// Keras 3's AdamW is Adam with the base optimizer's `weight_decay` set: before the Adam step,
/// every trainable weight is decayed (keras/src/optimizers/base_optimizer.py
/// `_apply_weight_decay`, computed in float32 as Keras does):
///     w ← w − w·weight_decay·lr
/// then the Adam update of optimizers/optimizer.hpp runs on the decayed w with the same step t:
///     α = lr·√(1−β₂ᵗ)/(1−β₁ᵗ); m ← m + (g−m)(1−β₁); v ← v + (g²−v)(1−β₂);
///     (amsgrad: v̂ ← max(v̂, v), used in place of v)  w ← w − α·m/(√v + ε).
/// The decay uses the current learning rate, so a changed learning rate scales both terms.
/// Every trainable weight is decayed, biases and BatchNormalization's gamma/beta included
/// (Keras's default; `exclude_from_weight_decay` is not supported).
///
/// Keras name "adamw"; slots as Adam's: m ("momentum") for every weight, then v ("velocity"),
/// then v̂ ("velocity_hat") with amsgrad. Allowed: learning_rate finite and >= 0; weight_decay
/// finite and >= 0; beta_1, beta_2 in [0, 1); epsilon finite and > 0.

#include "regula/optimizers/optimizer.hpp"

namespace regula::optimizers {

/// Keras AdamW(learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
/// amsgrad=False), fields in Keras's order.
struct AdamWOptions {
  double learning_rate = 0.001;
  double weight_decay = 0.004;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  bool amsgrad = false;
};
OptimizerPtr AdamW(AdamWOptions options = {});

}  // namespace regula::optimizers
