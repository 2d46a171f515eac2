// Experiment-file searches (`regula search experiment.yaml`): the search section's checks, trial
// experiments written at dotted paths, trials scored by their best epoch or K-fold mean, failures
// recorded while the search goes on, resuming from the run directory, and the best experiment.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "experiment_fixture.hpp"
#include "regula/config/yaml.hpp"
#include "regula/error.hpp"
#include "regula/experiment/experiment.hpp"
#include "regula/experiment/experiment_search.hpp"
#include "test_support.hpp"

namespace rg = regula;
namespace fs = std::filesystem;
using nlohmann::json;
using regula::testing_support::expect_error;

namespace {

class ExperimentSearchTest : public regula::testing_support::ExperimentDirectoryTest {
 protected:
  /// A small experiment on 6x6 two-class images (a Dense softmax model), with `search` added.
  json experiment(const std::string& search_yaml, const std::string& extra = "") {
    write_images("train", 120, 1);
    const std::string file =
        write("e.yaml", "seed: 3\n"
                        "data:\n"
                        "  dataset: {x: " + (dir_ / "train-x.idx").string() + ", y: " + (dir_ / "train-y.idx").string() + "}\n"
                        "  rescale: 0.00392156862745098\n"
                        "  validation_split: 0.25\n"
                        "model:\n"
                        "  layers:\n"
                        "    - {class_name: Flatten}\n"
                        "    - {class_name: Dropout, rate: 0.1}\n"
                        "    - {class_name: Dense, units: 2, activation: softmax}\n"
                        "compile: {optimizer: {class_name: Adam, learning_rate: 0.01}}\n"
                        "fit: {epochs: 3, batch_size: 20}\n"
                        "augmentation: null\n"
                        "callbacks: []\n" + extra + search_yaml);
    return rg::experiment::load(file);
  }

  rg::experiment::SearchRunResult run_search(const json& e, const std::string& run = "run", bool overwrite = false) {
    std::FILE* out = std::tmpfile();
    auto result = rg::experiment::search(e, {.run_dir = (dir_ / run).string(), .overwrite = overwrite, .out = out});
    std::rewind(out);
    char buf[16384] = {};
    printed_ = std::string(buf, std::fread(buf, 1, sizeof buf - 1, out));
    std::fclose(out);
    return result;
  }

  std::string printed_;
};

const char* kLearningRateGrid =
    "search:\n"
    "  algorithm: grid\n"
    "  objective: {monitor: val_accuracy, mode: max}\n"
    "  space:\n"
    "    compile.optimizer.learning_rate: {choice: [0.0, 0.05]}\n"
    "    model.layers.1.rate: {choice: [0.0, 0.2]}\n";

}  // namespace

TEST_F(ExperimentSearchTest, ParametersAreWrittenAtTheirDottedPathsAndTheSearchSectionIsDropped) {
  const json e = experiment(kLearningRateGrid);
  rg::tuning::Params p;
  p.set("compile.optimizer.learning_rate", 0.05);
  p.set("model.layers.1.rate", 0.2);
  p.set("fit.shuffle", false);  // a new key of an existing mapping
  const json trial = rg::experiment::apply_params(e, p);
  EXPECT_DOUBLE_EQ(trial["compile"]["optimizer"]["learning_rate"].get<double>(), 0.05);
  EXPECT_EQ(trial["compile"]["optimizer"]["class_name"], "Adam");  // the rest of the mapping stays
  EXPECT_DOUBLE_EQ(trial["model"]["layers"][1]["rate"].get<double>(), 0.2);
  EXPECT_EQ(trial["fit"]["shuffle"], false);
  EXPECT_FALSE(trial.contains("search"));
  EXPECT_TRUE(e.contains("search"));  // the experiment itself is unchanged

  auto with = [](const std::string& path) {
    rg::tuning::Params q;
    q.set(path, 1.0);
    return q;
  };
  expect_error<rg::ValueError>([&] { rg::experiment::apply_params(e, with("compile.optimiser.learning_rate")); },
                               {"compile.optimiser.learning_rate", "no 'compile.optimiser'", "optimizer"});
  expect_error<rg::ValueError>([&] { rg::experiment::apply_params(e, with("model.layers.7.rate")); },
                               {"'model.layers' is a list of 3 entries", "from 0 to 2"});
  expect_error<rg::ValueError>([&] { rg::experiment::apply_params(e, with("compile.loss.x")); },
                               {"'compile.loss' is \"sparse_categorical_crossentropy\"", "mapping"});
  expect_error<rg::ValueError>([&] { rg::experiment::apply_params(e, with("fit..epochs")); }, {"empty segment"});
}

TEST_F(ExperimentSearchTest, TheSearchSectionIsCheckedBeforeAnythingRuns) {
  const std::string space = "  space: {fit.epochs: {choice: [1, 2]}}\n";
  auto spec_error = [&](const std::string& search, std::initializer_list<std::string> parts) {
    const json e = experiment("search:\n" + search);
    expect_error<rg::ValueError>([&] { rg::experiment::search_spec(e); }, parts);
    expect_error<rg::ValueError>([&] { rg::experiment::search(e, {.run_dir = (dir_ / "never").string()}); }, parts);
    EXPECT_FALSE(fs::exists(dir_ / "never")) << "a bad search section must fail before it writes anything";
  };
  // Keras has no search; KerasTuner refuses an objective the model does not log.
  spec_error("  objective: val_acc\n" + space,
             {"search.objective.monitor 'val_acc'", "allowed: loss, accuracy, val_loss, val_accuracy"});
  spec_error("  algorithm: bayesian\n" + space, {"search.algorithm 'bayesian'", "grid, random, tpe"});
  spec_error("  cv: 1\n" + space, {"search.cv = 1", ">= 2"});
  spec_error("  max_trials: 0\n" + space, {"search.max_trials = 0", ">= 1"});
  spec_error("  objective: {monitor: val_loss, mode: maximum}\n" + space, {"mode", "maximum"});
  spec_error("  space: {}\n", {"search.space must be a non-empty mapping"});
  spec_error("  space: {fit.epochs: {uniform: [5, 1]}}\n", {"search.space", "fit.epochs", "low"});
  spec_error("  space: {compile.optimizer.learning_rate: {loguniform: [0, 1]}}\n", {"search.space", "learning_rate", "> 0"});
  spec_error("  space: {fit.epochz: {choice: [1, 2]}}\n", {"does not make a valid experiment", "epochz"});
  spec_error("  space: {data.x.y: {choice: [1, 2]}}\n", {"no 'data.x'"});
  spec_error("  trials: 3\n" + space, {"experiment: search", "'trials'"});
  // Without validation data only the training quantities are logged.
  const json e = experiment("search: {objective: val_loss, space: {fit.epochs: {choice: [1, 2]}}}\n");
  json no_validation = e;
  no_validation["data"].erase("validation_split");
  expect_error<rg::ValueError>([&] { rg::experiment::search_spec(no_validation); },
                               {"'val_loss'", "allowed: loss, accuracy (val_ names need validation data"});
  no_validation["search"]["cv"] = 2;  // the held-out folds are the validation data
  EXPECT_NO_THROW(rg::experiment::search_spec(no_validation));
  // Mode auto follows Keras's rule: names with "acc" are maximised, others minimised.
  EXPECT_EQ(rg::experiment::search_spec(e).direction, rg::Direction::kMin);
  json acc = e;
  acc["search"]["objective"] = "val_accuracy";
  EXPECT_EQ(rg::experiment::search_spec(acc).direction, rg::Direction::kMax);
  EXPECT_EQ(rg::experiment::search_spec(acc).max_trials, 10);  // KerasTuner's default budget
  EXPECT_EQ(rg::experiment::search_spec(acc).algorithm, "tpe");
}

TEST_F(ExperimentSearchTest, GridSearchTrainsEveryConfigurationAndScoresTheBestEpoch) {
  const auto result = run_search(experiment(kLearningRateGrid));
  ASSERT_EQ(result.results.size(), 4u) << printed_;
  for (const rg::tuning::Trial& trial : result.results.trials()) {
    ASSERT_TRUE(trial.ok()) << trial.error;
    EXPECT_EQ(trial.epochs, 3);
    // The score is the best epoch's val_accuracy (KerasTuner's rule), read back from the trial's history.
    std::ifstream in(dir_ / "run" / "trials" / fmt::format("{:04d}", trial.number) / "history.json");
    const json history = json::parse(in);
    double best = -1.0;
    for (const double v : history["history"]["val_accuracy"].get<std::vector<double>>()) best = std::max(best, v);
    EXPECT_DOUBLE_EQ(trial.score, best);
  }
  // A learning rate of 0 leaves the model untrained; 0.05 separates the two classes.
  const rg::tuning::Params& best = result.results.best_params();
  EXPECT_DOUBLE_EQ(best.get<double>("compile.optimizer.learning_rate"), 0.05);
  EXPECT_GT(result.results.best_score(), 0.9);
  // best.yaml is the best trial's experiment, ready for `regula fit`.
  const json best_experiment = rg::config::read_yaml_file((dir_ / "run" / "best.yaml").string());
  EXPECT_EQ(best_experiment, result.best_experiment);
  EXPECT_DOUBLE_EQ(best_experiment["compile"]["optimizer"]["learning_rate"].get<double>(), 0.05);
  EXPECT_FALSE(best_experiment.contains("search"));
  for (const char* name : {"search.json", "search.csv"}) EXPECT_TRUE(fs::exists(dir_ / "run" / name)) << name;
  EXPECT_NE(printed_.find("Trial 0003 started"), std::string::npos) << printed_;
  EXPECT_NE(printed_.find("Objective: val_accuracy (direction=\"max\")"), std::string::npos) << printed_;
  EXPECT_NE(printed_.find("Best experiment: "), std::string::npos) << printed_;
}

TEST_F(ExperimentSearchTest, CrossValidationScoresEachTrialByItsFoldMean) {
  const json e = experiment("search:\n"
                            "  algorithm: random\n"
                            "  max_trials: 2\n"
                            "  cv: 3\n"
                            "  objective: val_accuracy\n"
                            "  space: {compile.optimizer.learning_rate: {loguniform: [0.01, 0.1]}}\n");
  const auto result = run_search(e);
  ASSERT_EQ(result.results.n_ok(), 2u) << printed_;
  for (const rg::tuning::Trial& trial : result.results.trials()) {
    ASSERT_EQ(trial.fold_scores.size(), 3u);
    double sum = 0.0;
    for (const double s : trial.fold_scores) sum += s;
    EXPECT_NEAR(trial.score, sum / 3.0, 1e-12);
    // The folds pool the training and validation rows (120 in all): 80 train / 40 held out each.
    const fs::path fold = dir_ / "run" / "trials" / fmt::format("{:04d}", trial.number) / "fold-1";
    std::ifstream log(dir_ / "run" / "trials" / fmt::format("{:04d}", trial.number) / "log.txt");
    const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("Training on 80 samples, validating on 40"), std::string::npos) << text;
    EXPECT_TRUE(fs::exists(fold / "history.json"));
  }
}

TEST_F(ExperimentSearchTest, AFailingOrNaNTrialIsRecordedAndTheSearchGoesOn) {
  // batch_size 0 makes fit throw; pixels rescaled by 1e38 overflow to inf, so the loss is NaN in
  // every epoch.
  const json e = experiment("search:\n"
                            "  algorithm: grid\n"
                            "  objective: val_loss\n"
                            "  space:\n"
                            "    fit.batch_size: {choice: [0, 20]}\n"
                            "    data.rescale: {choice: [1.0e+38, 0.00392156862745098]}\n");
  const auto result = run_search(e);
  ASSERT_EQ(result.results.size(), 4u) << printed_;
  EXPECT_EQ(result.results.n_failed(), 3u) << printed_;
  EXPECT_EQ(result.results.n_ok(), 1u);
  const rg::tuning::Params& best = result.results.best_params();
  EXPECT_EQ(best.get<int64_t>("fit.batch_size"), 20);
  EXPECT_LT(best.get<double>("data.rescale"), 1.0);
  EXPECT_NE(result.results.trials()[1].error.find("NaN"), std::string::npos) << result.results.trials()[1].error;
  EXPECT_NE(result.results.trials()[0].error.find("batch_size"), std::string::npos) << result.results.trials()[0].error;
}

TEST_F(ExperimentSearchTest, ARunDirectoryIsResumedWithoutRerunningFinishedTrials) {
  const json e = experiment(kLearningRateGrid);
  const auto first = run_search(e);
  ASSERT_EQ(first.results.size(), 4u);
  // Simulate an interruption after two trials: keep only their rows in the results file.
  const fs::path results = dir_ / "run" / "search.json";
  json file = json::parse(std::ifstream(results));
  file["trials"].erase(file["trials"].begin() + 2, file["trials"].end());
  std::ofstream(results) << file.dump(2);
  const fs::file_time_type trial0_written = fs::last_write_time(dir_ / "run" / "trials" / "0000" / "history.json");

  const auto resumed = run_search(e);
  EXPECT_NE(printed_.find("(2 done before)"), std::string::npos) << printed_;
  EXPECT_EQ(printed_.find("Trial 0000 started"), std::string::npos) << printed_;
  EXPECT_NE(printed_.find("Trial 0002 started"), std::string::npos) << printed_;
  EXPECT_EQ(fs::last_write_time(dir_ / "run" / "trials" / "0000" / "history.json"), trial0_written);
  ASSERT_EQ(resumed.results.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(resumed.results.trials()[i].score, first.results.trials()[i].score) << i;

  // A corrupted results file is refused and left as it is.
  std::ofstream(results) << "{ not json";
  expect_error<rg::IOError>([&] { run_search(e); }, {"search.json"});
  std::ifstream in(results);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()), "{ not json");
  // overwrite starts afresh.
  EXPECT_EQ(run_search(e, "run", true).results.size(), 4u);
}

TEST_F(ExperimentSearchTest, SeveralTrialsAtOnceNeedWorkerProcesses) {
  expect_error<rg::ValueError>(
      [&] { rg::experiment::search(experiment(kLearningRateGrid), {.run_dir = (dir_ / "r").string(), .jobs = 2}); },
      {"2 trials at once need worker processes"});
}

TEST_F(ExperimentSearchTest, AConditionalChoiceWritesItsLabelAndOnlyItsBranchsParameters) {
  // HyperOpt-style nesting: the optimizer's class is chosen, and each class brings its own options.
  const json e = experiment("search:\n"
                            "  algorithm: random\n"
                            "  max_trials: 6\n"
                            "  objective: val_accuracy\n"
                            "  space:\n"
                            "    compile.optimizer.class_name:\n"
                            "      choice:\n"
                            "        - {name: Adam, compile.optimizer.learning_rate: {loguniform: [0.001, 0.1]}}\n"
                            "        - {name: SGD, compile.optimizer.momentum: {uniform: [0.0, 0.9]}}\n");
  const auto result = run_search(e);
  ASSERT_EQ(result.results.n_ok(), 6u) << printed_;
  std::set<std::string> seen;
  for (const rg::tuning::Trial& trial : result.results.trials()) {
    std::ifstream in(dir_ / "run" / "trials" / fmt::format("{:04d}", trial.number) / "trial.json");
    const json optimizer = json::parse(in)["experiment"]["compile"]["optimizer"];
    const std::string cls = trial.params.get<std::string>("compile.optimizer.class_name");
    seen.insert(cls);
    EXPECT_EQ(optimizer["class_name"], cls);
    if (cls == "SGD") {
      EXPECT_DOUBLE_EQ(optimizer["momentum"].get<double>(), trial.params.get<double>("compile.optimizer.momentum"));
      EXPECT_DOUBLE_EQ(optimizer["learning_rate"].get<double>(), 0.01);  // the experiment's own value
    } else {
      EXPECT_FALSE(optimizer.contains("momentum"));
      EXPECT_DOUBLE_EQ(optimizer["learning_rate"].get<double>(), trial.params.get<double>("compile.optimizer.learning_rate"));
    }
  }
  EXPECT_EQ(seen.size(), 2u) << "6 random trials should have drawn both branches";
}
