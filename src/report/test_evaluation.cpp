// The test set's confusion matrix and the class counts of a run (evaluation.json).

#include "regula/report/test_evaluation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "regula/error.hpp"
#include "regula/io/file_bytes.hpp"
#include "regula/model/model.hpp"

namespace regula::report {
namespace {

using nlohmann::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kFormatVersion = 1;
constexpr int64_t kMaxClasses = 1000;

/// A JSON list of numbers with NaN as null (what nlohmann::json writes for NaN anyway, said once).
json numbers(const std::vector<double>& values) {
  json list = json::array();
  for (double v : values) list.push_back(std::isfinite(v) ? json(v) : json(nullptr));
  return list;
}

std::vector<int64_t> counts_from(const json& doc, const std::string& key, const std::string& where) {
  if (!doc.contains(key) || doc[key].is_null()) return {};
  try {
    return doc[key].get<std::vector<int64_t>>();
  } catch (const json::exception&) {
    throw ValueError(where + ": class_counts." + key + " must be a list of whole numbers");
  }
}

}  // namespace

std::vector<int64_t> label_classes(const Tensor& y, const std::string& what) {
  std::vector<int64_t> classes;
  if (y.rank() == 2 && y.dim(1) > 1) {
    for (const int64_t c : predicted_classes(y)) classes.push_back(c);
    return classes;
  }
  if (y.rank() != 1 && !(y.rank() == 2 && y.dim(1) == 1))
    throw ValueError(what + ": labels must be (N), (N, 1) or one-hot (N, C); got " + y.shape().to_string());
  classes.reserve(static_cast<size_t>(y.size()));
  for (int64_t i = 0; i < y.size(); ++i) {
    const float v = y[i];
    if (!(v >= 0.0f) || v != std::floor(v) || v > 1e6f)
      throw ValueError(what + ": label " + std::to_string(v) + " at row " + std::to_string(i) +
                       " is not a class index (a non-negative whole number)");
    classes.push_back(static_cast<int64_t>(v));
  }
  return classes;
}

std::vector<int64_t> predicted_classes(const Tensor& y_pred) {
  std::vector<int64_t> classes;
  if (y_pred.rank() == 1 || (y_pred.rank() == 2 && y_pred.dim(1) == 1)) {
    for (int64_t i = 0; i < y_pred.size(); ++i) classes.push_back(y_pred[i] >= 0.5f ? 1 : 0);
    return classes;
  }
  if (y_pred.rank() != 2)
    throw ShapeError("predicted_classes: predictions must be (N), (N, 1) or (N, C); got " + y_pred.shape().to_string());
  const int64_t n = y_pred.dim(0), c = y_pred.dim(1);
  for (int64_t i = 0; i < n; ++i) {
    const float* row = y_pred.data() + i * c;
    classes.push_back(std::max_element(row, row + c) - row);
  }
  return classes;
}

std::vector<int64_t> class_counts(const std::vector<int64_t>& labels, int64_t classes) {
  std::vector<int64_t> counts(static_cast<size_t>(std::max<int64_t>(classes, 0)), 0);
  for (const int64_t label : labels) {
    if (label < 0 || label >= classes)
      throw ValueError("class_counts: class " + std::to_string(label) + " is outside 0.." + std::to_string(classes - 1));
    ++counts[static_cast<size_t>(label)];
  }
  return counts;
}

ClassEvaluation evaluate_classes(const std::vector<int64_t>& labels, const std::vector<int64_t>& predicted,
                                 int64_t classes) {
  if (labels.size() != predicted.size())
    throw ValueError("evaluate_classes: " + std::to_string(labels.size()) + " labels but " +
                     std::to_string(predicted.size()) + " predictions");
  if (classes < 1) throw ValueError("evaluate_classes: classes=" + std::to_string(classes) + " must be >= 1");
  ClassEvaluation e;
  e.classes = classes;
  e.confusion.assign(static_cast<size_t>(classes), std::vector<int64_t>(static_cast<size_t>(classes), 0));
  int64_t correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= classes || predicted[i] < 0 || predicted[i] >= classes)
      throw ValueError("evaluate_classes: sample " + std::to_string(i) + " has class " + std::to_string(labels[i]) +
                       " predicted as " + std::to_string(predicted[i]) + "; classes are 0.." + std::to_string(classes - 1));
    ++e.confusion[static_cast<size_t>(labels[i])][static_cast<size_t>(predicted[i])];
    correct += labels[i] == predicted[i];
  }
  for (int64_t c = 0; c < classes; ++c) {
    const auto& row = e.confusion[static_cast<size_t>(c)];
    int64_t total = 0;
    for (const int64_t v : row) total += v;
    e.per_class_accuracy.push_back(total > 0 ? static_cast<double>(row[static_cast<size_t>(c)]) / static_cast<double>(total)
                                             : kNaN);
  }
  e.accuracy = labels.empty() ? kNaN : static_cast<double>(correct) / static_cast<double>(labels.size());
  return e;
}

json to_json(const ClassEvaluation& e) {
  json counts = json::object();
  if (!e.train_counts.empty()) counts["train"] = e.train_counts;
  if (!e.validation_counts.empty()) counts["validation"] = e.validation_counts;
  if (!e.test_counts.empty()) counts["test"] = e.test_counts;
  json doc = {{"format", "regula.evaluation"}, {"version", kFormatVersion}, {"classes", e.classes},
              {"class_names", e.class_names}, {"class_counts", counts}};
  if (!e.confusion.empty()) {
    doc["confusion_matrix"] = e.confusion;
    doc["per_class_accuracy"] = numbers(e.per_class_accuracy);
    doc["accuracy"] = std::isfinite(e.accuracy) ? json(e.accuracy) : json(nullptr);
  }
  return doc;
}

ClassEvaluation evaluation_from_json(const json& doc, const std::string& where) {
  if (!doc.is_object() || doc.value("format", "") != "regula.evaluation")
    throw ValueError(where + ": not an evaluation file (expected \"format\": \"regula.evaluation\")");
  if (doc.value("version", 0) != kFormatVersion)
    throw ValueError(where + ": evaluation format version " + doc.value("version", json(nullptr)).dump() +
                     " is not supported; this regula reads version " + std::to_string(kFormatVersion));
  ClassEvaluation e;
  try {
    e.classes = doc.at("classes").get<int64_t>();
    if (e.classes < 1 || e.classes > 100000) throw ValueError(where + ": classes=" + std::to_string(e.classes) + " is out of range");
    e.class_names = doc.value("class_names", std::vector<std::string>{});
    const json counts = doc.value("class_counts", json::object());
    e.train_counts = counts_from(counts, "train", where);
    e.validation_counts = counts_from(counts, "validation", where);
    e.test_counts = counts_from(counts, "test", where);
    if (doc.contains("confusion_matrix")) {
      e.confusion = doc["confusion_matrix"].get<std::vector<std::vector<int64_t>>>();
      for (const json& v : doc.at("per_class_accuracy"))
        e.per_class_accuracy.push_back(v.is_number() ? v.get<double>() : kNaN);
      e.accuracy = doc["accuracy"].is_number() ? doc["accuracy"].get<double>() : kNaN;
    } else {
      e.accuracy = kNaN;
    }
  } catch (const json::exception& err) {
    throw ValueError(where + ": malformed evaluation: " + err.what());
  }
  const auto size = static_cast<size_t>(e.classes);
  bool consistent = (e.class_names.empty() || e.class_names.size() == size) &&
                    (e.confusion.empty() || (e.confusion.size() == size && e.per_class_accuracy.size() == size));
  for (const auto& row : e.confusion) consistent = consistent && row.size() == size;
  for (const auto* counts : {&e.train_counts, &e.validation_counts, &e.test_counts})
    consistent = consistent && (counts->empty() || counts->size() == size);
  if (!consistent) throw ValueError(where + ": the lists do not all have " + std::to_string(e.classes) + " classes");
  return e;
}

std::optional<ClassEvaluation> write_test_evaluation(const std::string& path, Model& model, const EvaluationSets& sets) {
  std::vector<int64_t> train, validation, test;
  try {
    if (sets.y_train) train = label_classes(*sets.y_train, "training labels");
    if (sets.y_validation) validation = label_classes(*sets.y_validation, "validation labels");
    if (sets.y_test) test = label_classes(*sets.y_test, "test labels");
  } catch (const ValueError&) {
    return std::nullopt;  // not a classifier: no classes to count
  }
  const Shape output = model.output_shape();
  int64_t classes = output.rank() == 1 && output[0] > 1 ? output[0] : 2;
  for (const auto* labels : {&train, &validation, &test})
    for (const int64_t c : *labels) classes = std::max(classes, c + 1);
  // Whole-number targets with a huge range (counts, years) are not classes to tabulate.
  if (classes > kMaxClasses) return std::nullopt;

  ClassEvaluation e;
  if (sets.x_test && sets.y_test) {
    const Tensor predictions = model.predict(*sets.x_test, {.batch_size = 256, .verbose = 0});
    std::vector<int64_t> predicted = predicted_classes(predictions);
    for (const int64_t c : predicted) classes = std::max(classes, c + 1);
    e = evaluate_classes(test, predicted, classes);
  } else {
    e.classes = classes;
    e.accuracy = kNaN;
  }
  e.class_names = sets.class_names.size() == static_cast<size_t>(classes) ? sets.class_names : std::vector<std::string>{};
  if (e.class_names.empty())
    for (int64_t c = 0; c < classes; ++c) e.class_names.push_back(std::to_string(c));
  if (sets.y_train) e.train_counts = class_counts(train, classes);
  if (sets.y_validation) e.validation_counts = class_counts(validation, classes);
  if (sets.y_test) e.test_counts = class_counts(test, classes);
  io::write_file_atomically(path, to_json(e).dump(2) + "\n");
  return e;
}

}  // namespace regula::report
