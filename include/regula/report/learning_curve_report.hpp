#pragma once
/// @file
/// LearningCurveReport: writes the learning-curve report (report/html_report.hpp) of a `fit` when
/// training ends, for C++ programs (`regula fit` writes `RUN_DIR/report.html` itself).
///
/// ```cpp
/// callbacks::EarlyStopping early({.monitor = "val_accuracy", .patience = 10, .mode = "max"});
/// callbacks::ModelCheckpoint best("best.h5", {.monitor = "val_accuracy", .save_best_only = true});
/// report::LearningCurveReport report("report.html", {.callbacks = {&early, &best}, .epochs = 50});
/// model.fit(x, y, {.epochs = 50, .callbacks = {&early, &best, &report}, .validation_split = 0.2});
/// ```
///
/// The epochs' logs are recorded as History does; list the report after the other callbacks, so
/// that what they write into the logs (ReduceLROnPlateau's `learning_rate`) is recorded. The
/// callbacks named in the options are read for
/// the report's markers: EarlyStopping, ReduceLROnPlateau and ModelCheckpoint by their options
/// (monitor, mode, patience, min_delta, baseline, start_from_epoch, restore_best_weights,
/// save_best_only, initial_value_threshold); others are ignored. The report is written at train
/// end, also when training stops on NaN. Without test results or class statistics those sections
/// say they are omitted; `set_test_results` and `set_evaluation` add them before train end, or
/// call `write()` again after evaluating.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "regula/model/callback.hpp"
#include "regula/report/run_data.hpp"

namespace regula::report {

struct LearningCurveReportOptions {
  /// The fit's callbacks whose events the report marks.
  std::vector<const callbacks::Callback*> callbacks = {};
  /// fit's `epochs` (0: unknown, the report cannot tell an interrupted run).
  int epochs = 0;
  /// The report's heading line; empty: the file name.
  std::string title = "";
};

class LearningCurveReport final : public callbacks::Callback {
 public:
  /// Throws ValueError for an empty path or negative epochs.
  explicit LearningCurveReport(std::string path, LearningCurveReportOptions options = {});

  /// Test loss and metrics shown in the report (e.g. the result of `evaluate`).
  void set_test_results(std::map<std::string, double> test) { test_ = std::move(test); }
  /// Confusion matrix and class counts (report/test_evaluation.hpp).
  void set_evaluation(report::ClassEvaluation evaluation) { evaluation_ = std::move(evaluation); }
  /// The report's data as recorded so far.
  report::RunData run_data() const;
  /// Writes the report now (IOError naming the path on failure).
  void write() const;
  const std::string& path() const { return path_; }

  void on_train_begin(callbacks::Logs& logs) override;
  void on_epoch_end(int epoch, callbacks::Logs& logs) override;
  void on_train_end(callbacks::Logs& logs) override;

 private:
  std::string path_;
  LearningCurveReportOptions options_;
  report::HistoryData history_;
  std::optional<std::map<std::string, double>> test_;
  std::optional<report::ClassEvaluation> evaluation_;
};

}  // namespace regula::report
