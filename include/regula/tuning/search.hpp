#pragma once
/// @file
/// Hyperparameter search: `GridSearch`, `RandomSearch` and `TPE` (the Tree-structured Parzen
/// Estimator of HyperOpt, Bergstra et al. 2011) over a `Space`, with a budget of trials, a seed,
/// a direction and an objective; the results table (`Results`), its JSON/CSV files written after
/// every trial, and resuming from the JSON file without re-running finished trials.
///
/// ```cpp
/// using namespace regula::tuning;
/// Space space({hp::loguniform("lr", 1e-4, 1e-1), hp::choice("units", {64, 128, 256})});
/// TPE tuner(space, {.max_trials = 50, .direction = Direction::kMax, .seed = 1, .results_file = "tuning.json"});
/// const Results& results = tuner.run([&](const Params& p, const TrialContext& ctx) {
///   set_random_seed(ctx.seed);
///   auto cv = train_and_cross_validate(p.get<double>("lr"), p.get<int>("units"));
///   return TrialOutcome{.score = cv.mean.at("accuracy"), .fold_scores = cv.scores("accuracy"), .epochs = 10};
/// });
/// std::puts(results.results_summary().c_str());
/// Params best = results.best_params();
/// ```
///
/// Running elsewhere (ask/tell): `ask(n)` hands out up to n suggestions (trial number, parameters,
/// context); `tell(number, outcome)` / `tell_failure(number, error)` records them, in any order.
///
/// Determinism: trial k's random stream depends only on (seed, k); grid and random search suggest
/// the same parameters for trial k whatever happened before, and TPE's suggestion for trial k
/// depends on (seed, k) and the trials recorded when it is asked. A run resumed from its results
/// file therefore reproduces the uninterrupted run's table (apart from the seconds).

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "regula/tuning/results.hpp"
#include "regula/tuning/space.hpp"

namespace regula::tuning {

/// What the objective is told about its trial.
struct TrialContext {
  /// The trial's number (0-based).
  int64_t number = 0;
  /// A seed for the trial's own randomness (weights, shuffles), derived from the search's seed and
  /// the trial number: e.g. `set_random_seed(context.seed)`.
  uint64_t seed = 0;
  /// The search's budget.
  int64_t max_trials = 0;
};

/// What the objective returns for one trial.
struct TrialOutcome {
  /// The score to minimise or maximise (a non-finite score marks the trial failed).
  double score = 0.0;
  /// Per cross-validation fold (optional).
  std::vector<double> fold_scores = {};
  /// Epochs trained (optional).
  int64_t epochs = 0;
};

/// The objective: parameters and context → outcome. An exception marks the trial failed (its
/// message is recorded) and the search goes on.
using Objective = std::function<TrialOutcome(const Params&, const TrialContext&)>;

/// Options common to every search (Keras Tuner's names where it has them).
struct SearchOptions {
  /// The budget: the number of trials (failed ones included). GridSearch: 0 means the whole grid,
  /// and a larger budget is cut to the grid's size; RandomSearch and TPE need > 0.
  int64_t max_trials = 0;
  /// Whether lower (kMin) or higher (kMax) scores are better.
  Direction direction = Direction::kMin;
  /// What the scores measure, for the results summary (e.g. "val_accuracy").
  std::string objective = "score";
  /// The seed of every random choice of the search.
  uint64_t seed = 0;
  /// A JSON results file (empty: none). When it exists at the first `ask`/`run`, its trials are
  /// loaded (they count against the budget and feed TPE) and only the missing trials run; it is
  /// rewritten after every trial through a temporary file. A corrupted or mismatching file (bad
  /// JSON, another direction, parameters outside the space, trials beyond the budget; for grid
  /// search, trials that are not the grid's points in order) is an error (IOError / ValueError
  /// naming it) and is left as it is. The file's seed and algorithm are informative only: a search
  /// may continue another's trials (e.g. TPE after a random search); reproducing an uninterrupted
  /// run needs the same algorithm and seed.
  std::string results_file;
  /// A CSV copy of the table, rewritten after every trial (empty: none).
  std::string csv_file;
  /// Ignore an existing results file instead of resuming from it (Keras Tuner's `overwrite`).
  bool overwrite = false;
  /// 0: silent; 1: one line per finished trial, its number then how many of the budget are done
  /// ("Trial 0002 (3/50) - score: 0.1234 - best: 0.1 - 0.2s - lr=0.001, units=64").
  int verbose = 0;
  /// Where the verbose lines go.
  std::FILE* out = stdout;
};

/// One suggested trial, handed out by `ask`.
struct Suggestion {
  int64_t number = 0;
  Params params;
  TrialContext context;
};

/// The search driver shared by every algorithm: budget, ask/tell, failures, results file, resume.
class Search {
 public:
  virtual ~Search() = default;
  Search(const Search&) = delete;
  Search& operator=(const Search&) = delete;

  /// "grid", "random" or "tpe".
  virtual std::string algorithm() const = 0;

  /// Up to `n` new suggestions: the lowest trial numbers below the budget that are neither
  /// recorded nor handed out and not yet told. Empty when the budget is used up. The first call
  /// loads the results file (see SearchOptions::results_file).
  std::vector<Suggestion> ask(int64_t n = 1);
  /// Records trial `number` (handed out by `ask`) as finished with `outcome`; a non-finite score
  /// records it as failed. Rewrites the results files. Throws StateError when `number` was not
  /// handed out or is already recorded.
  void tell(int64_t number, const TrialOutcome& outcome, double seconds = 0.0);
  /// Records trial `number` as failed with `error`.
  void tell_failure(int64_t number, const std::string& error, double seconds = 0.0);

  /// Runs every remaining trial in turn (ask, objective, tell) and returns the table.
  const Results& run(const Objective& objective);

  /// Loads the results file now (done by the first `ask`/`run` otherwise); does nothing once it has
  /// loaded one or found none. Throws what `Results::load` throws, and again at every later call,
  /// so a refused file is never overwritten.
  void resume();

  /// The trials recorded so far.
  const Results& results() const { return results_; }
  /// The budget (GridSearch: after the cut to the grid's size).
  int64_t max_trials() const { return max_trials_; }
  const Space& space() const { return space_; }
  const SearchOptions& options() const { return options_; }
  /// The metadata written into the results file (format, version, algorithm, seed, direction,
  /// max_trials, space, and the algorithm's options).
  nlohmann::json metadata() const;

 protected:
  Search(Space space, SearchOptions options);
  /// The parameters of trial `number`, drawing randomness only from `rng` (seeded by seed and number).
  virtual Params suggest(int64_t number, Rng& rng) = 0;
  /// The algorithm's options for the results file.
  virtual nlohmann::json algorithm_options() const { return nlohmann::json::object(); }
  /// Checks the trials loaded from results file `path` before they are used (GridSearch: trial k
  /// must be grid point k); throws ValueError naming the file.
  virtual void check_resumed(const Results& /*loaded*/, const std::string& /*path*/) const {}
  /// Sets the budget (for GridSearch's default).
  void set_max_trials(int64_t max_trials) { max_trials_ = max_trials; }

 private:
  void record(Trial trial);

  Space space_;
  SearchOptions options_;
  int64_t max_trials_ = 0;
  Results results_;
  std::map<int64_t, Suggestion> pending_;
  int64_t first_free_ = 0;
  bool started_ = false;
};

/// Every configuration of the grid (`Space::grid`: Cartesian product over choices, randint and
/// quniform lattices, union over branches), in order, trial k being grid point k. A continuous
/// parameter is refused at construction (ValueError naming it).
class GridSearch : public Search {
 public:
  GridSearch(Space space, SearchOptions options = {});
  std::string algorithm() const override { return "grid"; }
  /// The grid points in trial order.
  const std::vector<Params>& grid() const { return grid_; }

 protected:
  Params suggest(int64_t number, Rng& rng) override;
  void check_resumed(const Results& loaded, const std::string& path) const override;

 private:
  std::vector<Params> grid_;
};

/// Independent draws from the space's prior (`Space::sample`), trial k from its own stream.
class RandomSearch : public Search {
 public:
  RandomSearch(Space space, SearchOptions options = {});
  std::string algorithm() const override { return "random"; }

 protected:
  Params suggest(int64_t number, Rng& rng) override;
};

/// HyperOpt's TPE defaults.
struct TPEOptions {
  /// Random trials before TPE starts modelling (HyperOpt's n_startup_jobs).
  int64_t n_startup_jobs = 20;
  /// The good/bad split: the n_below = min(ceil(gamma * sqrt(n)), linear_forgetting) best ok trials
  /// are "good".
  double gamma = 0.25;
  /// Candidates drawn from the good density per parameter; the one with the highest ratio
  /// l(x)/g(x) is kept (HyperOpt's n_EI_candidates).
  int64_t n_ei_candidates = 24;
  /// Weight of the prior component / pseudocount of every category.
  double prior_weight = 1.0;
  /// Observations older than the newest `linear_forgetting` get linearly decreasing weights, and
  /// n_below is capped at it (HyperOpt's LF = 25).
  int64_t linear_forgetting = 25;
};

/// The Tree-structured Parzen Estimator (Bergstra et al. 2011), after HyperOpt's tpe.suggest:
/// - the first n_startup_jobs trials (failed ones included), and every trial while none succeeded,
///   are random draws;
/// - then the finished trials are split by score into good (the n_below best ok trials) and bad
///   (the rest; a failed trial counts as the worst score, loss +inf, as in HyperOpt, so TPE steers
///   away from regions where the objective fails instead of sampling them again); every parameter
///   is modelled separately, from the trials where it was active, by an adaptive Parzen estimator
///   per group: numeric parameters by a Gaussian mixture with one component per observation plus
///   the prior (HyperOpt's adaptive_parzen_normal bandwidths: the larger distance to a neighbour,
///   clipped to [prior_sigma / min(100, n + 2), prior_sigma] for n observations), truncated to the
///   bounds, in log space for loguniform and qloguniform, as probability mass of the rounding cell
///   for quniform / qloguniform; choices and randint by category counts plus prior_weight per
///   category;
/// - for every active parameter, n_ei_candidates values are drawn from the good density and the one
///   with the largest log l(x) - log g(x) is taken; a choice's pick decides which branch's
///   parameters are active.
/// Differences from HyperOpt: the log-space densities are normalised by their truncation mass
/// (HyperOpt's LGMM1_lpdf is not); that changes l(x)/g(x) by a factor constant over the candidates,
/// so the pick is the same.
class TPE : public Search {
 public:
  TPE(Space space, SearchOptions options = {}, TPEOptions tpe = {});
  std::string algorithm() const override { return "tpe"; }

 protected:
  Params suggest(int64_t number, Rng& rng) override;
  nlohmann::json algorithm_options() const override;

 private:
  TPEOptions tpe_;
  /// Active values by expression id of every recorded trial, by trial number.
  std::map<int64_t, std::map<int, Value>> assignment_cache_;
};

/// A one-dimensional Gaussian mixture (weights sum to 1).
struct ParzenEstimator {
  std::vector<double> weights, mus, sigmas;
};

/// HyperOpt's adaptive_parzen_normal: the prior (prior_mu, prior_sigma, weight prior_weight)
/// inserted among the sorted observations `mus` (given oldest first); each observation's sigma is
/// the larger distance to its neighbours (one-sided at the ends), clipped to
/// [prior_sigma / min(100, 1 + components), prior_sigma]; observation weights are 1, or a linear
/// ramp from 1/n for all but the newest `linear_forgetting` when there are more; the components are
/// returned sorted by mu.
ParzenEstimator adaptive_parzen_normal(const std::vector<double>& mus, double prior_weight, double prior_mu,
                                       double prior_sigma, int64_t linear_forgetting = 25);

/// The log density at `x` of `mixture` truncated to [low, high]; with q > 0, the log of the
/// probability mass of [x - q/2, x + q/2] ∩ [low, high] (HyperOpt's GMM1_lpdf).
double truncated_mixture_log_density(const ParzenEstimator& mixture, double x, double low, double high, double q = 0.0);

}  // namespace regula::tuning
