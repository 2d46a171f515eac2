// `regula search`: the search section read and checked against the experiment, trial experiments
// made by writing values at dotted paths, and the ask/tell loop over trials run in this process or
// as worker processes.

#include "regula/experiment/experiment_search.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "regula/backend/context.hpp"
#include "regula/callbacks/monitor.hpp"
#include "regula/config/config_reader.hpp"
#include "regula/config/yaml.hpp"
#include "regula/error.hpp"
#include "regula/experiment/worker_processes.hpp"
#include "regula/io/file_bytes.hpp"
#include "src/experiment/experiment_data.hpp"
#include "src/experiment/experiment_training.hpp"

namespace regula::experiment {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::vector<std::string> kAlgorithms = {"grid", "random", "tpe"};

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> segments;
  size_t begin = 0;
  for (;;) {
    const size_t dot = path.find('.', begin);
    segments.push_back(path.substr(begin, dot == std::string::npos ? std::string::npos : dot - begin));
    if (segments.back().empty())
      throw ValueError(fmt::format("experiment: search.space: '{}' is not a dotted path into the experiment "
                                   "(e.g. compile.optimizer.learning_rate): it has an empty segment",
                                   path));
    if (dot == std::string::npos) return segments;
    begin = dot + 1;
  }
}

/// The index a path segment names in a list of `size` entries; ValueError otherwise.
size_t list_index(const std::string& path, const std::string& prefix, const std::string& segment, size_t size) {
  const bool digits = !segment.empty() && std::all_of(segment.begin(), segment.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || segment.size() > 9 || std::stoul(segment) >= size)
    throw ValueError(fmt::format("experiment: search.space: '{}': '{}' is a list of {} entries, so the segment '{}' "
                                 "must be an index from 0 to {}",
                                 path, prefix, size, segment, size == 0 ? 0 : size - 1));
  return std::stoul(segment);
}

/// Writes `value` at the dotted `path` of `root`; every segment but the last must exist.
void set_at_path(json& root, const std::string& path, json value) {
  const std::vector<std::string> segments = split_path(path);
  json* node = &root;
  std::string prefix;
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& segment = segments[i];
    const bool last = i + 1 == segments.size();
    if (node->is_object()) {
      if (last) {
        (*node)[segment] = std::move(value);
        return;
      }
      if (!node->contains(segment))
        throw ValueError(fmt::format("experiment: search.space: '{}': the experiment has no '{}{}'{}", path,
                                     prefix.empty() ? "" : prefix + ".", segment,
                                     prefix.empty() ? " section" : fmt::format("; '{}' has: {}", prefix, [&] {
                                       std::string keys;
                                       for (const auto& item : node->items()) keys += (keys.empty() ? "" : ", ") + item.key();
                                       return keys;
                                     }())));
      node = &(*node)[segment];
    } else if (node->is_array()) {
      json& entry = (*node)[list_index(path, prefix, segment, node->size())];
      if (last) {
        entry = std::move(value);
        return;
      }
      node = &entry;
    } else {
      throw ValueError(fmt::format("experiment: search.space: '{}': '{}' is {}, which has no options to set; write it "
                                   "as a mapping (e.g. model: {{builtin: seed}}, optimizer: {{class_name: Adam}})",
                                   path, prefix, node->dump()));
    }
    prefix += (prefix.empty() ? "" : ".") + segment;
  }
}

std::unique_ptr<tuning::Search> make_search(const SearchSpec& spec, const tuning::SearchOptions& options) {
  if (spec.algorithm == "grid") return std::make_unique<tuning::GridSearch>(spec.space, options);
  if (spec.algorithm == "random") return std::make_unique<tuning::RandomSearch>(spec.space, options);
  return std::make_unique<tuning::TPE>(spec.space, options, spec.tpe);
}

tuning::TPEOptions tpe_options(const json& section) {
  config::ConfigReader r(section, "experiment: search.tpe");
  tuning::TPEOptions o;
  o.n_startup_jobs = r.get_int("n_startup_jobs", o.n_startup_jobs);
  o.gamma = r.get_double("gamma", o.gamma);
  o.n_ei_candidates = r.get_int("n_ei_candidates", o.n_ei_candidates);
  o.prior_weight = r.get_double("prior_weight", o.prior_weight);
  o.linear_forgetting = r.get_int("linear_forgetting", o.linear_forgetting);
  r.expect_all_read();
  return o;
}

/// The quantities `fit` logs for the experiment: loss and the compiled metrics, and their val_
/// forms when there is validation data (or K-fold scoring, whose held-out fold is the validation).
std::vector<std::string> logged_quantities(const json& experiment, bool validated) {
  std::vector<std::string> names = {"loss"};
  const json& compile = experiment.at("compile");
  if (compile.contains("metrics") && compile["metrics"].is_array())
    for (const json& metric : compile["metrics"])
      if (metric.is_string()) names.push_back(metric.get<std::string>());
  if (validated) {
    const size_t n = names.size();
    for (size_t i = 0; i < n; ++i) names.push_back("val_" + names[i]);
  }
  return names;
}

std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}


/// The last non-empty line of a worker's log (its error message, when it failed).
std::string last_line(const fs::path& log) {
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  return last;
}

tuning::TrialOutcome read_outcome(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw IOError(fmt::format("{}: the trial wrote no outcome", path.string()));
  const json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw IOError(fmt::format("{}: not a trial outcome (bad JSON)", path.string()));
  tuning::TrialOutcome outcome;
  outcome.score = j.value("score", json()).is_number() ? j["score"].get<double>() : std::nan("");
  for (const json& fold : j.value("fold_scores", json::array()))  // NaN is written as null
    outcome.fold_scores.push_back(fold.is_number() ? fold.get<double>() : std::nan(""));
  outcome.epochs = j.value("epochs", int64_t{0});
  return outcome;
}

/// The loop: start trials while there is room, record each as it ends.
class TrialDriver {
 public:
  TrialDriver(const json& experiment, const SearchSpec& spec, const SearchRunOptions& options, tuning::Search& search,
              fs::path run_dir, int jobs, int thread_share)
      : experiment_(experiment),
        // Worker processes log one line per epoch; trials in this process train quietly (fit's
        // progress goes to standard output, not to the trial's log).
        settings_{spec.monitor, spec.direction, spec.cv, options.worker_command.empty() ? 0 : 2},
        options_(options),
        search_(search),
        run_dir_(std::move(run_dir)),
        jobs_(jobs),
        thread_share_(thread_share) {}

  void run() {
    if (options_.worker_command.empty())
      run_here();
    else
      run_as_processes();
  }

 private:
  /// Writes the trial's directory and its trial.json; returns the directory.
  fs::path prepare(const tuning::Suggestion& suggestion) {
    const fs::path dir = run_dir_ / "trials" / fmt::format("{:04d}", suggestion.number);
    {
      // Held while the directory is removed, so that no worker starts in it meanwhile.
      const std::optional<experiment::DirectoryLock> lock =
          fs::is_directory(dir) ? experiment::DirectoryLock::try_lock(dir.string()) : std::nullopt;
      if (fs::is_directory(dir) && !lock)
        throw StateError(fmt::format("{}: another process is running this trial (a worker of an earlier search that "
                                     "is still running?); stop it, or wait for it to end, and search again",
                                     dir.string()));
      fs::remove_all(dir);  // a trial interrupted earlier starts afresh
    }
    fs::create_directories(dir);
    json trial_experiment = apply_params(experiment_, suggestion.params);
    trial_experiment["threads"] = thread_share_;
    const json trial = {{"number", suggestion.number},       {"params", suggestion.params.to_json()},
                        {"experiment", trial_experiment},     {"monitor", settings_.monitor},
                        {"direction", direction_name(settings_.direction)}, {"cv", settings_.cv},
                        {"verbose", settings_.verbose}};
    io::write_file_atomically((dir / "trial.json").string(), trial.dump(2) + "\n");
    if (options_.verbose > 0) {
      std::fprintf(options_.out, "Trial %04lld started - %s - log: %s\n", static_cast<long long>(suggestion.number),
                   suggestion.params.to_string().c_str(), (dir / "log.txt").c_str());
      std::fflush(options_.out);
    }
    return dir;
  }

  void run_here() {
    for (;;) {
      const std::vector<tuning::Suggestion> next = search_.ask(1);
      if (next.empty()) return;
      const tuning::Suggestion& suggestion = next.front();
      const fs::path dir = prepare(suggestion);
      const auto started = std::chrono::steady_clock::now();
      try {
        std::FILE* log = std::fopen((dir / "log.txt").c_str(), "w");
        if (log == nullptr) throw IOError(fmt::format("{}: cannot write the trial's log", (dir / "log.txt").string()));
        std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(log, &std::fclose);
        const tuning::TrialOutcome outcome = run_trial(apply_params(experiment_, suggestion.params), settings_,
                                                       dir.string(), log);
        search_.tell(suggestion.number, outcome, seconds_since(started));
      } catch (const Interrupted&) {
        throw;  // a stop request ends the search; the trial is not recorded, and runs again on resume
      } catch (const std::exception& e) {
        search_.tell_failure(suggestion.number, e.what(), seconds_since(started));
      }
    }
  }

  void run_as_processes() {
    experiment::WorkerProcesses workers(jobs_);
    const std::map<std::string, std::string> environment = experiment::thread_environment(thread_share_);
    for (;;) {
      while (!workers.full()) {
        const std::vector<tuning::Suggestion> next = search_.ask(1);
        if (next.empty()) break;
        const fs::path dir = prepare(next.front());
        std::vector<std::string> argv = options_.worker_command;
        argv.push_back(dir.string());
        workers.start(next.front().number, argv, environment, (dir / "log.txt").string());
      }
      if (workers.running() == 0) return;
      const experiment::WorkerExit exit = workers.wait_any();
      const fs::path dir = run_dir_ / "trials" / fmt::format("{:04d}", exit.tag);
      if (!exit.succeeded()) {
        search_.tell_failure(exit.tag, exit.describe() + ": " + last_line(dir / "log.txt"), exit.seconds);
        continue;
      }
      try {
        search_.tell(exit.tag, read_outcome(dir / "outcome.json"), exit.seconds);
      } catch (const IOError& e) {
        search_.tell_failure(exit.tag, e.what(), exit.seconds);
      }
    }
  }

  static double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  const json& experiment_;
  TrialSettings settings_;
  const SearchRunOptions& options_;
  tuning::Search& search_;
  fs::path run_dir_;
  int jobs_;
  int thread_share_;
};

tuning::Space space_of(const std::optional<json>& space) {
  if (!space || !space->is_object() || space->empty())
    throw ValueError("experiment: search.space must be a non-empty mapping of dotted paths into the experiment to "
                     "distributions, e.g. compile.optimizer.learning_rate: {loguniform: [1.0e-4, 1.0e-2]}");
  try {
    return tuning::space_from_json(*space);
  } catch (const ValueError& e) {
    throw ValueError(std::string("experiment: search.space: ") + e.what());
  }
}

}  // namespace

json apply_params(const json& experiment, const tuning::Params& params) {
  json trial = experiment;
  trial.erase("search");
  for (const auto& [name, value] : params) set_at_path(trial, name, tuning::to_json(value));
  return trial;
}

SearchSpec search_spec(const json& experiment) {
  const auto section = experiment.find("search");
  if (section == experiment.end() || !section->is_object())
    throw ValueError("experiment: a search needs a search section: {algorithm: tpe, max_trials: 20, objective: "
                     "val_accuracy, space: {path.into.experiment: {uniform: [low, high]}, …}}");
  config::ConfigReader r(*section, "experiment: search");
  SearchSpec spec{space_of(r.get_json("space"))};
  spec.algorithm = r.get_string("algorithm", spec.algorithm);
  if (std::find(kAlgorithms.begin(), kAlgorithms.end(), spec.algorithm) == kAlgorithms.end())
    throw ValueError(fmt::format("experiment: search.algorithm '{}' is not known; allowed: {}", spec.algorithm, join(kAlgorithms)));
  spec.max_trials = r.get_int("max_trials", spec.algorithm == "grid" ? 0 : 10);
  if (spec.max_trials < 0 || (spec.max_trials == 0 && spec.algorithm != "grid"))
    throw ValueError(fmt::format("experiment: search.max_trials = {} must be >= 1 (grid search: 0 or omitted runs the "
                                 "whole grid)",
                                 spec.max_trials));
  std::string mode = "auto";
  if (const auto objective = r.get_json("objective")) {
    if (objective->is_string()) {
      spec.monitor = objective->get<std::string>();
    } else {
      config::ConfigReader o(*objective, "experiment: search.objective");
      spec.monitor = o.get_string("monitor", spec.monitor);
      mode = o.get_string("mode", mode);
      o.expect_all_read();
    }
  }
  spec.direction = callbacks::resolve_monitor_mode("search.objective", mode, spec.monitor);
  spec.cv = static_cast<int>(r.get_int("cv", 0));
  if (spec.cv < 0 || spec.cv == 1)
    throw ValueError(fmt::format("experiment: search.cv = {} is not allowed; use 0 (score on the validation data) or "
                                 "a number of folds >= 2",
                                 spec.cv));
  spec.seed = static_cast<uint64_t>(r.get_int("seed", experiment.value("seed", 1)));
  spec.jobs = static_cast<int>(r.get_int("jobs", 1));
  if (spec.jobs < 1) throw ValueError(fmt::format("experiment: search.jobs = {} must be >= 1", spec.jobs));
  if (const auto tpe = r.get_json("tpe")) spec.tpe = tpe_options(*tpe);
  r.expect_all_read();

  // Every path of the space leads into the experiment (in every branch), and a sampled
  // configuration makes a valid experiment, before anything runs.
  for (const tuning::Expr* node : spec.space.nodes()) {
    json copy = experiment;
    set_at_path(copy, node->name, json());
  }
  Rng rng(spec.seed);
  const tuning::Params sample = spec.space.sample(rng);
  try {
    plan_training(apply_params(experiment, sample), 0);
  } catch (const ValueError& e) {
    throw ValueError(fmt::format("experiment: search.space: the configuration {} does not make a valid experiment: {}",
                                 sample.to_string(), e.what()));
  }
  const bool validated = spec.cv > 0 || has_validation_data(experiment.at("data"));
  const std::vector<std::string> logged = logged_quantities(experiment, validated);
  if (std::find(logged.begin(), logged.end(), spec.monitor) == logged.end())
    throw ValueError(fmt::format("experiment: search.objective.monitor '{}' is not a quantity fit logs for this "
                                 "experiment; allowed: {}{}",
                                 spec.monitor, join(logged),
                                 validated ? "" : " (val_ names need validation data: data.validation_split, "
                                                  "data.validation or search.cv)"));
  return spec;
}

SearchRunResult search(const json& experiment, const SearchRunOptions& options) {
  const SearchSpec spec = search_spec(experiment);
  const int jobs = options.jobs > 0 ? options.jobs : spec.jobs;
  if (jobs > 1 && options.worker_command.empty())
    throw ValueError(fmt::format("search: {} trials at once need worker processes (regula search starts them); "
                                 "without a worker command trials run one at a time",
                                 jobs));
  const int threads = options.threads > 0 ? options.threads : experiment.value("threads", num_threads());
  const int thread_share = std::max(1, threads / jobs);

  SearchRunResult result{tuning::Results(spec.direction), options.run_dir.empty() ? default_run_dir("search-") : options.run_dir, json()};
  const fs::path run_dir(result.run_dir);
  std::error_code ec;
  fs::create_directories(run_dir / "trials", ec);
  if (ec) throw IOError(fmt::format("{}: cannot create the search's run directory: {}", result.run_dir, ec.message()));

  tuning::SearchOptions search_options{.max_trials = spec.max_trials,
                                       .direction = spec.direction,
                                       .objective = spec.monitor,
                                       .seed = spec.seed,
                                       .results_file = (run_dir / "search.json").string(),
                                       .csv_file = (run_dir / "search.csv").string(),
                                       .overwrite = options.overwrite,
                                       .verbose = options.verbose,
                                       .out = options.out};
  std::unique_ptr<tuning::Search> search = make_search(spec, search_options);
  search->resume();
  if (options.verbose > 0) {
    std::fprintf(options.out,
                 "Search: %s, %lld trials (%zu done before), objective %s (%s)%s, %d at once with %d thread%s each; "
                 "run directory %s\n",
                 spec.algorithm.c_str(), static_cast<long long>(search->max_trials()), search->results().size(),
                 spec.monitor.c_str(), direction_name(spec.direction),
                 spec.cv > 0 ? fmt::format(", {}-fold cross-validation", spec.cv).c_str() : "", jobs, thread_share,
                 thread_share == 1 ? "" : "s",
                 result.run_dir.c_str());
    std::fflush(options.out);
  }
  TrialDriver(experiment, spec, options, *search, run_dir, jobs, thread_share).run();

  result.results = search->results();
  if (const tuning::Trial* best = result.results.best()) {
    result.best_experiment = apply_params(experiment, best->params);
    io::write_file_atomically((run_dir / "best.yaml").string(), config::json_to_yaml(result.best_experiment));
  }
  if (options.verbose > 0) {
    std::fprintf(options.out, "\n%s\n%s", result.results.to_table().c_str(), result.results.results_summary(3).c_str());
    if (result.results.best())
      std::fprintf(options.out, "\nBest experiment: %s (train it: regula fit %s)\n", (run_dir / "best.yaml").c_str(),
                   (run_dir / "best.yaml").c_str());
    std::fflush(options.out);
  }
  return result;
}

}  // namespace regula::experiment
