#pragma once
// One training of an experiment's plan, shared by `experiment::run` (one training, then the test
// set), the variants of an ablation and the trials of a search (one training per trial, or one per
// cross-validation fold).

#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "regula/model/history.hpp"
#include "regula/experiment/experiment.hpp"
#include "regula/model/model.hpp"
#include "src/experiment/experiment_data.hpp"
#include "src/experiment/experiment_plan.hpp"

namespace regula::experiment {

/// "runs/<prefix><YYYYmmdd-HHMMSS>": the default run directory of a command.
std::string default_run_dir(const std::string& prefix = "");

/// A trained model and its history.
struct Training {
  /// The kept model: the weights of the last file a save_best_only ModelCheckpoint wrote (the
  /// article loads its best model before the test), else the weights at the end of fit.
  std::unique_ptr<Model> model;
  callbacks::History history;
  /// The checkpoint whose weights were loaded back (empty: the weights at the end of fit).
  std::string kept_checkpoint;
};

/// Trains a new model as `plan` says on the training part of `arrays`, validating on its
/// validation part when it has one. Creates `run_dir` and writes there the resolved experiment
/// (`experiment.yaml`), the history (`history.json`, `history.csv`) and whatever the callbacks
/// write (relative file names land in it). With augmentation, the validation and test parts of
/// `arrays` are standardized as the training batches are. Prints the model summary (verbose > 0)
/// and a "Training on …" line to `out`. After fit, a save_best_only ModelCheckpoint's last file is
/// loaded back into the model (see Training::model).
Training train(const TrainingPlan& plan, Arrays& arrays, const std::string& run_dir, int verbose, std::FILE* out,
               const distributed::CommunicatorPtr& communicator = distributed::single_process());

/// `experiment::run` of a plan already made: seeds, loads the data, trains, tests and reports.
RunResult run_plan(const TrainingPlan& plan, const RunOptions& options);

}  // namespace regula::experiment
