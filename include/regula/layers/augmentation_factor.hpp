#pragma once
/// @file
/// The `factor` arguments of Keras 3's augmentation layers: one number f or a range
/// (lower, upper), resolved to a range by Keras's rules.
///
/// Two rules, as Keras:
/// - `resolve_factor` (RandomRotation, RandomContrast, RandomErasing; Keras's `_set_factor`
///   with the layer's bounds [low, high]): a number f must lie in [low, high] and becomes
///   (max(−|f|, low), |f|); a range is refused only when lower > high or upper < low, and is
///   sorted.
/// - `resolve_factor_each` (RandomTranslation, RandomZoom): every number must lie in
///   [low, high]; a number f becomes (−|f|, |f|); a range is sorted.

#include <array>
#include <string>

#include <nlohmann/json.hpp>

namespace regula::layers {

/// A factor as the user gave it: one number, or a (lower, upper) pair.
struct AugmentationFactor {
  // NOLINTNEXTLINE(google-explicit-constructor): `RandomRotation(0.1)` reads as Keras does.
  AugmentationFactor(double value) : lower(value), upper(value), is_range(false) {}
  AugmentationFactor(double lower, double upper) : lower(lower), upper(upper), is_range(true) {}
  double lower;
  double upper;
  bool is_range;
  /// As given: a number, or [lower, upper].
  nlohmann::json to_json() const;
  /// From a number or a list of two numbers; ValueError naming `where` and `name` otherwise.
  static AugmentationFactor from_json(const nlohmann::json& value, const std::string& where, const std::string& name);
};

/// The range of Keras's `_set_factor` with bounds [low, high] (see the file comment). Throws
/// ValueError naming `where` and `name`, with the allowed values, for a factor out of bounds or
/// not finite.
std::array<double, 2> resolve_factor(const AugmentationFactor& factor, double low, double high,
                                     const std::string& where, const std::string& name);

/// The range of RandomTranslation's and RandomZoom's factors: every number in [low, high].
std::array<double, 2> resolve_factor_each(const AugmentationFactor& factor, double low, double high,
                                          const std::string& where, const std::string& name);

}  // namespace regula::layers
