#include "regula/layers/augmentation_factor.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "regula/error.hpp"

namespace regula::layers {
namespace {

std::string describe(const AugmentationFactor& factor) {
  return factor.is_range ? fmt::format("({}, {})", factor.lower, factor.upper) : fmt::format("{}", factor.lower);
}

void check_finite(const AugmentationFactor& factor, const std::string& where, const std::string& name) {
  if (!std::isfinite(factor.lower) || !std::isfinite(factor.upper))
    throw ValueError(fmt::format("{}: {}={} must be finite", where, name, describe(factor)));
}

}  // namespace

nlohmann::json AugmentationFactor::to_json() const {
  return is_range ? nlohmann::json::array({lower, upper}) : nlohmann::json(lower);
}

AugmentationFactor AugmentationFactor::from_json(const nlohmann::json& value, const std::string& where,
                                                 const std::string& name) {
  if (value.is_number()) return AugmentationFactor(value.get<double>());
  if (value.is_array() && value.size() == 2 && value[0].is_number() && value[1].is_number())
    return AugmentationFactor(value[0].get<double>(), value[1].get<double>());
  throw ValueError(fmt::format("{}: {}={} must be a number or a list of two numbers (lower, upper)", where, name,
                               value.dump()));
}

std::array<double, 2> resolve_factor(const AugmentationFactor& factor, double low, double high,
                                     const std::string& where, const std::string& name) {
  check_finite(factor, where, name);
  if (!factor.is_range) {
    const double f = factor.lower;
    if (f < low || f > high)
      throw ValueError(fmt::format("{}: {}={} must be in [{}, {}] (or a range (lower, upper))", where, name, f, low,
                                   high));
    return {std::max(-std::abs(f), low), std::abs(f)};
  }
  if (factor.lower > high || factor.upper < low)
    throw ValueError(fmt::format("{}: {}={} must overlap [{}, {}]: its lower end at most {}, its upper end at least {}",
                                 where, name, describe(factor), low, high, high, low));
  return {std::min(factor.lower, factor.upper), std::max(factor.lower, factor.upper)};
}

std::array<double, 2> resolve_factor_each(const AugmentationFactor& factor, double low, double high,
                                          const std::string& where, const std::string& name) {
  check_finite(factor, where, name);
  for (double f : {factor.lower, factor.upper})
    if (f < low || f > high)
      throw ValueError(fmt::format("{}: {}={} must have every value in [{}, {}]", where, name, describe(factor), low,
                                   high));
  if (!factor.is_range) return {-std::abs(factor.lower), std::abs(factor.lower)};
  return {std::min(factor.lower, factor.upper), std::max(factor.lower, factor.upper)};
}

}  // namespace regula::layers
