// The search driver shared by grid, random and TPE search: budget, ask/tell, failed trials,
// writing the results files after every trial, and resuming from the JSON results file.

#include "regula/tuning/search.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

namespace regula::tuning {

Search::Search(Space space, SearchOptions options)
    : space_(std::move(space)),
      options_(std::move(options)),
      max_trials_(options_.max_trials),
      results_(options_.direction) {
  results_.set_objective(options_.objective);
  if (options_.max_trials < 0)
    throw ValueError(fmt::format("search: max_trials ({}) must be >= 0", options_.max_trials));
}

nlohmann::json Search::metadata() const {
  return {{"format", "regula-tuning-results"},
          {"version", 1},
          {"algorithm", algorithm()},
          {"algorithm_options", algorithm_options()},
          {"seed", options_.seed},
          {"direction", direction_name(options_.direction)},
          {"max_trials", max_trials_},
          {"space", space_.to_json()}};
}

void Search::resume() {
  if (started_) return;
  if (options_.results_file.empty() || options_.overwrite || !std::filesystem::exists(options_.results_file)) {
    started_ = true;
    return;
  }
  // started_ stays false when loading throws, so that a later ask() refuses the file again instead
  // of running trials and overwriting it.
  Results loaded = Results::load(options_.results_file, space_, options_.direction);
  for (const Trial& trial : loaded.trials())
    if (trial.number >= max_trials_)
      throw ValueError(
          fmt::format("results file '{}': trial {} is beyond this search's budget (max_trials = {}); "
                      "raise max_trials or use another file",
                      options_.results_file, trial.number, max_trials_));
  check_resumed(loaded, options_.results_file);
  results_ = std::move(loaded);
  results_.set_objective(options_.objective);
  started_ = true;
}

std::vector<Suggestion> Search::ask(int64_t n) {
  resume();
  std::vector<Suggestion> out;
  // Numbers below first_free_ are recorded or handed out for good; skip them.
  for (int64_t number = first_free_; number < max_trials_ && static_cast<int64_t>(out.size()) < n; ++number) {
    if (results_.contains(number) || pending_.count(number)) {
      if (number == first_free_) ++first_free_;
      continue;
    }
    if (number == first_free_) ++first_free_;
    const uint64_t trial_seed = mix64(options_.seed ^ mix64(static_cast<uint64_t>(number) + 0x5851F42D4C957F2Dull));
    Rng rng(trial_seed);
    Suggestion s{number, suggest(number, rng), TrialContext{number, trial_seed, max_trials_}};
    pending_.emplace(number, s);
    out.push_back(std::move(s));
  }
  return out;
}

void Search::record(Trial trial) {
  const auto it = pending_.find(trial.number);
  if (it == pending_.end())
    throw StateError(fmt::format("search: trial {} was not handed out by ask() or is already recorded", trial.number));
  trial.params = it->second.params;
  pending_.erase(it);
  const Trial copy = trial;
  results_.add(std::move(trial));
  if (!options_.results_file.empty()) results_.write_json(options_.results_file, metadata());
  if (!options_.csv_file.empty()) results_.write_csv(options_.csv_file);
  if (options_.verbose > 0) {
    const Trial* best = results_.best();
    std::string line = fmt::format("Trial {:04d} ({}/{})", copy.number, results_.size(), max_trials_);
    line += copy.ok() ? fmt::format(" - score: {:.6g}", copy.score) : " - failed: " + copy.error;
    if (best) line += fmt::format(" - best: {:.6g}", best->score);
    line += fmt::format(" - {:.1f}s - {}", copy.seconds, copy.params.to_string());
    std::fprintf(options_.out, "%s\n", line.c_str());
    std::fflush(options_.out);
  }
}

void Search::tell(int64_t number, const TrialOutcome& outcome, double seconds) {
  Trial trial;
  trial.number = number;
  trial.score = outcome.score;
  trial.fold_scores = outcome.fold_scores;
  trial.epochs = outcome.epochs;
  trial.seconds = seconds;
  if (!std::isfinite(outcome.score)) {
    trial.status = TrialStatus::failed;
    trial.error = fmt::format("the objective returned a non-finite score ({})", outcome.score);
    trial.score = std::nan("");
  }
  record(std::move(trial));
}

void Search::tell_failure(int64_t number, const std::string& error, double seconds) {
  Trial trial;
  trial.number = number;
  trial.status = TrialStatus::failed;
  trial.score = std::nan("");
  trial.seconds = seconds;
  trial.error = error.empty() ? std::string("failed") : error;
  record(std::move(trial));
}

const Results& Search::run(const Objective& objective) {
  if (!objective) throw ValueError("search: run() needs an objective");
  for (;;) {
    std::vector<Suggestion> next = ask(1);
    if (next.empty()) break;
    const Suggestion& s = next.front();
    const auto start = std::chrono::steady_clock::now();
    const auto elapsed = [&] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    std::string error;
    TrialOutcome outcome;
    try {
      outcome = objective(s.params, s.context);
    } catch (const std::exception& e) {
      error = e.what();
      if (error.empty()) error = "the objective threw an exception";
    } catch (...) {
      error = "the objective threw a non-standard exception";
    }
    if (error.empty())
      tell(s.number, outcome, elapsed());
    else
      tell_failure(s.number, error, elapsed());
  }
  return results_;
}

}  // namespace regula::tuning
