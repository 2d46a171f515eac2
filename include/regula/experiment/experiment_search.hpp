#pragma once
/// @file
/// Hyperparameter search over an experiment file (`regula search experiment.yaml`): the file's
/// `search` section names the algorithm, the budget, the objective, optional K-fold scoring and
/// the space, whose keys are dotted paths into the experiment itself:
///
/// ```yaml
/// search:
///   algorithm: tpe                 # grid | random | tpe (default tpe)
///   max_trials: 20                 # default 10; grid: 0 or omitted = the whole grid
///   objective: {monitor: val_accuracy, mode: max}   # or just val_accuracy; default val_loss, mode auto
///   cv: 3                          # optional: score by the K-fold mean
///   seed: 1                        # the search's own randomness (default: the experiment's seed)
///   jobs: 2                        # trials run at once, as separate processes (default 1)
///   tpe: {n_startup_jobs: 5}       # TPE options (tuning::TPEOptions's names)
///   space:
///     compile.optimizer.learning_rate: {loguniform: [1.0e-4, 1.0e-2]}
///     fit.batch_size: {choice: [64, 128, 256]}
///     model.dense_dropout: {uniform: [0.2, 0.6]}      # with model: {builtin: seed}
///     model.layers.1.rate: {quniform: [0.1, 0.5, 0.1]}  # a list index as a path segment
/// ```
///
/// Each trial is the experiment with the trial's values written at their paths (and no `search`
/// section), trained with the experiment's callbacks (early stopping inside each trial) into the
/// trial's own directory `RUN_DIR/trials/NNNN/`. A branch of a choice (`{name: label, path: expr}`)
/// writes its label at the choice's path and its own parameters at theirs. Every trial uses the
/// experiment's seed (the same initialisation and shuffling rules for every configuration, so that
/// the scores differ by the hyperparameters rather than by the draw); the search's seed only drives
/// the algorithm.
///
/// The score of a training is the best value of the monitor over its epochs (KerasTuner's rule:
/// the best epoch, in the objective's direction). With `cv: K` the training and validation data are
/// pooled and cut into K folds (stratified when the loss is a crossentropy, shuffled with the
/// experiment's seed); each fold trains a new model on K - 1 parts, validating on the held-out one,
/// and the trial's score is the mean of the folds' scores (the table lists them). The test set is
/// never used by the search; train the chosen configuration afterwards (`RUN_DIR/best.yaml`, for
/// `regula fit`, or `tuning::refit` in C++).
///
/// The run directory holds `search.json` (the results, rewritten after every trial; running the
/// search again on the same directory resumes it, running only the missing trials), `search.csv`,
/// `best.yaml` and the trials' directories (`trial.json`, `log.txt`, `outcome.json`, and per training
/// `experiment.yaml`, `history.json`, `history.csv` and the callbacks' files).
///
/// Trials run as separate processes (`jobs` at once, each with threads / jobs threads) when a
/// worker command is given (the CLI gives `regula trial`); without one they run in this process,
/// one after the other.

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "regula/tuning/results.hpp"
#include "regula/tuning/search.hpp"
#include "regula/tuning/space.hpp"

namespace regula::experiment {

/// The `search` section, read and checked.
struct SearchSpec {
  tuning::Space space;
  std::string algorithm = "tpe";
  int64_t max_trials = 10;
  std::string monitor = "val_loss";
  /// Mode auto resolved by Keras's rule: names with "acc" or "auc" are maximised.
  Direction direction = Direction::kMin;
  /// Folds of K-fold scoring (0: score on the validation data).
  int cv = 0;
  uint64_t seed = 1;
  int jobs = 1;
  tuning::TPEOptions tpe;
};

/// Reads the `search` section of a resolved experiment and checks it against the experiment:
/// every space path leads into the experiment, the experiment with a sample of the space is a
/// valid experiment, and the monitor is a quantity `fit` logs for it (loss, the compiled metrics,
/// and their val_ forms when there is validation data or cv). Throws ValueError naming
/// `search.<key>` and saying what is allowed.
SearchSpec search_spec(const nlohmann::json& experiment);

/// The experiment of one trial: `experiment` with each parameter's value written at its dotted
/// path (a segment that is a number indexes a list) and without the `search` section. Throws
/// ValueError naming the path when a segment does not exist (the last one may be a new key of a
/// mapping).
nlohmann::json apply_params(const nlohmann::json& experiment, const tuning::Params& params);

/// What one trial measures.
struct TrialSettings {
  std::string monitor = "val_loss";
  Direction direction = Direction::kMin;
  int cv = 0;
  /// fit's progress verbosity inside the trial (2: one line per epoch).
  int verbose = 2;
};

/// Runs one trial in this process: trains the trial's experiment (once, or once per fold) into
/// `trial_dir` and returns its score, fold scores and epochs (for cv, the folds' mean, rounded).
/// The score is NaN when the monitor was never finite.
tuning::TrialOutcome run_trial(const nlohmann::json& trial_experiment, const TrialSettings& settings,
                               const std::string& trial_dir, std::FILE* out = stdout);

/// The worker side of a trial run as a separate process (`regula trial DIR`): reads
/// `DIR/trial.json` (written by `search`), runs the trial and writes `DIR/outcome.json`. Errors
/// propagate (the worker then exits non-zero, and the search records the trial as failed with the
/// last line of its log).
void run_trial_directory(const std::string& trial_dir);

struct SearchRunOptions {
  /// The run directory; empty: runs/search-<YYYYmmdd-HHMMSS>. An existing one is resumed.
  std::string run_dir;
  /// Trials at once (0: the section's `jobs`).
  int jobs = 0;
  /// Threads for all running trials together (0: the experiment's `threads`, else num_threads()).
  int threads = 0;
  /// The command that runs a trial directory in a new process, the directory appended (e.g.
  /// {"/usr/bin/regula", "trial"}). Empty: trials run in this process, one at a time.
  std::vector<std::string> worker_command;
  /// Start afresh instead of resuming an existing results file.
  bool overwrite = false;
  /// 0 silent; 1 a line per trial started and finished, then the table.
  int verbose = 1;
  std::FILE* out = stdout;
};

struct SearchRunResult {
  tuning::Results results;
  std::string run_dir;
  /// The best trial's experiment (also written to RUN_DIR/best.yaml); null when no trial succeeded.
  nlohmann::json best_experiment;
};

/// Runs the search of a resolved experiment (see the file comment). Throws what `search_spec`
/// throws before anything runs, and what the results file's loading throws (a corrupted or
/// mismatching results file is refused and left unchanged).
SearchRunResult search(const nlohmann::json& experiment, const SearchRunOptions& options = {});

}  // namespace regula::experiment
