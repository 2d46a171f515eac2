#pragma once
/// @file
/// Losses (Keras `keras.losses`) with Keras's reduction: per-sample losses l_i, optional sample
/// weights w_i, reduced as Σ w_i·l_i / N over the N samples of the batch ("sum_over_batch_size";
/// not divided by Σw).
///
/// Labels are float tensors: class indices of shape (batch,) or (batch, 1) for the sparse
/// losses, one-hot or probabilities of shape (batch, classes) for the categorical ones.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "regula/tensor/tensor.hpp"

namespace regula::losses {

class Loss {
 public:
  virtual ~Loss() = default;
  /// Keras's name, e.g. "sparse_categorical_crossentropy".
  virtual std::string name() const = 0;

  /// Checks that labels fit predictions (shapes, class indices in range); throws ValueError or
  /// ShapeError naming the loss, the shapes and what is allowed.
  virtual void validate(const Tensor& y_true, const Tensor& y_pred) const = 0;
  /// Writes the per-sample losses l_i into `per_sample` (y_pred.dim(0) values).
  virtual void per_sample(const Tensor& y_true, const Tensor& y_pred, float* per_sample) const = 0;
  /// grad = ∂(scale · Σ w_i·l_i)/∂y_pred, overwriting `grad` (shaped like y_pred).
  /// `sample_weight` may be null (all weights 1).
  virtual void gradient(const Tensor& y_true, const Tensor& y_pred, const float* sample_weight, float scale,
                        Tensor& grad) const = 0;

  /// Whether this loss applies to probabilities that a final softmax produced and can hand back
  /// the gradient with respect to the softmax's input (numerically stable: p − y).
  virtual bool fuses_with_softmax() const { return false; }
  /// grad = ∂(scale · Σ w_i·l_i)/∂logits where y_pred = softmax(logits). Only when
  /// `fuses_with_softmax()`.
  virtual void gradient_wrt_logits(const Tensor& y_true, const Tensor& y_pred, const float* sample_weight,
                                   float scale, Tensor& grad) const;

  /// Whether the targets are classes (crossentropies): data splits and folds are then stratified
  /// by class, as scikit-learn does for classifiers.
  virtual bool is_classification() const = 0;

  virtual nlohmann::json get_config() const { return {{"name", name()}}; }
};

using LossPtr = std::shared_ptr<const Loss>;

/// Options shared by the crossentropy losses (Keras's names and defaults).
struct CrossentropyOptions {
  bool from_logits = false;
  /// Label smoothing (0 = none): y ← y·(1 − s) + s / classes (binary: + s / 2).
  double label_smoothing = 0.0;
};

LossPtr categorical_crossentropy(CrossentropyOptions options = {});
LossPtr sparse_categorical_crossentropy(CrossentropyOptions options = {});
LossPtr binary_crossentropy(CrossentropyOptions options = {});
LossPtr mean_squared_error();

/// A loss by Keras name: "categorical_crossentropy", "sparse_categorical_crossentropy",
/// "binary_crossentropy", "mean_squared_error" / "mse". Throws ValueError listing the names.
LossPtr get(const std::string& name);

}  // namespace regula::losses
