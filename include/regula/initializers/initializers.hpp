#pragma once
/// @file
/// Weight initializers with Keras's names and formulas (`keras.initializers`).
///
/// fan_in / fan_out follow Keras: Dense kernel (in, out) → fan_in = in, fan_out = out;
/// Conv2D kernel (kh, kw, in, out) → fan_in = kh·kw·in, fan_out = kh·kw·out.
///
/// | name             | values                                                        |
/// |------------------|---------------------------------------------------------------|
/// | glorot_uniform   | U(−l, l), l = √(6 / (fan_in + fan_out))  (Keras's default)     |
/// | glorot_normal    | truncated N(0, √(2 / (fan_in + fan_out)))                      |
/// | he_uniform       | U(−l, l), l = √(6 / fan_in)                                    |
/// | he_normal        | truncated N(0, √(2 / fan_in))                                  |
/// | lecun_uniform    | U(−l, l), l = √(3 / fan_in)                                    |
/// | random_uniform   | U(−0.05, 0.05)                                                 |
/// | random_normal    | N(0, 0.05)                                                     |
/// | zeros, ones      | 0, 1                                                           |
///
/// Truncated normals redraw values beyond two standard deviations (Keras's rule).

#include <string>

#include "regula/tensor/tensor.hpp"
#include "regula/utils/random.hpp"

namespace regula::initializers {

/// Whether `name` is one of the initializers above.
bool is_known(const std::string& name);
/// Fills `weights` by the named initializer; throws ValueError naming `where` for an unknown name.
void initialize(const std::string& name, Tensor& weights, int64_t fan_in, int64_t fan_out, Rng& rng,
                const std::string& where = "initializer");

}  // namespace regula::initializers
