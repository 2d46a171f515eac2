// Accuracy metrics and their resolution from "accuracy" / "acc", following Keras 3's
// keras/src/trainers/compile_utils.py (`get_metric` and `is_binary_or_sparse_categorical`):
// the choice is made from the shapes of the first batch (Keras builds its compile metrics on the
// first `update_state`), checked in Keras's order: binary when y_pred has one unit, sparse when
// y_true has lower rank or one column against several units, categorical otherwise. regula also
// lets the loss decide (binary_crossentropy → binary, sparse_categorical_crossentropy → sparse),
// as Keras 2.2's training.py did, so multi-label binary models get binary accuracy.

#include <cctype>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "regula/error.hpp"
#include "regula/metrics/metric.hpp"

namespace regula::metrics {
namespace {

enum class Kind { unresolved, sparse_categorical, categorical, binary };

int64_t argmax_row(const float* row, int64_t n) {
  // First maximum, as numpy's and TensorFlow's argmax.
  int64_t best = 0;
  for (int64_t j = 1; j < n; ++j)
    if (row[j] > row[best]) best = j;
  return best;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class Accuracy final : public Metric {
 public:
  Accuracy(std::string name, Kind kind, std::string loss_name)
      : Metric(std::move(name)), kind_(kind), loss_name_(std::move(loss_name)) {}

  void update(const Tensor& y_true, const Tensor& y_pred) override {
    if (y_pred.rank() < 1 || y_pred.size() == 0 || y_true.rank() < 1 || y_true.dim(0) != y_pred.dim(0))
      throw ShapeError(fmt::format("metric '{}': y_true of shape {} does not fit y_pred of shape {}", name(),
                                   y_true.shape().to_string(), y_pred.shape().to_string()));
    if (kind_ == Kind::unresolved) kind_ = resolve(y_true, y_pred);
    switch (kind_) {
      case Kind::binary: return update_binary(y_true, y_pred);
      case Kind::sparse_categorical: return update_sparse(y_true, y_pred);
      default: return update_categorical(y_true, y_pred);
    }
  }

 private:
  Kind resolve(const Tensor& y_true, const Tensor& y_pred) const {
    const int64_t t_last = y_true.dim(y_true.rank() - 1);
    const int64_t p_last = y_pred.rank() == 1 ? 1 : y_pred.dim(y_pred.rank() - 1);
    const bool is_binary = p_last == 1 || loss_name_ == "binary_crossentropy";
    const bool is_sparse = y_true.rank() < y_pred.rank() || (t_last == 1 && p_last > 1) ||
                           loss_name_ == "sparse_categorical_crossentropy";
    if (is_binary) return Kind::binary;
    if (is_sparse) return Kind::sparse_categorical;
    return Kind::categorical;
  }

  // Keras binary_accuracy: mean over the last axis of (y_pred > 0.5) == y_true, then the mean
  // over samples.
  void update_binary(const Tensor& y_true, const Tensor& y_pred) {
    if (y_true.size() != y_pred.size())
      throw ShapeError(fmt::format("metric '{}' (binary accuracy): y_true of shape {} does not fit y_pred of shape {}",
                                   name(), y_true.shape().to_string(), y_pred.shape().to_string()));
    const int64_t n = y_pred.dim(0), m = y_pred.size() / n;
    const float* y = y_true.data();
    const float* p = y_pred.data();
    double total = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      int64_t hits = 0;
      for (int64_t k = i * m; k < (i + 1) * m; ++k) hits += (p[k] > 0.5f ? 1.0f : 0.0f) == y[k];
      total += static_cast<double>(hits) / static_cast<double>(m);
    }
    accumulate(total, n);
  }

  // Keras sparse_categorical_accuracy: argmax(y_pred) == y_true (labels (N,) or (N, 1)).
  void update_sparse(const Tensor& y_true, const Tensor& y_pred) {
    const int64_t classes = y_pred.rank() == 1 ? 1 : y_pred.dim(y_pred.rank() - 1);
    if (y_true.size() * classes != y_pred.size())
      throw ShapeError(fmt::format("metric '{}' (sparse categorical accuracy): y_true of shape {} does not fit y_pred "
                                   "of shape {}: expected one class index for each row of scores",
                                   name(), y_true.shape().to_string(), y_pred.shape().to_string()));
    const int64_t n = y_pred.dim(0), rows = y_true.size() / n;
    const float* y = y_true.data();
    const float* p = y_pred.data();
    double total = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      int64_t hits = 0;
      for (int64_t r = i * rows; r < (i + 1) * rows; ++r)
        hits += static_cast<float>(argmax_row(p + r * classes, classes)) == y[r];
      total += static_cast<double>(hits) / static_cast<double>(rows);
    }
    accumulate(total, n);
  }

  // Keras categorical_accuracy: argmax(y_pred) == argmax(y_true).
  void update_categorical(const Tensor& y_true, const Tensor& y_pred) {
    if (y_true.shape() != y_pred.shape())
      throw ShapeError(fmt::format("metric '{}' (categorical accuracy): y_true of shape {} does not fit y_pred of "
                                   "shape {}: expected one-hot labels of the same shape",
                                   name(), y_true.shape().to_string(), y_pred.shape().to_string()));
    const int64_t classes = y_pred.dim(y_pred.rank() - 1);
    const int64_t n = y_pred.dim(0), rows = y_pred.size() / classes / n;
    const float* y = y_true.data();
    const float* p = y_pred.data();
    double total = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      int64_t hits = 0;
      for (int64_t r = i * rows; r < (i + 1) * rows; ++r)
        hits += argmax_row(p + r * classes, classes) == argmax_row(y + r * classes, classes);
      total += static_cast<double>(hits) / static_cast<double>(rows);
    }
    accumulate(total, n);
  }

  Kind kind_;
  std::string loss_name_;
};

// The class of each sample: a class index (rank 1 or one column, which must be an integer) or
// the argmax of a row of scores / one-hot labels.
std::vector<int64_t> classes_of(const Tensor& t, const char* which) {
  if (t.rank() < 1 || t.rank() > 2)
    throw ShapeError(fmt::format("accuracy_score: {} has shape {}; expected class indices (N,) or (N, 1), or scores "
                                 "(N, C)",
                                 which, t.shape().to_string()));
  const int64_t n = t.dim(0);
  std::vector<int64_t> out(static_cast<size_t>(n));
  const float* v = t.data();
  if (t.rank() == 1 || t.dim(1) == 1) {
    for (int64_t i = 0; i < n; ++i) {
      if (!std::isfinite(v[i]) || std::floor(v[i]) != v[i])
        throw ValueError(fmt::format("accuracy_score: {}[{}] = {} is not a class index; pass integer class indices, "
                                     "or scores of shape (N, C) (threshold binary probabilities first)",
                                     which, i, v[i]));
      out[static_cast<size_t>(i)] = static_cast<int64_t>(v[i]);
    }
  } else {
    const int64_t c = t.dim(1);
    for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = argmax_row(v + i * c, c);
  }
  return out;
}

}  // namespace

MetricPtr get(const std::string& name, const losses::Loss& loss) {
  const std::string key = lower(name);
  // Keras compares str(identifier).lower() with "accuracy"/"acc" and keeps the name as written.
  if (key == "accuracy" || key == "acc") return std::make_shared<Accuracy>(name, Kind::unresolved, loss.name());
  if (name == "sparse_categorical_accuracy" || name == "SparseCategoricalAccuracy")
    return std::make_shared<Accuracy>(name, Kind::sparse_categorical, loss.name());
  if (name == "categorical_accuracy" || name == "CategoricalAccuracy")
    return std::make_shared<Accuracy>(name, Kind::categorical, loss.name());
  if (name == "binary_accuracy" || name == "BinaryAccuracy")
    return std::make_shared<Accuracy>(name, Kind::binary, loss.name());
  throw ValueError(fmt::format("metrics::get: unknown metric '{}'; known metrics: accuracy (alias acc), "
                               "sparse_categorical_accuracy, categorical_accuracy, binary_accuracy",
                               name));
}

std::optional<Direction> improvement_direction(const std::string& logged_name) {
  const std::string name = logged_name.rfind("val_", 0) == 0 ? logged_name.substr(4) : logged_name;
  if (name == "loss") return Direction::kMin;
  try {
    // Any loss will do: it only chooses among the accuracies, which all improve upwards.
    return get(name, *losses::get("categorical_crossentropy"))->direction();
  } catch (const ValueError&) {
    return std::nullopt;
  }
}

double accuracy_score(const Tensor& y_true, const Tensor& y_pred) {
  if (y_true.rank() < 1 || y_pred.rank() < 1 || y_true.dim(0) != y_pred.dim(0))
    throw ShapeError(fmt::format("accuracy_score: y_true of shape {} and y_pred of shape {} have different numbers "
                                 "of samples",
                                 y_true.shape().to_string(), y_pred.shape().to_string()));
  if (y_true.dim(0) == 0) throw ValueError("accuracy_score: no samples (y_true and y_pred are empty)");
  const std::vector<int64_t> t = classes_of(y_true, "y_true");
  const std::vector<int64_t> p = classes_of(y_pred, "y_pred");
  int64_t hits = 0;
  for (size_t i = 0; i < t.size(); ++i) hits += t[i] == p[i];
  return static_cast<double>(hits) / static_cast<double>(t.size());
}

}  // namespace regula::metrics
