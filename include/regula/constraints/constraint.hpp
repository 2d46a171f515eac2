#pragma once
/// @file
/// Weight constraints (Keras `keras.constraints`): projections applied to a weight after each
/// optimizer update (Keras's `kernel_constraint` / `bias_constraint`).
///
/// Axes. `axis` lists the axes the norm is computed OVER (reduced, as Keras's
/// `ops.sum(ops.square(w), axis=axis, keepdims=True)`); every slice along the remaining axes gets
/// its own norm. Negative values count from the end (−1 is the last axis). So:
/// - Dense kernel (in, out), axis {0} (the default): one norm per output unit, over its `in`
///   incoming weights;
/// - Conv2D kernel (kh, kw, in, filters), axis {0, 1, 2}: one norm per filter, over its
///   kh·kw·in weights (what Keras's docs recommend; axis {0} alone would normalise each
///   (j, c, f) column of kh values separately);
/// - a bias (n), axis {0}: a single norm over the whole vector.
/// An axis outside the weight's rank, or listed twice, throws ShapeError at `apply`.
///
/// Norms are computed in double; the factor is applied in float32. ε = 1e-7 (Keras's
/// `backend.epsilon()`).

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "regula/tensor/tensor.hpp"

namespace regula::constraints {

/// Keras's `backend.epsilon()`, added to norms before dividing.
inline constexpr double kEpsilon = 1e-7;

class Constraint {
 public:
  virtual ~Constraint() = default;
  /// The Keras class name, e.g. "MaxNorm".
  virtual std::string class_name() const = 0;
  /// Projects `weight` in place.
  virtual void apply(Tensor& weight) const = 0;
  /// Keras's `get_config()`: the options with Keras's names ({} for NonNeg).
  virtual nlohmann::json get_config() const { return nlohmann::json::object(); }
};

using ConstraintPtr = std::shared_ptr<const Constraint>;

/// Keras MaxNorm(max_value=2, axis=0): w ← w · clip(‖w‖, 0, max_value) / (ε + ‖w‖), norms over
/// `axis`. Slices whose norm is at most max_value are left (almost: the factor is ‖w‖/(ε + ‖w‖)).
/// Allowed: max_value finite and >= 0; axis non-empty.
struct MaxNormOptions {
  double max_value = 2.0;
  std::vector<int> axis = {0};
};
class MaxNorm final : public Constraint {
 public:
  explicit MaxNorm(MaxNormOptions options = {});
  std::string class_name() const override { return "MaxNorm"; }
  void apply(Tensor& weight) const override;
  /// {"max_value": …, "axis": an integer when one axis (Keras's form), else a list}.
  nlohmann::json get_config() const override;

 private:
  MaxNormOptions options_;
};

/// Keras NonNeg(): w ← max(w, 0).
class NonNeg final : public Constraint {
 public:
  std::string class_name() const override { return "NonNeg"; }
  void apply(Tensor& weight) const override;
};

/// Keras UnitNorm(axis=0): w ← w / (ε + ‖w‖), norms over `axis`. Allowed: axis non-empty.
struct UnitNormOptions {
  std::vector<int> axis = {0};
};
class UnitNorm final : public Constraint {
 public:
  explicit UnitNorm(UnitNormOptions options = {});
  std::string class_name() const override { return "UnitNorm"; }
  void apply(Tensor& weight) const override;
  /// {"axis": an integer when one axis, else a list}.
  nlohmann::json get_config() const override;

 private:
  UnitNormOptions options_;
};

/// Keras's serialized form {"class_name": …, "config": {…}}.
nlohmann::json to_config(const Constraint& constraint);
/// A constraint from Keras's serialized form (MaxNorm, NonNeg, UnitNorm; nested or flat, see
/// config/registry.hpp), or null for a JSON null. Throws ValueError naming `where`, the class and
/// the known ones, or an unknown option.
ConstraintPtr from_config(const nlohmann::json& config, const std::string& where = "constraint config");

}  // namespace regula::constraints
