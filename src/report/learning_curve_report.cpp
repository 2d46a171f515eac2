#include "regula/report/learning_curve_report.hpp"

#include <limits>

#include "regula/callbacks/early_stopping.hpp"
#include "regula/callbacks/model_checkpoint.hpp"
#include "regula/callbacks/reduce_lr_on_plateau.hpp"
#include "regula/error.hpp"
#include "regula/report/html_report.hpp"

namespace regula::report {
using namespace callbacks;  // the callbacks whose events the report marks
namespace {

using nlohmann::json;

/// The Keras-style configuration of a callback whose events the report marks; null for others.
json callback_config(const Callback* callback) {
  if (const auto* c = dynamic_cast<const EarlyStopping*>(callback)) {
    const EarlyStoppingOptions& o = c->options();
    json j = {{"class_name", "EarlyStopping"}, {"monitor", o.monitor},   {"min_delta", o.min_delta},
              {"patience", o.patience},        {"mode", o.mode},         {"restore_best_weights", o.restore_best_weights},
              {"start_from_epoch", o.start_from_epoch}};
    if (o.baseline) j["baseline"] = *o.baseline;
    return j;
  }
  if (const auto* c = dynamic_cast<const ReduceLROnPlateau*>(callback)) {
    const ReduceLROnPlateauOptions& o = c->options();
    return {{"class_name", "ReduceLROnPlateau"}, {"monitor", o.monitor}, {"factor", o.factor}, {"mode", o.mode}};
  }
  if (const auto* c = dynamic_cast<const ModelCheckpoint*>(callback)) {
    const ModelCheckpointOptions& o = c->options();
    json j = {{"class_name", "ModelCheckpoint"}, {"filepath", c->last_saved()}, {"monitor", o.monitor},
              {"save_best_only", o.save_best_only}, {"mode", o.mode}};
    if (o.initial_value_threshold) j["initial_value_threshold"] = *o.initial_value_threshold;
    return j;
  }
  return nullptr;
}

}  // namespace

LearningCurveReport::LearningCurveReport(std::string path, LearningCurveReportOptions options)
    : path_(std::move(path)), options_(std::move(options)) {
  if (path_.empty()) throw ValueError("LearningCurveReport: path='' is not allowed; give the HTML file to write");
  if (options_.epochs < 0)
    throw ValueError("LearningCurveReport: epochs=" + std::to_string(options_.epochs) + " is not allowed; allowed: >= 0");
}

void LearningCurveReport::on_train_begin(Logs&) { history_ = {}; }

void LearningCurveReport::on_epoch_end(int epoch, Logs& logs) {
  // New names get NaN for the earlier epochs; names missing this epoch get NaN (gaps).
  history_.epoch.push_back(epoch);
  for (auto& [name, values] : history_.series) values.push_back(std::numeric_limits<double>::quiet_NaN());
  for (const auto& [name, value] : logs) {
    if (!history_.has(name)) {
      history_.names.push_back(name);
      history_.series[name] = std::vector<double>(history_.epoch.size(), std::numeric_limits<double>::quiet_NaN());
    }
    history_.series[name].back() = value;
  }
}

void LearningCurveReport::on_train_end(Logs&) { write(); }

report::RunData LearningCurveReport::run_data() const {
  report::RunData run;
  run.source = options_.title.empty() ? path_ : options_.title;
  run.history = history_;
  run.history_file = "memory";
  run.planned_epochs = options_.epochs;
  run.initial_epoch = history_.epoch.empty() ? 0 : history_.epoch.front();
  for (const Callback* c : options_.callbacks) {
    json config = callback_config(c);
    if (!config.is_null()) run.callbacks.push_back(std::move(config));
  }
  run.test = test_;
  run.evaluation = evaluation_;
  return run;
}

void LearningCurveReport::write() const { report::write_report(run_data(), path_); }

}  // namespace regula::report
