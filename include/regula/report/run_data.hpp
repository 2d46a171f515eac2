#pragma once
/// @file
/// What a learning-curve report is made from: a run's per-epoch history, its experiment, its test
/// results, its class statistics and its augmentation picture, read from the run directory that
/// `regula fit` writes (experiment/experiment.hpp), or gathered in memory by the
/// LearningCurveReport callback.
///
/// A run directory holds (each optional except the history):
/// - `history.json` (`{epoch: [...], history: {loss: [...], ...}}`; JSON `null` reads as NaN);
///   when absent, `history.csv`, and when that is absent too the CSV file of the experiment's
///   CSVLogger (written epoch by epoch, so an interrupted run still has it; `NA`, `nan`, `null`
///   and empty cells read as NaN);
/// - `experiment.yaml` (the callbacks and `fit.epochs`), `test.json` (`{loss, accuracy}`),
///   `evaluation.json` (report/test_evaluation.hpp) and `augmentation.png`.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "regula/model/history.hpp"
#include "regula/report/test_evaluation.hpp"

namespace regula::report {

/// Per-epoch values by name, every series as long as `epoch` (NaN where a value is missing).
struct HistoryData {
  /// The epochs recorded, 0-based as Keras's `history.epoch` (reports print them 1-based).
  std::vector<int> epoch;
  /// Series names in their recorded order.
  std::vector<std::string> names;
  std::map<std::string, std::vector<double>> series;

  size_t size() const { return epoch.size(); }
  bool has(const std::string& name) const { return series.count(name) > 0; }
  /// The series `name`, or nullptr when absent.
  const std::vector<double>* find(const std::string& name) const;
  /// Appends a series (throws ValueError when its length differs from `epoch`'s).
  void add(const std::string& name, std::vector<double> values);

  /// The history of a `fit` (callbacks::History).
  static HistoryData from(const callbacks::History& history);
};

/// Everything a report shows about one run.
struct RunData {
  /// Where the run came from (its directory, or a title for an in-memory run).
  std::string source;
  HistoryData history;
  /// The file the history was read from ("history.json", "history.csv", a CSVLogger file), or
  /// "memory".
  std::string history_file;
  /// The resolved experiment; null when unknown.
  nlohmann::json experiment;
  /// The callbacks' configurations (Keras-style `{class_name: …, …}`), from the experiment.
  nlohmann::json callbacks = nlohmann::json::array();
  /// fit.epochs and fit.initial_epoch; 0 when unknown.
  int planned_epochs = 0;
  int initial_epoch = 0;
  /// Loss and metrics on the test set (test.json), when the run got that far.
  std::optional<std::map<std::string, double>> test;
  /// Confusion matrix, per-class accuracy and class counts (evaluation.json).
  std::optional<ClassEvaluation> evaluation;
  /// What PreciseBatchNorm did (precise_batch_norm.json): recalibrations, seconds, and the final
  /// epoch's validation with recalibrated statistics and with the moving averages; null when the
  /// run had no PreciseBatchNorm.
  nlohmann::json precise_batch_norm;
  /// The augmentation grid as PNG bytes; empty when the run did not augment.
  std::string augmentation_png;
  /// What was missing or fell back, in words, for the report.
  std::vector<std::string> notes;
};

/// Reads the run directory `dir`. Throws IOError naming the directory when it does not exist or
/// holds no history (listing the files looked for), ValueError naming the file when one is
/// malformed. Missing optional files become notes.
RunData load_run(const std::string& dir);

/// The experiment's `fit.epochs`, `fit.initial_epoch` and `callbacks` copied into `run`.
void set_experiment(RunData& run, const nlohmann::json& experiment);

}  // namespace regula::report
