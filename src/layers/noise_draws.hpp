#pragma once
// Counter-based draws shared by the stochastic layers (Dropout, SpatialDropout2D, GaussianNoise,
// GaussianDropout). Internal header: not installed.
//
// Every draw is a pure function of (layer key, training step, element index), so a step's noise
// is repeatable (gradient checks, recomputation) and identical whatever the thread count.

#include <cmath>
#include <cstdint>
#include <string>

#include "regula/backend/context.hpp"
#include "regula/error.hpp"
#include "regula/tensor/tensor.hpp"
#include "regula/utils/random.hpp"

namespace regula::layers::detail {

/// The key of a stochastic layer's stream: from `seed` when >= 0 (Keras's `seed=`), else a fresh
/// key from the global seed. The salt is Dropout's, so a given seed means the same stream in every
/// stochastic layer, as a Keras seed does. Throws ValueError for seed < -1.
inline uint64_t stochastic_layer_key(int64_t seed, const std::string& where) {
  if (seed < -1) throw ValueError(where + ": seed=" + std::to_string(seed) + " must be >= 0, or -1 for none");
  return seed >= 0 ? mix64(static_cast<uint64_t>(seed) ^ 0xD50F0A7E5EEDull) : next_random_key();
}

/// The generator of one training step.
inline CounterRng step_rng(uint64_t key, uint64_t step) { return CounterRng(mix64(key ^ mix64(step))); }

/// An element (or channel) drops when its 32 random bits fall below rate · 2³² (saturated for rates
/// within 2⁻³² of 1), so P(drop) = rate within 2⁻³².
inline uint32_t drop_threshold(double rate) {
  const double t = std::ldexp(rate, 32);
  return t >= 4294967295.0 ? UINT32_MAX : static_cast<uint32_t>(t);
}

/// Counters are 32-bit (the vectorizable hash): a pass may draw at most 2³² numbers.
template <class Where>
void check_drawable(int64_t n, const Where& where) {
  if (n > static_cast<int64_t>(UINT32_MAX))
    throw ValueError(where() + ": " + std::to_string(n) + " elements exceed the 2^32 draws a step can index");
}

/// Backward of a layer whose forward multiplied each element by a saved factor (`factors`, same
/// shape), or passed its input through unchanged (`applied` false: inference or rate 0).
inline void backward_through_factors(bool applied, const Tensor& factors, const Tensor& grad_output,
                                     Tensor* grad_input) {
  if (grad_input == nullptr) return;
  if (!applied) {
    grad_input->copy_from(grad_output);
    return;
  }
  backend::current().multiply(grad_output.size(), grad_output.data(), factors.data(), grad_input->data());
}

}  // namespace regula::layers::detail
