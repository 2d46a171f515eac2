// Experiment files (`regula fit experiment.yaml`): parsing, defaults, errors, and a whole run on
// small IDX files written by the test.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "experiment_fixture.hpp"
#include "regula/config/yaml.hpp"
#include "regula/error.hpp"
#include "regula/experiment/experiment.hpp"
#include "regula/io/csv.hpp"
#include "regula/io/idx.hpp"
#include "regula/io/npy.hpp"
#include "regula/model/model_file.hpp"
#include "regula/preprocessing/image.hpp"
#include "regula/utils/random.hpp"

namespace rg = regula;
namespace fs = std::filesystem;

namespace {

using ExperimentTest = regula::testing_support::ExperimentDirectoryTest;

}  // namespace

TEST_F(ExperimentTest, YamlScalarsAreTypedAsTheCoreSchema) {
  const auto j = rg::config::yaml_to_json("a: 1\nb: 1.0e-4\nc: true\nd: '3'\ne: same\nf: ~\ng: [1, 2]\n", "t.yaml");
  EXPECT_TRUE(j["a"].is_number_integer());
  EXPECT_DOUBLE_EQ(j["b"].get<double>(), 1e-4);
  EXPECT_EQ(j["c"], true);
  EXPECT_TRUE(j["d"].is_string());
  EXPECT_EQ(j["e"], "same");
  EXPECT_TRUE(j["f"].is_null());
  EXPECT_EQ(j["g"].size(), 2u);
  EXPECT_THROW(rg::config::yaml_to_json("a: [1, 2\n", "bad.yaml"), rg::ValueError);
}

TEST_F(ExperimentTest, OmittedKeysTakeTheDefaultExperiment) {
  const auto e = rg::experiment::load(write("e.yaml", "fit: {epochs: 7}\n"));
  EXPECT_EQ(e["fit"]["epochs"], 7);
  EXPECT_EQ(e["fit"]["batch_size"], 128);  // from the default
  EXPECT_EQ(e["model"], "seed");
  EXPECT_EQ(e["data"]["dataset"], "fashion_mnist");
}

TEST_F(ExperimentTest, UnknownSectionsAreRefusedByName) {
  try {
    rg::experiment::load(write("e.yaml", "fitt: {epochs: 1}\n"));
    FAIL();
  } catch (const rg::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown section 'fitt'"), std::string::npos) << e.what();
  }
  EXPECT_EQ(rg::experiment::load(write("e.yaml", "search: {algorithm: tpe}\n"))["search"]["algorithm"], "tpe");
  EXPECT_THROW(rg::experiment::load((dir_ / "missing.yaml").string()), rg::IOError);
}

TEST_F(ExperimentTest, TheArticlesRecipeIsKeptAndAGivenSectionReplacesTheDefaults) {
  const auto article = rg::experiment::article_experiment();
  EXPECT_EQ(article["augmentation"]["rotation_range"], 10);
  EXPECT_EQ(article["augmentation"]["zoom_range"], 0.2);
  EXPECT_EQ(article["augmentation"]["horizontal_flip"], true);
  EXPECT_EQ(article["callbacks"][1]["class_name"], "ReduceLROnPlateau");
  // The main job's defaults: light augmentation, a cosine decay spanning its epochs, PreciseBatchNorm first.
  const auto defaults = rg::experiment::default_experiment();
  EXPECT_EQ(defaults["augmentation"], (nlohmann::json{{"horizontal_flip", true}}));
  EXPECT_EQ(defaults["compile"]["optimizer"]["learning_rate"]["decay_steps"], defaults["fit"]["epochs"].get<int>() * 422);
  EXPECT_EQ(defaults["callbacks"][0]["class_name"], "PreciseBatchNorm");
  // A given optimizer replaces the default's: SGD alone does not inherit its schedule.
  EXPECT_EQ(rg::experiment::load(write("e.yaml", "compile: {optimizer: {class_name: SGD}}\n"))["compile"]["optimizer"],
            (nlohmann::json{{"class_name", "SGD"}}));
  const auto replaced = rg::experiment::load(write("e.yaml", "augmentation: {vertical_flip: true}\n"));
  EXPECT_EQ(replaced["augmentation"], (nlohmann::json{{"vertical_flip", true}}));
  EXPECT_TRUE(rg::experiment::load(write("e.yaml", "augmentation: null\n"))["augmentation"].is_null());
}

TEST_F(ExperimentTest, BadAugmentationOptionsFailBeforeAnythingIsWritten) {
  // Each bad section, and the name its error must mention. The data files do not exist: the
  // augmentation section is checked before any data is read.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"augmentation: {rotation_rang: 10}\n", "rotation_rang"},
      {"augmentation: {zoom_range: -0.5}\n", "zoom_range"},
      {"augmentation: {fill_mode: mirror}\n", "fill_mode"}};
  for (const auto& [section, name] : cases) {
    const auto e = rg::experiment::load(write("e.yaml", "data: {dataset: {x: missing-x.idx, y: missing-y.idx}}\n" + section));
    try {
      rg::experiment::run(e, {.run_dir = (dir_ / "never").string(), .verbose = 0});
      FAIL() << section;
    } catch (const rg::ValueError& err) {
      EXPECT_NE(std::string(err.what()).find(name), std::string::npos) << err.what();
    }
    EXPECT_FALSE(fs::exists(dir_ / "never"));
  }
}

TEST_F(ExperimentTest, OnlyARunsOwnDirectoryIsResumedOrOverwritten) {
  // --overwrite removes an earlier run; a directory that merely holds a user's experiment.yaml is
  // not a run (no .regula-run marker) and is refused, not removed.
  const fs::path user_dir = dir_ / "mine";
  fs::create_directories(user_dir);
  std::ofstream(user_dir / "experiment.yaml") << "fit: {epochs: 1}\n";
  std::ofstream(user_dir / "notes.txt") << "mine";
  const auto e = rg::experiment::load(write("e.yaml", "data: {dataset: {x: missing-x.idx, y: missing-y.idx}}\n"));
  for (const auto existing : {rg::experiment::ExistingRun::overwrite, rg::experiment::ExistingRun::refuse}) {
    try {
      rg::experiment::run(e, {.run_dir = user_dir.string(), .existing = existing, .verbose = 0});
      ADD_FAILURE() << "a directory with a user's experiment.yaml was taken for a run";
    } catch (const rg::ValueError& err) {
      EXPECT_NE(std::string(err.what()).find("no regula run wrote"), std::string::npos) << err.what();
    }
  }
  EXPECT_TRUE(fs::exists(user_dir / "notes.txt"));
}

TEST_F(ExperimentTest, DataComesFromNpyCsvOrAnImageFolder) {
  // The same 40 two-class samples as .npy arrays, a CSV table and a folder per class; each run
  // trains on all 40 (validation_split 0) and names the source in nothing but the data section.
  rg::Rng rng(3);
  rg::Tensor x({40, 4, 4, 1}), y({40}), table({40, 17});
  for (int64_t i = 0; i < 40; ++i) {
    y[i] = static_cast<float>(i % 2);
    table[i * 17 + 16] = y[i];
    for (int64_t p = 0; p < 16; ++p) {
      x[i * 16 + p] = static_cast<float>(std::round(100.0 * y[i] + 50.0 * rng.uniform()));
      table[i * 17 + p] = x[i * 16 + p];
    }
    const fs::path folder = dir_ / "images" / (i % 2 ? "b" : "a");
    fs::create_directories(folder);
    rg::preprocessing::save_img((folder / (std::to_string(i) + ".png")).string(), x.slice_rows(i, i + 1).reshaped({4, 4, 1}),
                                {.scale = false});
  }
  rg::io::save_npy((dir_ / "x.npy").string(), x);
  rg::io::save_npy((dir_ / "y.npy").string(), y);
  std::vector<std::string> columns;
  for (int p = 0; p < 16; ++p) columns.push_back("p" + std::to_string(p));
  columns.push_back("label");
  rg::io::write_csv((dir_ / "table.csv").string(), table, columns);

  const std::string common = "model: {layers: [{class_name: Flatten}, {class_name: Dense, units: 2, activation: softmax}]}\n"
                             "fit: {epochs: 1, batch_size: 8}\naugmentation: null\ncallbacks: []\n";
  const std::vector<std::pair<std::string, rg::Shape>> sources = {
      {"{x: " + (dir_ / "x.npy").string() + ", y: " + (dir_ / "y.npy").string() + "}", rg::Shape{4, 4, 1}},
      {"{csv: " + (dir_ / "table.csv").string() + ", label_column: label}", rg::Shape{16}},
      {"{directory: " + (dir_ / "images").string() + ", image_size: [4, 4], color_mode: grayscale}", rg::Shape{4, 4, 1}}};
  for (const auto& [source, input_shape] : sources) {
    const auto e = rg::experiment::load(write("e.yaml", "data: {dataset: " + source + ", validation_split: 0.0}\n" + common));
    std::FILE* out = std::tmpfile();
    const auto result = rg::experiment::run(e, {.run_dir = (dir_ / "run").string(), .existing = rg::experiment::ExistingRun::overwrite, .verbose = 0, .out = out});
    std::rewind(out);
    char buf[4096] = {};
    const std::string printed(buf, std::fread(buf, 1, sizeof buf - 1, out));
    std::fclose(out);
    EXPECT_NE(printed.find("Training on 40 samples"), std::string::npos) << source << "\n" << printed;
    EXPECT_EQ(result.history.size(), 1u) << source;
  }
}

TEST_F(ExperimentTest, LayerListBuildsAKerasStyleModel) {
  const auto e = rg::experiment::load(write("e.yaml", R"(
model:
  layers:
    - {class_name: Conv2D, filters: 4, kernel_size: 3, padding: same, activation: relu}
    - {class_name: MaxPooling2D, pool_size: 2}
    - {class_name: Flatten}
    - class_name: Dense
      config: {units: 3, activation: softmax, kernel_regularizer: {l2: 0.01}}
)"));
  auto model = rg::experiment::build_model(e["model"], rg::Shape{6, 6, 1});
  // Conv2D 3*3*1*4 + 4 = 40; Dense (3*3*4)*3 + 3 = 111.
  EXPECT_EQ(model->count_params(), 40 + 111);
  EXPECT_EQ(model->output_shape(), rg::Shape({3}));
}

TEST_F(ExperimentTest, SeedModelBatchNormMomentumIsAnOption) {
  // Keras's BatchNormalization momentum (0.99) unless the experiment names another.
  const auto momenta = [](const nlohmann::json& section) {
    std::vector<double> out;
    auto model = rg::experiment::build_model(section, rg::Shape{28, 28, 1});
    for (const auto* layer : model->layers())
      if (layer->class_name() == "BatchNormalization") out.push_back(layer->get_config().at("momentum").get<double>());
    return out;
  };
  EXPECT_EQ(momenta({{"builtin", "seed"}}), std::vector<double>(3, 0.99));
  EXPECT_EQ(momenta({{"builtin", "seed"}, {"bn_momentum", 0.9}}), std::vector<double>(3, 0.9));
}

TEST_F(ExperimentTest, AugmentationLayersGoInFrontOfTheSeedModel) {
  // Keras's way: augmentation layers are the model's first layers, active only in training.
  const auto e = rg::experiment::load(write("e.yaml", R"(
model:
  builtin: seed
  augmentation_layers:
    - {class_name: RandomFlip, mode: horizontal}
    - {class_name: RandomTranslation, height_factor: 0.1, width_factor: 0.1}
)"));
  auto model = rg::experiment::build_model(e["model"], rg::Shape{28, 28, 1});
  auto plain = rg::experiment::build_model(nlohmann::json{{"builtin", "seed"}}, rg::Shape{28, 28, 1});
  EXPECT_EQ(model->count_params(), plain->count_params());
  std::vector<std::string> classes;
  for (const auto* layer : model->layers())
    if (layer->class_name() != "InputLayer") classes.push_back(layer->class_name());
  ASSERT_GE(classes.size(), 3u);
  EXPECT_EQ(classes[0], "RandomFlip");
  EXPECT_EQ(classes[1], "RandomTranslation");
  EXPECT_EQ(classes[2], "Conv2D");
  EXPECT_EQ(classes.size(), plain->layers().size() + 2 - (plain->layers()[0]->class_name() == "InputLayer"));

  const auto bad = rg::experiment::load(
      write("bad.yaml", "model: {builtin: seed, augmentation_layers: [{class_name: RandomFlip, mode: sideways}]}\n"));
  try {
    rg::experiment::build_model(bad["model"], rg::Shape{28, 28, 1});
    FAIL();
  } catch (const rg::ValueError& err) {
    const std::string m = err.what();
    EXPECT_NE(m.find("layers[0]"), std::string::npos) << m;
    EXPECT_NE(m.find("mode='sideways'"), std::string::npos) << m;
  }
}

TEST_F(ExperimentTest, MisspeltLayerOptionIsAnErrorListingTheAllowedOnes) {
  const auto e = rg::experiment::load(write("e.yaml", "model: {layers: [{class_name: Dense, unitz: 3}]}\n"));
  try {
    rg::experiment::build_model(e["model"], rg::Shape{4});
    FAIL();
  } catch (const rg::ValueError& err) {
    const std::string m = err.what();
    EXPECT_NE(m.find("model.layers[0]"), std::string::npos) << m;
    EXPECT_NE(m.find("'unitz'"), std::string::npos) << m;
    EXPECT_NE(m.find("units"), std::string::npos) << m;
  }
}

TEST_F(ExperimentTest, RunTrainsEvaluatesAndWritesTheRunDirectory) {
  const std::string file = small_experiment("fit: {epochs: 5, batch_size: 20}\n"
                                            "augmentation: {rotation_range: 5, zoom_range: 0.1}\n");
  const nlohmann::json experiment = rg::experiment::load(file);
  std::FILE* out = std::tmpfile();
  const auto result = rg::experiment::run(experiment, {.run_dir = (dir_ / "run").string(), .verbose = 0, .out = out});
  std::rewind(out);
  char buf[4096] = {};
  const std::string printed(buf, std::fread(buf, 1, sizeof buf - 1, out));
  std::fclose(out);

  EXPECT_EQ(result.history.size(), 5u);
  EXPECT_TRUE(result.history.contains("val_accuracy"));  // validation_split 0.2 from the default
  EXPECT_GT(result.test.at("accuracy"), 0.9);
  EXPECT_NE(printed.find("test_loss: "), std::string::npos) << printed;
  EXPECT_NE(printed.find(" - test_accuracy: "), std::string::npos) << printed;
  // The test set is evaluated on the kept model, the best checkpoint loaded back (the article's
  // load_model('best.h5') before evaluate): the same scores as that file's model.
  const std::string kept = (dir_ / "run" / "best.h5").string();
  EXPECT_NE(printed.find("Testing the kept model: the weights of " + kept), std::string::npos) << printed;
  auto best_model = rg::load_model(kept);
  rg::Tensor x_test = rg::io::idx_to_tensor(rg::io::read_idx_array((dir_ / "test-x.idx").string()), 255.0f);
  x_test = x_test.reshaped({x_test.dim(0), 6, 6, 1});
  const rg::Tensor y_test = rg::io::idx_to_tensor(rg::io::read_idx_array((dir_ / "test-y.idx").string()));
  const auto scores = best_model->evaluate(x_test, y_test, {.batch_size = 256, .verbose = 0});
  EXPECT_NEAR(scores.at("accuracy"), result.test.at("accuracy"), 1e-6);
  EXPECT_NEAR(scores.at("loss"), result.test.at("loss"), 1e-4);
  // log.csv: the default experiment's CSVLogger, whose relative file name lands in the run directory.
  // best.h5: its ModelCheckpoint (save_best_only on val_accuracy), also inside the run directory;
  // logs/train and logs/validation: its TensorBoard callback's event files.
  for (const char* name : {"experiment.yaml", "history.json", "history.csv", "test.json", "log.csv", "best.h5",
                           "logs/train", "logs/validation"})
    EXPECT_TRUE(fs::exists(dir_ / "run" / name)) << name;
  // The resolved experiment reads back to the same experiment.
  EXPECT_EQ(rg::config::read_yaml_file((dir_ / "run" / "experiment.yaml").string()), experiment);
  std::ifstream csv(dir_ / "run" / "history.csv");
  std::string header;
  std::getline(csv, header);
  // The default callbacks have no ReduceLROnPlateau, so no learning_rate column (Keras 3 logs it
  // only through that callback).
  EXPECT_EQ(header, "epoch,loss,accuracy,val_loss,val_accuracy");
}

TEST_F(ExperimentTest, CallbacksSectionRunsKerasCallbacks) {
  write_images("train", 100, 5);
  const std::string data = "data: {dataset: {x: " + (dir_ / "train-x.idx").string() + ", y: " +
                           (dir_ / "train-y.idx").string() + "}, validation_split: 0.2}\n";
  const std::string model = "model: {layers: [{class_name: Flatten}, {class_name: Dense, units: 2, activation: softmax}]}\n";
  // Keras EarlyStopping with patience 0 on a monitor that cannot improve after epoch 0 (the
  // learning rate is 0) stops at epoch 1 (stop needs epoch > 0 and wait >= patience).
  const std::string file = write("e.yaml", data + model +
                                               "compile: {optimizer: {class_name: SGD, learning_rate: 0.0}}\n"
                                               "fit: {epochs: 6, batch_size: 16, class_weight: balanced}\n"
                                               "callbacks:\n"
                                               "  - {class_name: EarlyStopping, monitor: val_loss, patience: 0}\n"
                                               "  - {class_name: CSVLogger, filename: epochs.csv}\n");
  std::FILE* out = std::tmpfile();
  const auto result = rg::experiment::run(rg::experiment::load(file), {.run_dir = (dir_ / "run").string(), .verbose = 0, .out = out});
  std::fclose(out);
  EXPECT_EQ(result.history.size(), 2u);
  EXPECT_TRUE(fs::exists(dir_ / "run" / "epochs.csv"));

  const std::string bad = write("bad.yaml", data + model + "callbacks: [{class_name: EarlyStopping, patiense: 3}]\n");
  try {
    rg::experiment::run(rg::experiment::load(bad), {.run_dir = (dir_ / "run2").string(), .verbose = 0});
    FAIL();
  } catch (const rg::ValueError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("callbacks[0]"), std::string::npos) << m;
    EXPECT_NE(m.find("'patiense'"), std::string::npos) << m;
  }
  EXPECT_FALSE(fs::exists(dir_ / "run2")) << "a bad experiment must fail before it writes anything";
}

TEST_F(ExperimentTest, PreciseBatchNormInAnExperimentRecalibratesAndReportsTheFinalEpochBothWays) {
  const std::string file = small_experiment(
      "fit: {epochs: 3, batch_size: 20}\n"
      "augmentation: {rotation_range: 5}\n"
      "callbacks:\n"
      "  - {class_name: PreciseBatchNorm, batches: 4, batch_size: 25}\n"
      "  - {class_name: ModelCheckpoint, filepath: best.h5, monitor: val_accuracy, save_best_only: true}\n");
  nlohmann::json experiment = rg::experiment::load(file);
  experiment["model"] = nlohmann::json::parse(R"({"layers": [{"class_name": "Flatten"}, {"class_name": "Dense", "units": 8},
      {"class_name": "BatchNormalization"}, {"class_name": "Activation", "activation": "relu"},
      {"class_name": "Dropout", "rate": 0.3}, {"class_name": "Dense", "units": 2, "activation": "softmax"}]})");
  std::FILE* out = std::tmpfile();
  rg::experiment::run(experiment, {.run_dir = (dir_ / "run").string(), .verbose = 0, .out = out});
  std::fclose(out);
  std::ifstream in(dir_ / "run" / "precise_batch_norm.json");
  const nlohmann::json written = nlohmann::json::parse(in);
  EXPECT_EQ(written.at("recalibrations"), 3);  // before each of the three validations
  EXPECT_EQ(written.at("batches"), 4);
  EXPECT_EQ(written.at("final_epoch").at("epoch"), 3);
  EXPECT_TRUE(written.at("final_epoch").at("recalibrated").contains("accuracy"));
  EXPECT_TRUE(written.at("final_epoch").at("moving_average").contains("accuracy"));
  std::ifstream report(dir_ / "run" / "report.html");
  const std::string html((std::istreambuf_iterator<char>(report)), std::istreambuf_iterator<char>());
  EXPECT_NE(html.find("recalibrated 3 times"), std::string::npos);
  EXPECT_NE(html.find("with the moving averages"), std::string::npos);

  // A misspelt option fails before anything runs.
  experiment["callbacks"] = nlohmann::json::parse(R"([{"class_name": "PreciseBatchNorm", "batchez": 4}])");
  EXPECT_THROW(rg::experiment::run(experiment, {.run_dir = (dir_ / "run2").string(), .verbose = 0}), rg::ValueError);
  EXPECT_FALSE(fs::exists(dir_ / "run2"));
}
