#pragma once
/// @file
/// Metrics (Keras `keras.metrics`): stateful means over the batches of an epoch, unweighted by
/// class or sample weights (Keras's rule for `metrics=`), weighted by the samples in each batch.

#include <memory>
#include <optional>
#include <string>

#include "regula/losses/loss.hpp"
#include "regula/tensor/tensor.hpp"
#include "regula/utils/direction.hpp"

namespace regula::metrics {

class Metric {
 public:
  virtual ~Metric() = default;
  /// The name in the logs: "accuracy" → `accuracy`/`val_accuracy`, "acc" → `acc`/`val_acc`.
  const std::string& name() const { return name_; }
  /// Adds one batch.
  virtual void update(const Tensor& y_true, const Tensor& y_pred) = 0;
  /// The direction in which the metric improves (Keras's `_direction`): up for the accuracies.
  virtual Direction direction() const { return Direction::kMax; }
  /// The mean so far (0 before any update).
  double result() const { return count_ == 0 ? 0.0 : total_ / static_cast<double>(count_); }
  void reset() { total_ = 0.0; count_ = 0; }
  /// The running sum and sample count behind `result()` (summed over ranks in data-parallel
  /// training: the global result is Σ total / Σ count).
  double total() const { return total_; }
  int64_t count() const { return count_; }
  /// Puts back totals from `total()` and `count()` (resuming an epoch part-way).
  void set_totals(double total, int64_t count) { total_ = total; count_ = count; }

 protected:
  explicit Metric(std::string name) : name_(std::move(name)) {}
  void accumulate(double total, int64_t count) { total_ += total; count_ += count; }

 private:
  std::string name_;
  double total_ = 0.0;
  int64_t count_ = 0;
};

using MetricPtr = std::shared_ptr<Metric>;

/// Resolves a metric named in `compile` as Keras does. "accuracy" / "acc" become
/// sparse_categorical_accuracy for sparse labels (sparse crossentropy loss, or labels of one
/// column), binary_accuracy (threshold 0.5) for binary crossentropy or a single output unit,
/// categorical_accuracy otherwise; the name in the logs stays as written. Also accepted by their
/// own names: "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy".
/// Throws ValueError listing the known names.
MetricPtr get(const std::string& name, const losses::Loss& loss);

/// The direction in which a logged quantity improves, as Keras 3's MonitorCallback infers it for
/// mode "auto": with any `val_` prefix removed, `loss` decreases and a metric improves in its own
/// direction (the accuracies, under every name `get` accepts: up). nullopt for any other name
/// (Keras then raises a ValueError asking for mode "min" or "max").
std::optional<Direction> improvement_direction(const std::string& logged_name);

/// Fraction of samples whose predicted class matches (scikit-learn's `accuracy_score`).
/// `y_true`: class indices (N) / (N, 1), or one-hot (N, C). `y_pred`: class indices, or scores
/// (N, C) whose argmax is the prediction.
double accuracy_score(const Tensor& y_true, const Tensor& y_pred);

}  // namespace regula::metrics
