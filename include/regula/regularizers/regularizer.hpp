#pragma once
/// @file
/// Weight and activity regularizers (Keras `keras.regularizers`).
///
/// penalty(x) = l1 · Σ|x| + l2 · Σx²  (Keras's formulas; note: no ½ in the L2 term).
/// As `kernel_regularizer`/`bias_regularizer` the penalty is added to the loss once per step;
/// as `activity_regularizer` it is applied to the layer's output and divided by the batch size
/// (Keras 3). The `loss` reported in the logs includes these penalties, as Keras's does.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "regula/tensor/tensor.hpp"

namespace regula::regularizers {

/// L1/L2 penalty. Immutable; shared between layers through `std::shared_ptr`.
class Regularizer {
 public:
  Regularizer(double l1, double l2);
  double l1() const { return l1_; }
  double l2() const { return l2_; }
  /// l1 · Σ|x| + l2 · Σx², accumulated in double.
  double penalty(const Tensor& x) const;
  /// grad += scale · ∂penalty/∂x = scale · (l1 · sign(x) + 2 · l2 · x).
  void add_gradient(const Tensor& x, float scale, Tensor& grad) const;
  /// Keras config: {"class_name": "L1L2", "config": {"l1": …, "l2": …}} (or L1 / L2).
  nlohmann::json get_config() const;

 private:
  double l1_;
  double l2_;
};

using RegularizerPtr = std::shared_ptr<const Regularizer>;

/// Keras `l1(l1=0.01)`.
RegularizerPtr l1(double l1 = 0.01);
/// Keras `l2(l2=0.01)`.
RegularizerPtr l2(double l2 = 0.01);
/// Keras `l1_l2(l1=0.0, l2=0.0)`.
RegularizerPtr l1_l2(double l1 = 0.0, double l2 = 0.0);
/// From a Keras config (L1, L2, L1L2 as `get_config` writes them, nested or flat, see
/// config/registry.hpp), or null for a JSON null. ValueError naming `where` for an unknown class
/// or option.
RegularizerPtr from_config(const nlohmann::json& config, const std::string& where = "regularizer config");

}  // namespace regula::regularizers
