// The ablation (`regula ablate`): variants of an experiment with the recipe's techniques switched
// on and off, run side by side, and their table.

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "experiment_fixture.hpp"
#include "regula/error.hpp"
#include "regula/experiment/ablation.hpp"
#include "regula/experiment/experiment.hpp"
#include "test_support.hpp"

namespace rg = regula;
namespace fs = std::filesystem;
using nlohmann::json;
using rg::experiment::Technique;
using regula::testing_support::expect_error;

namespace {

class AblationTest : public regula::testing_support::ExperimentDirectoryTest {
 protected:
  /// A layer-list experiment that uses every technique (dropout, L2 regularizers, class weights,
  /// augmentation, the four callbacks), plus a CSVLogger that is not a technique.
  json experiment(bool with_test = true) {
    write_images("train", 100, 1);
    write_images("test", 40, 2);
    const std::string test = with_test ? "  test: {x: " + (dir_ / "test-x.idx").string() + ", y: " + (dir_ / "test-y.idx").string() + "}\n" : "";
    return rg::experiment::load(write(
        "e.yaml", "seed: 3\n"
                  "data:\n"
                  "  dataset: {x: " + (dir_ / "train-x.idx").string() + ", y: " + (dir_ / "train-y.idx").string() + "}\n" + test +
                  "  rescale: 0.00392156862745098\n"
                  "  validation_split: 0.2\n"
                  "model:\n"
                  "  layers:\n"
                  "    - {class_name: Flatten}\n"
                  "    - {class_name: Dense, units: 8, activation: relu, kernel_regularizer: {l2: 0.01}}\n"
                  "    - {class_name: Dropout, rate: 0.3}\n"
                  "    - {class_name: Dense, units: 2, activation: softmax, activity_regularizer: {l2: 0.001}}\n"
                  "compile: {optimizer: {class_name: Adam, learning_rate: 0.02}}\n"
                  "fit: {epochs: 4, batch_size: 16, class_weight: {0: 1.0, 1: 2.0}}\n"
                  "augmentation: {width_shift_range: 0.1}\n"
                  "callbacks:\n"
                  "  - {class_name: EarlyStopping, monitor: val_loss, patience: 1}\n"
                  "  - {class_name: ReduceLROnPlateau, monitor: val_loss, factor: 0.5, patience: 1}\n"
                  "  - {class_name: ModelCheckpoint, filepath: kept.h5, monitor: val_accuracy, save_best_only: true}\n"
                  "  - {class_name: PreciseBatchNorm, batches: 2, batch_size: 16}\n"
                  "  - {class_name: CSVLogger, filename: epochs.csv}\n"));
  }
};

std::vector<std::string> callback_classes(const json& e) {
  std::vector<std::string> names;
  for (const json& c : e["callbacks"]) names.push_back(c["class_name"]);
  return names;
}

}  // namespace

TEST_F(AblationTest, NoneSwitchesEveryTechniqueOffAndKeepsEverythingElse) {
  const json e = experiment();
  const json none = rg::experiment::with_techniques(e, {});
  EXPECT_DOUBLE_EQ(none["model"]["layers"][2]["rate"].get<double>(), 0.0);  // the layer stays, its rate is 0
  EXPECT_FALSE(none["model"]["layers"][1].contains("kernel_regularizer"));
  EXPECT_FALSE(none["model"]["layers"][3].contains("activity_regularizer"));
  EXPECT_EQ(none["model"]["layers"][1]["units"], 8);
  EXPECT_TRUE(none["augmentation"].is_null());
  EXPECT_FALSE(none["fit"].contains("class_weight"));
  EXPECT_EQ(none["fit"]["epochs"], 4);  // the same budget
  EXPECT_EQ(callback_classes(none), std::vector<std::string>{"CSVLogger"});
  EXPECT_EQ(none["seed"], e["seed"]);
}

TEST_F(AblationTest, ATechniqueSwitchedOnIsTheExperimentsOwnSettingElseTheArticles) {
  const json e = experiment();
  const json all = rg::experiment::with_techniques(
      e, std::set<Technique>(rg::experiment::all_techniques().begin(), rg::experiment::all_techniques().end()));
  json expected = e;
  expected.erase("search");
  EXPECT_EQ(all, expected);  // the experiment already uses every technique: "all" is the experiment

  // The default experiment has no class weights and the seed model: "+class weights" adds
  // balanced weights, and dropout / L2 are the seed model's options.
  const json d = rg::experiment::default_experiment();
  const json weights = rg::experiment::with_techniques(d, {Technique::class_weights});
  EXPECT_EQ(weights["fit"]["class_weight"], "balanced");
  EXPECT_EQ(weights["model"], (json{{"builtin", "seed"}, {"conv_dropout", 0.0}, {"dense_dropout", 0.0}, {"activity_l2", 0.0}}));
  const json dropout = rg::experiment::with_techniques(d, {Technique::dropout});
  EXPECT_EQ(dropout["model"], (json{{"builtin", "seed"}, {"activity_l2", 0.0}}));  // the seed model's own rates

  // An experiment without a callback technique gets the article's when it is switched on.
  json bare = e;
  bare["callbacks"] = json::array();
  bare["augmentation"] = nullptr;
  const json lr = rg::experiment::with_techniques(bare, {Technique::lr_reduction, Technique::augmentation});
  EXPECT_EQ(callback_classes(lr), std::vector<std::string>{"ReduceLROnPlateau"});
  EXPECT_EQ(lr["callbacks"][0]["factor"], 0.1);
  EXPECT_EQ(lr["augmentation"], rg::experiment::article_experiment()["augmentation"]);
}

TEST_F(AblationTest, AScheduledLearningRateIsTheLrTechnique) {
  // With a CosineDecay optimizer the schedule is the LR technique: on, it stays and no
  // ReduceLROnPlateau joins it (the two cannot go together); off, the rate is the schedule's initial one.
  json e = experiment();
  e["compile"]["optimizer"] = json::parse(
      R"({"class_name": "Adam", "learning_rate": {"class_name": "CosineDecay", "initial_learning_rate": 0.01, "decay_steps": 20}})");
  e["callbacks"] = json::array();
  const json on = rg::experiment::with_techniques(e, {Technique::lr_reduction});
  EXPECT_EQ(on["compile"]["optimizer"]["learning_rate"]["class_name"], "CosineDecay");
  EXPECT_TRUE(callback_classes(on).empty());
  const json off = rg::experiment::with_techniques(e, {});
  EXPECT_EQ(off["compile"]["optimizer"]["learning_rate"], 0.01);
  // BN recalibration switched on comes from the default experiment when the experiment has none.
  const json recalibrated = rg::experiment::with_techniques(e, {Technique::batch_norm_recalibration});
  EXPECT_EQ(callback_classes(recalibrated), std::vector<std::string>{"PreciseBatchNorm"});
}

TEST_F(AblationTest, TheVariantsAreNoneEachTechniqueAloneAndAll) {
  std::vector<std::string> labels;
  for (const auto& v : rg::experiment::ablation_variants()) labels.push_back(v.label);
  EXPECT_EQ(labels, (std::vector<std::string>{"none", "+dropout", "+augmentation", "+L2", "+class weights",
                                              "+early stopping", "+LR schedule", "+best checkpoint", "+BN recalibration",
                                              "all"}));
}

TEST_F(AblationTest, AblateRunsTheVariantsAndTabulatesThem) {
  std::FILE* out = std::tmpfile();
  const auto result = rg::experiment::ablate(
      experiment(), {.run_dir = (dir_ / "ablate").string(), .only = {"none", "+best checkpoint", "all"}, .out = out});
  std::fclose(out);
  ASSERT_EQ(result.rows.size(), 3u);
  for (const auto& row : result.rows) {
    ASSERT_TRUE(row.error.empty()) << row.label << ": " << row.error;
    EXPECT_GE(row.best_val_accuracy, row.final_val_accuracy) << row.label;
    ASSERT_TRUE(row.test_accuracy.has_value()) << row.label;
    EXPECT_GE(row.epochs, 1);
    EXPECT_LE(row.epochs, 4);
    EXPECT_TRUE(fs::exists(fs::path(row.run_dir) / "history.json")) << row.run_dir;
  }
  EXPECT_EQ(result.rows[0].epochs, 4);  // no early stopping: the whole budget
  // The checkpoint variant tests its kept model: the weights of kept.h5, written in its run directory.
  EXPECT_TRUE(fs::exists(fs::path(result.rows[1].run_dir) / "kept.h5"));
  EXPECT_FALSE(fs::exists(fs::path(result.rows[0].run_dir) / "kept.h5"));
  const std::string table = rg::experiment::ablation_table(result.rows);
  EXPECT_NE(table.find("| +best checkpoint | "), std::string::npos) << table;
  EXPECT_TRUE(fs::exists(dir_ / "ablate" / "ablation.md"));
  // The overlaid curves: one report naming every variant.
  std::ifstream html(dir_ / "ablate" / "ablation.html");
  const std::string page((std::istreambuf_iterator<char>(html)), std::istreambuf_iterator<char>());
  for (const auto& row : result.rows) EXPECT_NE(page.find(row.label), std::string::npos) << row.label;
}

TEST_F(AblationTest, BadAblationsAreRefusedBeforeAnythingRuns) {
  json e = experiment();
  json no_validation = e;
  no_validation["data"].erase("validation_split");
  expect_error<rg::ValueError>([&] { rg::experiment::ablate(no_validation, {.run_dir = (dir_ / "x").string()}); },
                               {"no validation data"});
  json no_accuracy = e;
  no_accuracy["compile"]["metrics"] = json::array();
  expect_error<rg::ValueError>([&] { rg::experiment::ablate(no_accuracy, {.run_dir = (dir_ / "x").string()}); },
                               {"must log accuracy"});
  expect_error<rg::ValueError>([&] { rg::experiment::ablate(e, {.run_dir = (dir_ / "x").string(), .only = {"+dropuot"}}); },
                               {"unknown variant", "+dropout"});
  EXPECT_FALSE(fs::exists(dir_ / "x"));
}
