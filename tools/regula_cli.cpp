// The `regula` command: a thin layer over the library's experiment runner.
//
//   regula fit [experiment.yaml] [--epochs N] [--limit N] [--batch-size B] [--run-dir DIR] [--overwrite] ...
//   regula fit --resume RUN_DIR   (continues an interrupted run from its backup)
//   regula summary [experiment.yaml]
//   regula augment-preview [experiment.yaml] [--out preview.png] [--samples N] [--variants K]
//   regula search experiment.yaml [--jobs N] [--max-trials N] [--run-dir DIR] [--overwrite] ...
//   regula trial TRIAL_DIR        (one trial of a search, started by `regula search`)
//   regula ablate [experiment.yaml] [--jobs N] [--only none,all] [--run-dir DIR] ...
//   regula report RUN_DIR [--out report.html]   (several RUN_DIRs: their validation curves compared)

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "regula/experiment/ablation.hpp"
#include "regula/experiment/experiment.hpp"
#include "regula/experiment/experiment_search.hpp"
#include "regula/experiment/worker_processes.hpp"
#include "regula/regula.hpp"
#include "regula/report/html_report.hpp"

namespace rg = regula;

namespace {

struct Overrides {
  std::string experiment_file;
  int epochs = -1;
  int64_t limit = -1;
  int64_t batch_size = -1;
  int64_t seed = -1;
  int threads = 0;
  std::string dtype_policy;
};

void add_experiment_options(CLI::App& cmd, Overrides& o) {
  cmd.add_option("experiment", o.experiment_file, "experiment file (YAML); omitted: the default experiment")
      ->check(CLI::ExistingFile);
  cmd.add_option("--epochs", o.epochs, "override fit.epochs")->check(CLI::NonNegativeNumber);
  cmd.add_option("--limit", o.limit, "override data.limit (first N training samples; 0 = all)")->check(CLI::NonNegativeNumber);
  cmd.add_option("--batch-size", o.batch_size, "override fit.batch_size")->check(CLI::PositiveNumber);
  cmd.add_option("--seed", o.seed, "override seed")->check(CLI::NonNegativeNumber);
  cmd.add_option("--threads", o.threads, "threads (default: REGULA_NUM_THREADS or all cores)")
      ->check(CLI::Range(1, rg::backend::kMaxThreads));
  cmd.add_option("--dtype-policy", o.dtype_policy, "override dtype_policy: float32 or mixed_bfloat16 (Keras's mixed precision)");
}

nlohmann::json resolve(const Overrides& o) {
  nlohmann::json e = o.experiment_file.empty() ? rg::experiment::default_experiment() : rg::experiment::load(o.experiment_file);
  if (o.epochs >= 0) e["fit"]["epochs"] = o.epochs;
  if (o.limit >= 0) e["data"]["limit"] = o.limit;
  if (o.batch_size > 0) e["fit"]["batch_size"] = o.batch_size;
  if (o.seed >= 0) e["seed"] = o.seed;
  if (o.threads > 0) e["threads"] = o.threads;
  if (!o.dtype_policy.empty()) e["dtype_policy"] = o.dtype_policy;
  return e;
}

/// The processes that run `fit` together: those an MPI launcher started (`mpirun -np N regula
/// fit …`), else this one alone.
rg::distributed::CommunicatorPtr processes() {
  return rg::distributed::launched_by_mpi() ? rg::distributed::mpi_world() : rg::distributed::single_process();
}

}  // namespace

int main(int argc, char** argv) {
  // First, before any thread starts: SIGINT and SIGTERM end a run cleanly (fit backs up and
  // stops; search and ablate stop their workers), received on a thread of their own.
  rg::stop_on_signals();
  CLI::App app{"regula: Keras-style training of neural networks that generalize"};
  app.require_subcommand(1);
  Overrides fit_overrides, summary_overrides;
  std::string run_dir;
  int verbose = 1;

  CLI::App* fit = app.add_subcommand("fit", "train a model as an experiment file describes (default: the seed model on Fashion-MNIST)");
  add_experiment_options(*fit, fit_overrides);
  fit->add_option("--run-dir", run_dir, "run directory (default: runs/<date-time>); one that holds a run is refused");
  std::string resume_dir;
  bool overwrite = false;
  fit->add_option("--resume", resume_dir,
                  "continue the interrupted run in this run directory from its backup (BackupAndRestore), with the "
                  "experiment it was started with");
  fit->add_flag("--overwrite", overwrite, "start afresh in a run directory that holds a run (removes that run)");
  fit->add_option("--verbose", verbose, "progress: 0 silent, 1 bar (one line per epoch when not a terminal), 2 one line per epoch")
      ->check(CLI::Range(0, 2));

  CLI::App* summary = app.add_subcommand("summary", "print the experiment's model summary");
  add_experiment_options(*summary, summary_overrides);

  CLI::App* preview = app.add_subcommand(
      "augment-preview", "write a picture of the experiment's augmentation: training images and random augmentations of each");
  Overrides preview_overrides;
  std::string preview_path = "augment-preview.png";
  int64_t preview_samples = 8;
  rg::preprocessing::AugmentationPreviewOptions preview_options;
  preview->add_option("experiment", preview_overrides.experiment_file, "experiment file (YAML); omitted: the default experiment")
      ->check(CLI::ExistingFile);
  preview->add_option("--out", preview_path, "image file to write (.png, .jpg or .bmp)")->capture_default_str();
  preview->add_option("--samples", preview_samples, "training images (rows)")->capture_default_str()->check(CLI::PositiveNumber);
  preview->add_option("--variants", preview_options.variants, "augmentations per image (columns after the original)")->capture_default_str()
      ->check(CLI::PositiveNumber);
  preview->add_option("--seed", preview_options.seed, "seed of the random transforms")->capture_default_str();
  preview->add_option("--scale", preview_options.scale, "pixels per image pixel")->capture_default_str()->check(CLI::PositiveNumber);

  CLI::App* search = app.add_subcommand(
      "search", "search hyperparameters as the experiment file's search section says; a line per trial, then the table");
  Overrides search_overrides;
  rg::experiment::SearchRunOptions search_options;
  int64_t max_trials = -1;
  add_experiment_options(*search, search_overrides);
  search->add_option("--jobs", search_options.jobs, "trials at once, as separate processes (default: search.jobs)")
      ->check(CLI::PositiveNumber);
  search->add_option("--max-trials", max_trials, "override search.max_trials")->check(CLI::NonNegativeNumber);
  search->add_option("--run-dir", search_options.run_dir,
                     "run directory (default: runs/search-<date-time>); an existing one is resumed");
  search->add_flag("--overwrite", search_options.overwrite, "start afresh instead of resuming the run directory's results");

  CLI::App* trial = app.add_subcommand("trial", "run one trial directory written by regula search (used by search)");
  std::string trial_dir;
  trial->add_option("trial_dir", trial_dir, "the trial's directory (holds trial.json)")->required();

  CLI::App* ablate = app.add_subcommand(
      "ablate", "train the experiment with none of the recipe's techniques, each alone, and all; print the table");
  Overrides ablate_overrides;
  rg::experiment::AblationOptions ablate_options;
  add_experiment_options(*ablate, ablate_overrides);
  ablate->add_option("--jobs", ablate_options.jobs, "variants at once, as separate processes")->capture_default_str()
      ->check(CLI::PositiveNumber);
  ablate->add_option("--only", ablate_options.only, "only these variants (none, +dropout, ..., all)")->delimiter(',');
  ablate->add_option("--run-dir", ablate_options.run_dir, "directory (default: runs/ablate-<date-time>)");
  CLI::App* report = app.add_subcommand(
      "report", "write a run directory's learning-curve report (HTML); several run directories: their validation curves compared");
  std::vector<std::string> report_dirs;
  std::string report_out;
  report->add_option("run_dir", report_dirs, "run directories written by regula fit")->required();
  report->add_option("--out", report_out, "HTML file to write (default: RUN_DIR/report.html, or comparison.html for several)");

  CLI11_PARSE(app, argc, argv);
  rg::experiment::die_with_driver();
  try {
    if (fit->parsed() && !resume_dir.empty()) {
      const Overrides none;
      const bool overridden = !fit_overrides.experiment_file.empty() || fit_overrides.epochs != none.epochs ||
                              fit_overrides.limit != none.limit || fit_overrides.batch_size != none.batch_size ||
                              fit_overrides.seed != none.seed || fit_overrides.threads != none.threads ||
                              !fit_overrides.dtype_policy.empty() || !run_dir.empty() || overwrite;
      if (overridden)
        throw rg::ValueError("fit --resume " + resume_dir +
                             ": takes no experiment file, overrides, --run-dir or --overwrite: the run goes on with the "
                             "experiment it was started with (" + resume_dir + "/experiment.yaml)");
      rg::experiment::run(rg::experiment::load_run_experiment(resume_dir),
                          {.run_dir = resume_dir, .existing = rg::experiment::ExistingRun::resume, .verbose = verbose,
                           .communicator = processes()});
    } else if (fit->parsed()) {
      rg::experiment::run(resolve(fit_overrides),
                          {.run_dir = run_dir,
                           .existing = overwrite ? rg::experiment::ExistingRun::overwrite : rg::experiment::ExistingRun::refuse,
                           .verbose = verbose,
                           .communicator = processes()});
    } else if (summary->parsed()) {
      rg::experiment::summary_model(resolve(summary_overrides))->summary();
    } else if (search->parsed()) {
      nlohmann::json e = resolve(search_overrides);
      if (max_trials >= 0 && e.contains("search") && e["search"].is_object()) e["search"]["max_trials"] = max_trials;
      search_options.worker_command = {std::filesystem::read_symlink("/proc/self/exe").string(), "trial"};
      const auto result = rg::experiment::search(e, search_options);
      return result.results.best() ? 0 : 1;
    } else if (ablate->parsed()) {
      const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
      ablate_options.worker_command = {self, "fit", "--verbose", "2", "--overwrite"};
      const auto result = rg::experiment::ablate(resolve(ablate_overrides), ablate_options);
      for (const auto& row : result.rows)
        if (!row.error.empty()) return 1;
    } else if (trial->parsed()) {
      rg::experiment::run_trial_directory(trial_dir);
    } else if (report->parsed()) {
      if (report_dirs.size() == 1) {
        std::printf("Wrote %s\n", rg::report::write_run_report(report_dirs[0], report_out).c_str());
      } else {
        const std::string out = rg::report::compare_run_directories(report_dirs, report_out);
        std::printf("Wrote %s: %zu runs compared\n", out.c_str(), report_dirs.size());
      }
    } else if (preview->parsed()) {
      rg::experiment::write_augmentation_preview(resolve(preview_overrides), preview_path, preview_samples, preview_options);
      std::printf("Wrote %s: %lld images, each followed by %lld augmentations\n", preview_path.c_str(),
                  static_cast<long long>(preview_samples), static_cast<long long>(preview_options.variants));
    }
    return 0;
  } catch (const rg::Interrupted& e) {
    std::fprintf(stderr, "regula: %s\n", e.what());
    return 128 + (rg::stop_signal() != 0 ? rg::stop_signal() : 15);  // a shell's code for the signal
  } catch (const rg::Error& e) {
    std::fprintf(stderr, "regula: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "regula: error: %s\n", e.what());
    return 1;
  }
}
