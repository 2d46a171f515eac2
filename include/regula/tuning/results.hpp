#pragma once
/// @file
/// The results table of a hyperparameter search: one row per finished trial (number, status,
/// parameters, score, fold scores, epochs, seconds, error), the best trial, a Keras-Tuner-like
/// summary, CSV and JSON files, and loading a JSON results file to resume a search.
///
/// The JSON results file:
/// ```json
/// {"format": "regula-tuning-results", "version": 1, "algorithm": "tpe", "seed": 7, "direction": "min",
///  "space": {...space JSON...},
///  "trials": [{"number": 0, "status": "ok", "params": {"lr": 0.001, "units": 128}, "score": 0.31,
///              "fold_scores": [0.30, 0.32], "epochs": 12, "seconds": 4.2, "error": ""}, ...]}
/// ```
/// A failed trial has "status": "failed", "score": null and its error message.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "regula/io/file_bytes.hpp"
#include "regula/tuning/space.hpp"
#include "regula/utils/direction.hpp"

namespace regula::tuning {

/// Whether a trial produced a finite score.
enum class TrialStatus { ok, failed };

/// One finished trial.
struct Trial {
  /// 0-based; trials are numbered in the order the search suggested them.
  int64_t number = 0;
  TrialStatus status = TrialStatus::ok;
  Params params;
  /// The objective's score (NaN when failed).
  double score = 0.0;
  /// Per cross-validation fold, when the objective reported them.
  std::vector<double> fold_scores;
  /// Epochs trained (as the objective reported).
  int64_t epochs = 0;
  /// Wall-clock seconds of the objective.
  double seconds = 0.0;
  /// Why it failed (empty when ok).
  std::string error;

  bool ok() const { return status == TrialStatus::ok; }
};

/// The table of finished trials of one search, ordered by trial number.
class Results {
 public:
  explicit Results(Direction direction = Direction::kMin) : direction_(direction) {}

  /// Whether lower (kMin) or higher (kMax) scores are better.
  Direction direction() const { return direction_; }
  /// The name of what the scores measure, shown by `results_summary` (e.g. "val_accuracy";
  /// default "score").
  const std::string& objective() const { return objective_; }
  void set_objective(std::string name) { objective_ = std::move(name); }
  /// Adds (or replaces, by number) a finished trial, keeping the order by number.
  void add(Trial trial);
  /// The trials by number.
  const std::vector<Trial>& trials() const { return trials_; }
  size_t size() const { return trials_.size(); }
  /// Whether a trial of that number is recorded.
  bool contains(int64_t number) const;
  /// The number of ok / failed trials.
  size_t n_ok() const;
  size_t n_failed() const;

  /// The ok trial with the lowest ("min") or highest ("max") score, the earliest on ties;
  /// nullptr when no trial succeeded.
  const Trial* best() const;
  /// The best trial's parameters; throws StateError when no trial succeeded.
  const Params& best_params() const;
  /// The best trial's score; throws StateError when no trial succeeded.
  double best_score() const;
  /// Ok trials, best first (ties by number), at most `n` of them.
  std::vector<const Trial*> ranked(size_t n = SIZE_MAX) const;

  /// A Keras-Tuner-like summary: "Results summary", the objective's direction, the number of trials
  /// (ok / failed), then an aligned table of the `num_trials` best trials (trial, score, mean ± std
  /// of fold scores when present, epochs, seconds, parameters), and the best parameters.
  std::string results_summary(size_t num_trials = 10) const;
  /// An aligned text table of every trial in number order (failed ones with their error).
  std::string to_table() const;

  /// CSV: trial,status,score,<every parameter name, first-seen order>,fold_scores,epochs,seconds,error;
  /// inactive parameters are empty cells, fold scores are joined by ';', reals are exact.
  std::string to_csv() const;
  /// The JSON form (see the file comment); `metadata` (algorithm, seed, space, ...) is merged in.
  nlohmann::json to_json(const nlohmann::json& metadata = nlohmann::json::object()) const;

  /// Writes `to_csv()` to `path` through a temporary file renamed over it (IOError on failure).
  void write_csv(const std::string& path) const;
  /// Writes `to_json(metadata)` (indented) to `path` through a temporary file renamed over it, so
  /// that an interruption leaves either the old or the new file (IOError on failure).
  void write_json(const std::string& path, const nlohmann::json& metadata = nlohmann::json::object()) const;

  /// Reads the trials of a JSON results file and checks them against `space` and `direction`:
  /// IOError when the file cannot be read or is not valid JSON (naming the file and the parser's
  /// message); ValueError, naming the file, when it is not a results file, its direction differs,
  /// a trial is malformed (missing field, duplicate number, ok without a finite score) or its
  /// parameters are not a configuration of `space` (saying which trial and what is wrong).
  /// Parameters come back in the space's order. When `metadata` is given, it receives the file's
  /// other top-level fields.
  static Results load(const std::string& path, const Space& space, Direction direction,
                      nlohmann::json* metadata = nullptr);

 private:
  bool better(const Trial& a, const Trial& b) const;

  Direction direction_;
  std::string objective_ = "score";
  std::vector<Trial> trials_;
};

/// The results files are written with io::write_file_atomically.
using io::write_file_atomically;

}  // namespace regula::tuning
