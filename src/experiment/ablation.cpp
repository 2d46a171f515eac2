// `regula ablate`: the experiment's variants with the recipe's techniques switched on and off,
// run as ordinary experiments (here or as worker processes), and their table.

#include "regula/experiment/ablation.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "regula/backend/context.hpp"
#include "regula/config/yaml.hpp"
#include "regula/error.hpp"
#include "regula/experiment/experiment.hpp"
#include "regula/experiment/worker_processes.hpp"
#include "regula/io/file_bytes.hpp"
#include "regula/report/html_report.hpp"
#include "regula/report/run_data.hpp"
#include "src/experiment/experiment_data.hpp"
#include "src/experiment/experiment_training.hpp"

namespace regula::experiment {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::vector<std::string> kDropoutLayers = {"Dropout", "SpatialDropout2D", "GaussianDropout"};

/// The callback class that carries a technique, for the techniques that are callbacks.
const std::map<Technique, std::string>& callback_classes() {
  static const std::map<Technique, std::string> classes = {{Technique::early_stopping, "EarlyStopping"},
                                                           {Technique::lr_reduction, "ReduceLROnPlateau"},
                                                           {Technique::best_checkpoint, "ModelCheckpoint"},
                                                           {Technique::batch_norm_recalibration, "PreciseBatchNorm"}};
  return classes;
}

std::string class_of(const json& callback) { return callback.is_object() ? callback.value("class_name", "") : ""; }

void set_model_techniques(json& model, bool dropout, bool l2) {
  if (model.is_string() && model == "seed") model = {{"builtin", "seed"}};
  if (model.is_object() && model.contains("builtin")) {
    if (!dropout) model["conv_dropout"] = model["dense_dropout"] = 0.0;
    if (!l2) model["activity_l2"] = 0.0;
    return;
  }
  if (!model.is_object() || !model.contains("layers") || !model["layers"].is_array()) return;
  for (json& layer : model["layers"]) {
    if (!layer.is_object()) continue;
    const std::string cls = layer.value("class_name", "");
    if (!dropout && std::find(kDropoutLayers.begin(), kDropoutLayers.end(), cls) != kDropoutLayers.end()) layer["rate"] = 0.0;
    if (!l2)
      for (const char* key : {"kernel_regularizer", "bias_regularizer", "activity_regularizer"}) layer.erase(key);
  }
}

/// Where a callback technique switched on comes from when the experiment has none: the article's
/// callbacks, and the default experiment's PreciseBatchNorm (the article has no recalibration).
json technique_callbacks() {
  json callbacks = article_experiment()["callbacks"];
  const json defaults = default_experiment();
  for (const json& c : defaults.at("callbacks"))
    if (class_of(c) == "PreciseBatchNorm") callbacks.push_back(c);
  return callbacks;
}

/// The learning-rate schedule of the experiment's optimizer config, or null.
const json* optimizer_schedule(const json& experiment) {
  const auto compile = experiment.find("compile");
  if (compile == experiment.end() || !compile->is_object() || !compile->contains("optimizer")) return nullptr;
  const json& o = compile->at("optimizer");
  const json& options = o.is_object() && o.contains("config") ? o.at("config") : o;
  if (!options.is_object() || !options.contains("learning_rate") || !options.at("learning_rate").is_object()) return nullptr;
  return &options.at("learning_rate");
}

/// Replaces the optimizer's learning-rate schedule by its initial rate (the LR technique off).
void drop_schedule(json& experiment) {
  json& o = experiment["compile"]["optimizer"];
  json& options = o.contains("config") ? o["config"] : o;
  const json& schedule = options["learning_rate"];
  const json& config = schedule.contains("config") ? schedule["config"] : schedule;
  options["learning_rate"] = config.value("initial_learning_rate", 0.001);
}

/// The callbacks list with each callback technique's entries kept (or the article's added) when
/// on and removed when off; other callbacks stay. `scheduled`: the optimizer follows a learning-rate
/// schedule, which is then the LR technique (no ReduceLROnPlateau is added).
json callbacks_with(const json& callbacks, const std::set<Technique>& on, bool scheduled) {
  const json article = technique_callbacks();
  json out = json::array();
  for (const json& callback : callbacks.is_array() ? callbacks : json::array()) {
    bool keep = true;
    for (const auto& [technique, cls] : callback_classes())
      if (class_of(callback) == cls) keep = on.contains(technique);
    if (keep) out.push_back(callback);
  }
  for (const auto& [technique, cls] : callback_classes()) {
    if (!on.contains(technique) || (technique == Technique::lr_reduction && scheduled)) continue;
    const bool present = std::any_of(out.begin(), out.end(), [&](const json& c) { return class_of(c) == cls; });
    if (present) continue;
    for (const json& callback : article)
      if (class_of(callback) == cls) out.push_back(callback);
  }
  return out;
}

std::string slug(const std::string& label) {
  std::string s;
  for (const char c : label) {
    if (std::isalnum(static_cast<unsigned char>(c)))
      s += c;
    else if (c == '+')
      s += "with-";
    else if (!s.empty() && s.back() != '-')
      s += '-';
  }
  return s;
}

std::vector<double> series(const json& history, const std::string& name) {
  std::vector<double> values;
  if (!history.contains(name)) return values;
  for (const json& v : history[name]) values.push_back(v.is_number() ? v.get<double>() : std::nan(""));
  return values;
}

/// The row of a finished variant, from its run directory's history.json and test.json.
AblationRow read_row(const std::string& label, const fs::path& dir, const std::string& accuracy) {
  AblationRow row{.label = label, .run_dir = dir.string()};
  std::ifstream in(dir / "history.json");
  const json file = json::parse(in, nullptr, false);
  if (file.is_discarded() || !file.contains("history")) {
    row.error = "no history.json in " + dir.string();
    return row;
  }
  const std::vector<double> train = series(file["history"], accuracy);
  const std::vector<double> val = series(file["history"], "val_" + accuracy);
  if (val.empty() || train.empty()) {
    row.error = "the history has no " + accuracy + " / val_" + accuracy;
    return row;
  }
  row.epochs = static_cast<int64_t>(val.size());
  row.final_val_accuracy = val.back();
  row.best_val_accuracy = std::nan("");
  for (const double v : val)
    if (std::isfinite(v) && !(v <= row.best_val_accuracy)) row.best_val_accuracy = v;
  row.generalization_gap = train.back() - val.back();
  std::ifstream test_in(dir / "test.json");
  const json test = json::parse(test_in, nullptr, false);
  if (!test.is_discarded() && test.contains(accuracy) && test[accuracy].is_number())
    row.test_accuracy = test[accuracy].get<double>();
  return row;
}

std::string accuracy_name(const json& experiment) {
  const json metrics = experiment.at("compile").value("metrics", json::array());
  for (const json& m : metrics)
    if (m == "accuracy" || m == "acc") return m.get<std::string>();
  throw ValueError("ablate: the experiment must log accuracy (compile.metrics: [accuracy]); the table compares "
                   "validation and test accuracy");
}

std::string percent(double v) { return std::isfinite(v) ? fmt::format("{:.2f} %", 100.0 * v) : "—"; }

std::string row_line(const AblationRow& row) {
  if (!row.error.empty()) return fmt::format("{} - failed: {}", row.label, row.error);
  return fmt::format("{} - best val_accuracy {} - final {} - test {} - gap {:+.2f} pp - {} epochs", row.label,
                     percent(row.best_val_accuracy), percent(row.final_val_accuracy),
                     row.test_accuracy ? percent(*row.test_accuracy) : "—", 100.0 * row.generalization_gap, row.epochs);
}

}  // namespace

const std::vector<Technique>& all_techniques() {
  static const std::vector<Technique> techniques = {Technique::dropout,        Technique::augmentation,
                                                    Technique::l2,             Technique::class_weights,
                                                    Technique::early_stopping, Technique::lr_reduction,
                                                    Technique::best_checkpoint, Technique::batch_norm_recalibration};
  return techniques;
}

std::string technique_name(Technique technique) {
  switch (technique) {
    case Technique::dropout: return "dropout";
    case Technique::augmentation: return "augmentation";
    case Technique::l2: return "L2";
    case Technique::class_weights: return "class weights";
    case Technique::early_stopping: return "early stopping";
    case Technique::lr_reduction: return "LR schedule";
    case Technique::best_checkpoint: return "best checkpoint";
    case Technique::batch_norm_recalibration: return "BN recalibration";
  }
  return "";
}

json with_techniques(const json& experiment, const std::set<Technique>& on) {
  json variant = experiment;
  variant.erase("search");
  set_model_techniques(variant["model"], on.contains(Technique::dropout), on.contains(Technique::l2));
  const json augmentation = variant.value("augmentation", json());
  if (!on.contains(Technique::augmentation))
    variant["augmentation"] = nullptr;
  else if (augmentation.is_null() || augmentation.empty())
    variant["augmentation"] = article_experiment()["augmentation"];
  if (!on.contains(Technique::class_weights))
    variant["fit"].erase("class_weight");
  else if (!variant["fit"].contains("class_weight"))
    variant["fit"]["class_weight"] = "balanced";
  bool scheduled = optimizer_schedule(variant) != nullptr;
  if (scheduled && !on.contains(Technique::lr_reduction)) {
    drop_schedule(variant);
    scheduled = false;
  }
  variant["callbacks"] = callbacks_with(variant.value("callbacks", json::array()), on, scheduled);
  return variant;
}

std::vector<AblationVariant> ablation_variants() {
  std::vector<AblationVariant> variants = {{"none", {}}};
  for (const Technique t : all_techniques()) variants.push_back({"+" + technique_name(t), {t}});
  variants.push_back({"all", std::set<Technique>(all_techniques().begin(), all_techniques().end())});
  return variants;
}

AblationResult ablate(const json& experiment, const AblationOptions& options) {
  if (!has_validation_data(experiment.at("data")))
    throw ValueError("ablate: the experiment has no validation data (data.validation_split or data.validation); the "
                     "table compares validation accuracy");
  const std::string accuracy = accuracy_name(experiment);
  std::vector<AblationVariant> variants;
  for (const AblationVariant& v : ablation_variants())
    if (options.only.empty() || std::find(options.only.begin(), options.only.end(), v.label) != options.only.end())
      variants.push_back(v);
  if (variants.size() < std::max<size_t>(options.only.size(), 1)) {
    std::string known;
    for (const AblationVariant& v : ablation_variants()) known += (known.empty() ? "" : ", ") + v.label;
    throw ValueError("ablate: unknown variant in the selection; the variants are: " + known);
  }
  const int jobs = std::max(1, options.jobs);
  if (jobs > 1 && options.worker_command.empty())
    throw ValueError(fmt::format("ablate: {} variants at once need worker processes (regula ablate starts them)", jobs));
  const int threads = options.threads > 0 ? options.threads : experiment.value("threads", num_threads());
  const int thread_share = std::max(1, threads / jobs);

  AblationResult result{{}, options.run_dir.empty() ? default_run_dir("ablate-") : options.run_dir};
  const fs::path root(result.run_dir);
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) throw IOError(fmt::format("{}: cannot create the ablation's directory: {}", result.run_dir, ec.message()));
  std::vector<fs::path> dirs;
  std::vector<json> experiments;
  std::vector<TrainingPlan> plans;  // every variant is planned (so checked) before any runs
  for (size_t k = 0; k < variants.size(); ++k) {
    dirs.push_back(root / fmt::format("{}-{}", k, slug(variants[k].label)));
    experiments.push_back(with_techniques(experiment, variants[k].on));
    experiments.back()["threads"] = thread_share;
    plans.push_back(plan_training(experiments.back(), 0));
  }
  if (options.verbose > 0) {
    std::fprintf(options.out, "Ablation: %zu variants, %d at once with %d thread%s each; directory %s\n", variants.size(),
                 jobs, thread_share, thread_share == 1 ? "" : "s", result.run_dir.c_str());
    std::fflush(options.out);
  }

  std::vector<AblationRow> rows(variants.size());
  auto finish = [&](size_t k, const std::string& error) {
    rows[k] = error.empty() ? read_row(variants[k].label, dirs[k], accuracy)
                            : AblationRow{.label = variants[k].label, .run_dir = dirs[k].string(), .error = error};
    if (options.verbose > 0) {
      std::fprintf(options.out, "%s\n", row_line(rows[k]).c_str());
      std::fflush(options.out);
    }
  };
  if (options.worker_command.empty()) {
    for (size_t k = 0; k < variants.size(); ++k) {
      std::string error;
      try {
        fs::create_directories(dirs[k]);
        std::unique_ptr<std::FILE, int (*)(std::FILE*)> log(std::fopen((dirs[k].string() + ".log").c_str(), "w"), &std::fclose);
        if (!log) throw IOError(dirs[k].string() + ".log: cannot write the variant's log");
        run_plan(plans[k], {.run_dir = dirs[k].string(), .existing = ExistingRun::overwrite, .verbose = 0, .out = log.get()});
      } catch (const Interrupted&) {
        throw;  // a stop request ends the ablation, not only this variant
      } catch (const std::exception& e) {
        error = e.what();
      }
      finish(k, error);
    }
  } else {
    experiment::WorkerProcesses workers(jobs);
    const std::map<std::string, std::string> environment = experiment::thread_environment(thread_share);
    size_t next = 0;
    while (next < variants.size() || workers.running() > 0) {
      while (next < variants.size() && !workers.full()) {
        const std::string file = dirs[next].string() + ".yaml";
        io::write_file_atomically(file, config::json_to_yaml(experiments[next]));
        std::vector<std::string> argv = options.worker_command;
        for (const std::string& arg : {file, std::string("--run-dir"), dirs[next].string()}) argv.push_back(arg);
        workers.start(static_cast<int64_t>(next), argv, environment, dirs[next].string() + ".log");
        ++next;
      }
      const experiment::WorkerExit exit = workers.wait_any();
      finish(static_cast<size_t>(exit.tag), exit.succeeded() ? "" : exit.describe() + " (see " + dirs[exit.tag].string() + ".log)");
    }
  }
  result.rows = rows;
  const std::string table = ablation_table(rows);
  io::write_file_atomically((root / "ablation.md").string(), table);
  // The variants' validation curves overlaid, with the table, in one report.
  std::vector<report::LabeledRun> runs;
  for (const AblationRow& row : rows)
    if (row.error.empty()) runs.push_back({row.label, report::load_run(row.run_dir)});
  if (!runs.empty()) report::write_comparison_report(runs, (root / "ablation.html").string());
  if (options.verbose > 0) {
    std::fprintf(options.out, "\n%s", table.c_str());
    std::fflush(options.out);
  }
  return result;
}

std::string ablation_table(const std::vector<AblationRow>& rows) {
  std::string s =
      "| variant | final val accuracy | best val accuracy | test accuracy (kept model) | gap (train − val) | epochs |\n"
      "| --- | ---: | ---: | ---: | ---: | ---: |\n";
  for (const AblationRow& row : rows) {
    if (!row.error.empty()) {
      s += fmt::format("| {} | failed: {} | | | | |\n", row.label, row.error);
      continue;
    }
    s += fmt::format("| {} | {} | {} | {} | {:+.2f} pp | {} |\n", row.label, percent(row.final_val_accuracy),
                     percent(row.best_val_accuracy), row.test_accuracy ? percent(*row.test_accuracy) : "—",
                     100.0 * row.generalization_gap, row.epochs);
  }
  return s;
}

}  // namespace regula::experiment
