#include "regula/constraints/constraint.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "regula/config/registry.hpp"
#include "regula/error.hpp"

namespace regula::constraints {
namespace {

std::string axes_to_string(const std::vector<int>& axis) {
  std::string s = "[";
  for (size_t i = 0; i < axis.size(); ++i) s += (i ? ", " : "") + std::to_string(axis[i]);
  return s + "]";
}

void check_axes(const char* who, const std::vector<int>& axis) {
  if (axis.empty()) throw ValueError(std::string(who) + ": axis=[] is not valid; allowed: one or more axes");
}

nlohmann::json axes_config(const std::vector<int>& axis) {
  // Keras writes a single axis as an integer (its default `axis=0`).
  return axis.size() == 1 ? nlohmann::json(axis[0]) : nlohmann::json(axis);
}

/// The norm of every slice of `w` over `axis`, and for each element the index of its slice.
/// Elements are mapped to slices through the kept axes' strides, so any axis set works with one
/// pass over the data.
struct SliceNorms {
  std::vector<double> norm;
  std::vector<int64_t> slice_of;
};

SliceNorms slice_norms(const char* who, const Tensor& w, const std::vector<int>& axis) {
  const int rank = w.rank();
  std::vector<bool> reduced(static_cast<size_t>(rank), false);
  for (int a : axis) {
    const int k = a < 0 ? a + rank : a;
    if (k < 0 || k >= rank || reduced[static_cast<size_t>(k)])
      throw ShapeError(std::string(who) + ": axis=" + axes_to_string(axis) + " does not fit a weight of shape " +
                       w.shape().to_string() + " (each axis must be in [-rank, rank) and appear once)");
    reduced[static_cast<size_t>(k)] = true;
  }
  // slice stride of each axis: 0 for a reduced axis, else the row-major stride among kept axes.
  std::vector<int64_t> slice_stride(static_cast<size_t>(rank), 0);
  int64_t slices = 1;
  for (int k = rank - 1; k >= 0; --k) {
    if (reduced[static_cast<size_t>(k)]) continue;
    slice_stride[static_cast<size_t>(k)] = slices;
    slices *= w.dim(k);
  }
  SliceNorms out;
  out.norm.assign(static_cast<size_t>(slices), 0.0);
  out.slice_of.resize(static_cast<size_t>(w.size()));
  std::vector<int64_t> index(static_cast<size_t>(rank), 0);
  for (int64_t i = 0; i < w.size(); ++i) {
    int64_t s = 0;
    for (int k = 0; k < rank; ++k) s += index[static_cast<size_t>(k)] * slice_stride[static_cast<size_t>(k)];
    out.slice_of[static_cast<size_t>(i)] = s;
    const double v = w[i];
    out.norm[static_cast<size_t>(s)] += v * v;
    for (int k = rank - 1; k >= 0; --k) {  // odometer increment of the multi-index
      if (++index[static_cast<size_t>(k)] < w.dim(k)) break;
      index[static_cast<size_t>(k)] = 0;
    }
  }
  for (double& n : out.norm) n = std::sqrt(n);
  return out;
}

}  // namespace

MaxNorm::MaxNorm(MaxNormOptions options) : options_(std::move(options)) {
  if (!(std::isfinite(options_.max_value) && options_.max_value >= 0.0))
    throw ValueError("MaxNorm: max_value=" + std::to_string(options_.max_value) + " must be finite and >= 0");
  check_axes("MaxNorm", options_.axis);
}

void MaxNorm::apply(Tensor& weight) const {
  const SliceNorms norms = slice_norms("MaxNorm", weight, options_.axis);
  std::vector<float> factor(norms.norm.size());
  for (size_t s = 0; s < factor.size(); ++s) {
    const double n = norms.norm[s];
    factor[s] = static_cast<float>(std::clamp(n, 0.0, options_.max_value) / (kEpsilon + n));
  }
  for (int64_t i = 0; i < weight.size(); ++i) weight[i] *= factor[static_cast<size_t>(norms.slice_of[static_cast<size_t>(i)])];
}

nlohmann::json MaxNorm::get_config() const {
  return {{"max_value", options_.max_value}, {"axis", axes_config(options_.axis)}};
}

void NonNeg::apply(Tensor& weight) const {
  float* w = weight.data();
  const int64_t n = weight.size();
  for (int64_t i = 0; i < n; ++i) w[i] = std::max(w[i], 0.0f);
}

UnitNorm::UnitNorm(UnitNormOptions options) : options_(std::move(options)) { check_axes("UnitNorm", options_.axis); }

void UnitNorm::apply(Tensor& weight) const {
  const SliceNorms norms = slice_norms("UnitNorm", weight, options_.axis);
  std::vector<float> factor(norms.norm.size());
  for (size_t s = 0; s < factor.size(); ++s) factor[s] = static_cast<float>(1.0 / (kEpsilon + norms.norm[s]));
  for (int64_t i = 0; i < weight.size(); ++i) weight[i] *= factor[static_cast<size_t>(norms.slice_of[static_cast<size_t>(i)])];
}

nlohmann::json UnitNorm::get_config() const { return {{"axis", axes_config(options_.axis)}}; }

nlohmann::json to_config(const Constraint& constraint) {
  return {{"class_name", constraint.class_name()}, {"config", constraint.get_config()}};
}

ConstraintPtr from_config(const nlohmann::json& config, const std::string& where) {
  if (config.is_null()) return nullptr;
  using Reader = config::ConfigReader;
  // Keras writes `axis` as one integer or a list.
  static const auto axis = [](Reader& r, const std::vector<int64_t>& fallback) {
    const std::vector<int64_t> read = r.get_ints("axis", fallback);
    return std::vector<int>(read.begin(), read.end());
  };
  static const config::Registry<ConstraintPtr> registry(
      {.kind = "constraint", .example = "{class_name: MaxNorm, config: {max_value: 3}}"},
      {{"MaxNorm",
        [](Reader& r) -> ConstraintPtr {
          const double max_value = r.get_double("max_value", 2.0);
          return std::make_shared<MaxNorm>(MaxNormOptions{.max_value = max_value, .axis = axis(r, {0})});
        }},
       {"NonNeg", [](Reader&) -> ConstraintPtr { return std::make_shared<NonNeg>(); }},
       {"UnitNorm",
        [](Reader& r) -> ConstraintPtr { return std::make_shared<UnitNorm>(UnitNormOptions{.axis = axis(r, {0})}); }}});
  return registry.make(config, where);
}

}  // namespace regula::constraints
