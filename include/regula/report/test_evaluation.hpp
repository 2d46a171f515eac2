#pragma once
/// @file
/// The class-level view of a classifier for the learning-curve report: the test set's confusion
/// matrix and per-class accuracy, and how many samples of each class the training, validation and
/// test sets hold. `experiment::run` writes it as `RUN_DIR/evaluation.json`:
///
/// ```json
/// {"format": "regula.evaluation", "version": 1, "classes": 3, "class_names": ["0", "1", "2"],
///  "class_counts": {"train": [40, 41, 39], "validation": [10, 9, 11], "test": [20, 20, 20]},
///  "confusion_matrix": [[18, 2, 0], [1, 19, 0], [0, 3, 17]],
///  "per_class_accuracy": [0.9, 0.95, 0.85], "accuracy": 0.9}
/// ```
///
/// Rows of the confusion matrix are true classes, columns predicted ones. A class's accuracy is
/// the share of its test samples predicted as it (its recall); null (NaN) when the test set holds
/// none. Labels are class indices (N) or (N, 1), or one-hot rows (N, C); predictions are
/// probabilities (N, C) (the argmax is the class; ties go to the lower index) or one sigmoid
/// column (N) / (N, 1) (class 1 at >= 0.5).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "regula/tensor/tensor.hpp"

namespace regula {
class Model;
}

namespace regula::report {

struct ClassEvaluation {
  int64_t classes = 0;
  /// A name per class ("0", "1", … unless the data names them).
  std::vector<std::string> class_names;
  /// Samples per class in each set; empty when the set is absent.
  std::vector<int64_t> train_counts, validation_counts, test_counts;
  /// classes × classes, [true][predicted]; empty without a test set.
  std::vector<std::vector<int64_t>> confusion;
  /// Per class, NaN when the test set has no sample of it; empty without a test set.
  std::vector<double> per_class_accuracy;
  /// Overall test accuracy from the confusion matrix; NaN without a test set.
  double accuracy = 0.0;
};

/// The class index of every label. Throws ValueError naming `what` when a label is not a
/// non-negative whole number (e.g. regression targets) or the tensor is not (N), (N, 1) or (N, C).
std::vector<int64_t> label_classes(const Tensor& y, const std::string& what);

/// The predicted class of every row of `y_pred` (see the file comment). Throws ShapeError for a
/// tensor that is not (N), (N, 1) or (N, C).
std::vector<int64_t> predicted_classes(const Tensor& y_pred);

/// Samples per class, `classes` long. Throws ValueError for a class index >= classes.
std::vector<int64_t> class_counts(const std::vector<int64_t>& labels, int64_t classes);

/// The confusion matrix, per-class and overall accuracy of predictions against labels (equal
/// lengths, indices < classes; ValueError otherwise). Class counts are left empty.
ClassEvaluation evaluate_classes(const std::vector<int64_t>& labels, const std::vector<int64_t>& predicted,
                                 int64_t classes);

/// evaluation.json's form (see the file comment), and back; `from_json` throws ValueError naming
/// `where` for a malformed document or another format version.
nlohmann::json to_json(const ClassEvaluation& evaluation);
ClassEvaluation evaluation_from_json(const nlohmann::json& document, const std::string& where);

/// The sets of a run, for `write_test_evaluation`. Absent sets are null pointers.
struct EvaluationSets {
  const Tensor* y_train = nullptr;
  const Tensor* y_validation = nullptr;
  const Tensor* x_test = nullptr;
  const Tensor* y_test = nullptr;
  /// Names of the classes, when the data names them.
  std::vector<std::string> class_names = {};
};

/// Predicts the test set with `model` (when given), computes the confusion matrix and the class
/// counts, and writes them to `path` (atomically). The number of classes is the model's output
/// width (2 for one sigmoid unit), or more when a label is larger. Returns nothing and writes
/// nothing when the labels are not classes (a regression run: targets that are not whole numbers,
/// or more than 1000 classes); throws IOError when `path` cannot be written.
std::optional<ClassEvaluation> write_test_evaluation(const std::string& path, Model& model, const EvaluationSets& sets);

}  // namespace regula::report
