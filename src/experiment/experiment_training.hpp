#pragma once
// One training of an experiment, shared by `experiment::run` (one training, then the test set) and
// by the trials of a search (one training per trial, or one per cross-validation fold): the parts
// of the experiment read and checked before any data is loaded, and the training itself.

#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "regula/model/history.hpp"
#include "regula/model/model.hpp"
#include "src/experiment/experiment_data.hpp"

namespace regula::experiment {

/// An experiment's sections, read and checked before anything is loaded or written.
struct TrainingPlan {
  nlohmann::json experiment;
  DataSpec data;
  /// The `fit` section (no callbacks or validation data yet).
  FitOptions fit;
  /// fit.class_weight: balanced, computed from the training labels once they are loaded.
  bool balanced_class_weight = false;
};

/// Reads and checks every section of a resolved experiment: data, model kind, compile, fit,
/// augmentation and callbacks (ValueError naming the section and key). `verbose` is fit's
/// progress verbosity unless the fit section sets its own.
TrainingPlan plan_training(const nlohmann::json& experiment, int verbose);

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
Training train(const TrainingPlan& plan, Arrays& arrays, const std::string& run_dir, int verbose, std::FILE* out);

}  // namespace regula::experiment
