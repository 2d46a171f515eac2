// One trial of an experiment search: the trial's experiment trained once on its validation split,
// or once per fold of K-fold cross-validation, and scored by the best epoch of the monitor.

#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "regula/backend/context.hpp"
#include "regula/data/kfold.hpp"
#include "regula/error.hpp"
#include "regula/experiment/experiment_search.hpp"
#include "regula/experiment/worker_processes.hpp"
#include "regula/io/file_bytes.hpp"
#include "regula/losses/loss.hpp"
#include "regula/tensor/concatenate.hpp"
#include "regula/training/cross_validate.hpp"
#include "regula/utils/random.hpp"
#include "src/experiment/experiment_training.hpp"

namespace regula::experiment {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

/// The best finite value of the monitor over the epochs (KerasTuner scores a trial by its best
/// epoch); NaN when it was never finite.
double best_epoch_value(const callbacks::History& history, const TrialSettings& settings) {
  if (!history.contains(settings.monitor)) {
    std::string logged;
    for (const std::string& name : history.names()) logged += (logged.empty() ? "" : ", ") + name;
    throw ValueError(fmt::format("search: the monitor '{}' was not logged by fit; logged: {}", settings.monitor, logged));
  }
  double best = std::nan("");
  for (const double v : history[settings.monitor]) {
    if (!std::isfinite(v)) continue;
    if (std::isnan(best) || is_better(settings.direction, v, best)) best = v;
  }
  return best;
}

/// Stratified folds for classification losses (scikit-learn's cross_val_score does the same for
/// classifiers), plain shuffled folds otherwise.
std::vector<data::Fold> folds_of(const TrainingPlan& plan, const Tensor& x, const Tensor& y, int k) {
  if (plan.compile.classifies()) return data::StratifiedKFold(k, true, plan.seed).split(y);
  return data::KFold(k, true, plan.seed).split(x);
}

tuning::TrialOutcome cross_validated(const TrainingPlan& plan, const TrialSettings& settings, const fs::path& dir,
                                     std::FILE* out) {
  DataSpec data = plan.data;
  data.test.reset();  // the search never looks at the test set
  const Arrays loaded = load_arrays(data);
  // The folds are drawn over the training and validation data together.
  const Tensor x = loaded.has_validation ? concatenate_rows({&loaded.x_train, &loaded.x_val}) : loaded.x_train;
  const Tensor y = loaded.has_validation ? concatenate_rows({&loaded.y_train, &loaded.y_val}) : loaded.y_train;
  const std::vector<data::Fold> folds = folds_of(plan, x, y, settings.cv);

  // Each fold trains as the experiment says (augmentation, callbacks, its own run directory)
  // from the same initialisation rule; cross_validate gathers the rows and evaluates the kept model.
  const training::FoldTrainer train_fold = [&](const training::FoldData& fold) {
    set_random_seed(plan.seed);
    Arrays arrays;
    arrays.x_train = fold.x_train;
    arrays.y_train = fold.y_train;
    arrays.x_val = fold.x_held_out;
    arrays.y_val = fold.y_held_out;
    arrays.has_validation = true;
    std::fprintf(out, "Fold %zu/%zu\n", fold.index + 1, fold.count);
    Training training = train(plan, arrays, (dir / fmt::format("fold-{}", fold.index + 1)).string(), settings.verbose, out);
    // arrays.x_val is now as the model takes it (standardized when the experiment augments).
    return training::FoldFit{.model = std::move(training.model),
                             .history = std::move(training.history),
                             .x_held_out = arrays.x_val};
  };
  const int64_t evaluate_batch_size =
      plan.fit.validation_batch_size > 0 ? plan.fit.validation_batch_size : plan.fit.batch_size;
  const training::CrossValidationResult cv = training::cross_validate(
      train_fold, x, y, folds, {.evaluate_batch_size = evaluate_batch_size, .verbose = settings.verbose, .out = out});

  // The trial's score is KerasTuner's: per fold, the best epoch of the monitor, then the mean.
  tuning::TrialOutcome outcome;
  double score_sum = 0.0, epoch_sum = 0.0;
  for (const callbacks::History& history : cv.fold_histories) {
    outcome.fold_scores.push_back(best_epoch_value(history, settings));
    score_sum += outcome.fold_scores.back();
    epoch_sum += static_cast<double>(history.size());
  }
  outcome.score = score_sum / static_cast<double>(folds.size());
  outcome.epochs = std::llround(epoch_sum / static_cast<double>(folds.size()));
  return outcome;
}

}  // namespace

tuning::TrialOutcome run_trial(const json& trial_experiment, const TrialSettings& settings, const std::string& trial_dir,
                               std::FILE* out) {
  const TrainingPlan plan = plan_training(trial_experiment, settings.verbose);
  set_random_seed(plan.seed);
  if (plan.threads) set_num_threads(*plan.threads);
  if (settings.cv > 0) return cross_validated(plan, settings, trial_dir, out);

  DataSpec data = plan.data;
  data.test.reset();
  Arrays arrays = load_arrays(data);
  const Training training = train(plan, arrays, trial_dir, settings.verbose, out);
  return {.score = best_epoch_value(training.history, settings),
          .epochs = static_cast<int64_t>(training.history.size())};
}

void run_trial_directory(const std::string& trial_dir) {
  const fs::path dir(trial_dir);
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw IOError(fmt::format("{}: not a directory (a trial directory is written by regula search)", trial_dir));
  const std::optional<DirectoryLock> lock = DirectoryLock::try_lock(trial_dir);
  if (!lock) throw StateError(fmt::format("{}: another process is running this trial", trial_dir));
  std::ifstream in(dir / "trial.json");
  if (!in) throw IOError(fmt::format("{}: no trial.json (a trial directory is written by regula search)", trial_dir));
  const json trial = json::parse(in, nullptr, false);
  if (trial.is_discarded() || !trial.is_object() || !trial.contains("experiment"))
    throw ValueError(fmt::format("{}: trial.json is not a trial (bad JSON or no experiment)", (dir / "trial.json").string()));
  const TrialSettings settings{.monitor = trial.value("monitor", "val_loss"),
                               .direction = parse_direction(trial.value("direction", "min"), (dir / "trial.json").string()),
                               .cv = trial.value("cv", 0),
                               .verbose = trial.value("verbose", 2)};
  const tuning::TrialOutcome outcome = run_trial(trial["experiment"], settings, trial_dir, stdout);
  const json result = {{"score", std::isfinite(outcome.score) ? json(outcome.score) : json()},
                       {"fold_scores", outcome.fold_scores},
                       {"epochs", outcome.epochs}};
  io::write_file_atomically((dir / "outcome.json").string(), result.dump(2) + "\n");
  std::printf("Trial score: %s\n", result["score"].dump().c_str());
}

}  // namespace regula::experiment
