// Keras legacy .h5 model files: save/load round trips (architecture, weights, optimizer state),
// the errors for bad files, and an independent read of our files with h5py.

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "regula/error.hpp"
#include "regula/io/hdf5_file.hpp"
#include "regula/layers/dense.hpp"
#include "regula/layers/input.hpp"
#include "regula/layers/merge.hpp"
#include "regula/model/model.hpp"
#include "regula/model/model_config.hpp"
#include "regula/model/model_file.hpp"
#include "regula/model/seed_model.hpp"
#include "regula/model/sequential.hpp"
#include "regula/utils/random.hpp"

namespace rg = regula;
namespace fs = std::filesystem;

namespace {

fs::path scratch_dir() {
  fs::path dir = fs::temp_directory_path() / ("regula_model_file_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

std::string tmp(const std::string& name) { return (scratch_dir() / name).string(); }

rg::Tensor random_tensor(rg::Shape shape, uint64_t seed) {
  rg::Rng rng(seed);
  rg::Tensor t(std::move(shape));
  for (int64_t i = 0; i < t.size(); ++i) t[i] = static_cast<float>(rng.normal());
  return t;
}

// Two branches merged by Add: exercises inbound_nodes with a merge.
std::unique_ptr<rg::Model> small_functional() {
  auto input = rg::layers::Input({4});
  auto a = rg::layers::Dense(6, {.activation = "relu"})(input);
  auto b = rg::layers::Dense(6, {.activation = "tanh"})(input);
  auto sum = rg::layers::Add()({a, b});
  auto out = rg::layers::Dense(3, {.activation = "softmax"})(sum);
  return std::make_unique<rg::Model>(input, out, "small");
}

void expect_bitwise_equal(const rg::Tensor& a, const rg::Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), static_cast<size_t>(a.size()) * sizeof(float)), 0);
}

void expect_weights_equal(const rg::Model& a, const rg::Model& b) {
  const auto wa = a.get_weights(), wb = b.get_weights();
  ASSERT_EQ(wa.size(), wb.size());
  for (size_t i = 0; i < wa.size(); ++i) expect_bitwise_equal(wa[i], wb[i]);
}

TEST(ModelFile, FunctionalRoundTripPredictsBitwiseEqual) {
  auto model = small_functional();
  const std::string path = tmp("functional.h5");
  rg::save_model(*model, path);
  auto loaded = rg::load_model(path);
  EXPECT_EQ(loaded->name(), "small");
  ASSERT_EQ(loaded->layers().size(), model->layers().size());
  for (size_t i = 0; i < model->layers().size(); ++i) {
    EXPECT_EQ(loaded->layers()[i]->name(), model->layers()[i]->name());
    EXPECT_EQ(loaded->layers()[i]->class_name(), model->layers()[i]->class_name());
  }
  expect_weights_equal(*model, *loaded);
  const rg::Tensor x = random_tensor({5, 4}, 7);
  expect_bitwise_equal(model->predict(x), loaded->predict(x));
  EXPECT_FALSE(loaded->compiled());
}

TEST(ModelFile, SeedModelRoundTripPredictsBitwiseEqual) {
  auto model = rg::models::seed_model();
  const std::string path = tmp("seed.hdf5");
  rg::save_model(*model, path);
  auto loaded = rg::load_model(path);
  EXPECT_EQ(loaded->count_params(), model->count_params());
  EXPECT_EQ(loaded->count_trainable_params(), model->count_trainable_params());
  expect_weights_equal(*model, *loaded);
  const rg::Tensor x = random_tensor({3, 28, 28, 1}, 11);
  expect_bitwise_equal(model->predict(x), loaded->predict(x));
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(ModelFile, TheSameModelSavedTwiceGivesTheSameBytes) {
  // HDF5 stores objects' creation times unless told not to; regula's files leave them out, so a
  // resumed run's checkpoints can equal the uninterrupted run's byte for byte.
  auto model = rg::models::seed_model();
  rg::save_model(*model, tmp("first.h5"));
  ::sleep(1);  // the times HDF5 would store have a resolution of one second
  rg::save_model(*model, tmp("second.h5"));
  const std::string first = file_bytes(tmp("first.h5"));
  EXPECT_GT(first.size(), 1000u);
  EXPECT_TRUE(first == file_bytes(tmp("second.h5")));
}

TEST(ModelFile, SequentialStaysSequential) {
  rg::Sequential model("seq");
  model.add(rg::layers::Input({3}));
  model.add(rg::layers::Dense(4, {.activation = "relu"}));
  model.add(rg::layers::Dense(2));
  const std::string path = tmp("seq.h5");
  rg::save_model(model, path);
  auto loaded = rg::load_model(path);
  EXPECT_NE(dynamic_cast<rg::Sequential*>(loaded.get()), nullptr);
  const rg::Tensor x = random_tensor({4, 3}, 3);
  expect_bitwise_equal(model.predict(x), loaded->predict(x));
}

TEST(ModelFile, WeightsOnlyRoundTripIntoAFreshModel) {
  auto model = small_functional();
  const std::string path = tmp("w.weights.h5");
  rg::save_weights(*model, path);
  auto other = small_functional();  // other default names (dense_3, …): matched by order, as Keras
  rg::load_weights(*other, path);
  expect_weights_equal(*model, *other);
  // A full model file also serves load_weights.
  const std::string full = tmp("full.h5");
  rg::save_model(*model, full);
  auto third = small_functional();
  rg::load_weights(*third, full);
  expect_weights_equal(*model, *third);
}

void check_optimizer_round_trip(rg::optimizers::OptimizerPtr optimizer, const std::string& file) {
  SCOPED_TRACE(file);
  auto model = small_functional();
  const std::string name = optimizer->name();
  const double lr = optimizer->learning_rate();
  model->compile({.optimizer = optimizer, .loss = "sparse_categorical_crossentropy", .metrics = {"accuracy"}});
  const rg::Tensor x = random_tensor({8, 4}, 5);
  rg::Tensor y({8});
  for (int64_t i = 0; i < 8; ++i) y[i] = static_cast<float>(i % 3);
  model->train_on_batch(x, y);
  model->train_on_batch(x, y);
  const std::string path = tmp(file);
  rg::save_model(*model, path, 2);
  auto loaded = rg::load_model(path);
  ASSERT_TRUE(loaded->compiled());
  EXPECT_EQ(loaded->optimizer().name(), name);
  EXPECT_EQ(loaded->optimizer().iterations(), 2);
  EXPECT_DOUBLE_EQ(loaded->optimizer().learning_rate(), lr);
  EXPECT_EQ(rg::saved_epoch(path), 2);
  model->train_on_batch(x, y);
  loaded->train_on_batch(x, y);
  expect_weights_equal(*model, *loaded);
  EXPECT_EQ(loaded->optimizer().iterations(), 3);
}

TEST(ModelFile, OptimizerStateRoundTripContinuesTrainingIdentically) {
  check_optimizer_round_trip(rg::optimizers::Adam({.learning_rate = 0.01, .amsgrad = true}), "adam.h5");
  check_optimizer_round_trip(rg::optimizers::SGD({.learning_rate = 0.05, .momentum = 0.9, .nesterov = true}), "sgd.h5");
  check_optimizer_round_trip(rg::optimizers::RMSprop({.momentum = 0.5, .centered = true}), "rmsprop.h5");
}

TEST(ModelConfig, ModelFromConfigRebuildsTheArchitectureThatModelConfigDescribes) {
  // keras.models.model_from_json(model.to_json()) gives the same architecture (new weights).
  const auto model = small_functional();
  const nlohmann::json config = rg::model_config(*model);
  const auto rebuilt = rg::model_from_config(config, "test");
  EXPECT_EQ(rg::model_config(*rebuilt), config);
  EXPECT_EQ(rebuilt->count_params(), model->count_params());

  // A layer whose inbound layer is not defined before it is refused, naming where and the layer.
  nlohmann::json broken = config;
  auto& layer_list = broken["config"]["layers"];
  layer_list.erase(layer_list.begin() + 1);
  try {
    rg::model_from_config(broken, "experiment: model");
    FAIL() << "a config with a missing inbound layer was accepted";
  } catch (const rg::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("experiment: model.layers["), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("is not defined before it"), std::string::npos) << e.what();
  }
}

TEST(ModelFile, RejectsBadExtensions) {
  auto model = small_functional();
  EXPECT_THROW(rg::save_model(*model, tmp("m.keras")), rg::ValueError);
  EXPECT_THROW(rg::save_weights(*model, tmp("m.txt")), rg::ValueError);
  EXPECT_THROW(rg::load_model(tmp("m.json")), rg::ValueError);
}

TEST(ModelFile, MissingCorruptAndTruncatedFilesAreIOErrorsNamingTheFile) {
  const std::string missing = tmp("missing.h5");
  try {
    rg::load_model(missing);
    FAIL() << "no error";
  } catch (const rg::IOError& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  const std::string garbage = tmp("garbage.h5");
  std::ofstream(garbage) << "this is not an HDF5 file";
  EXPECT_THROW(rg::load_model(garbage), rg::IOError);

  auto model = rg::models::seed_model();
  const std::string good = tmp("good.h5");
  rg::save_model(*model, good);
  const std::string cut = tmp("cut.h5");
  fs::copy_file(good, cut, fs::copy_options::overwrite_existing);
  fs::resize_file(cut, fs::file_size(good) / 2);
  try {
    auto loaded = rg::load_model(cut);
    FAIL() << "a truncated file loaded";
  } catch (const rg::IOError& e) {
    EXPECT_NE(std::string(e.what()).find(cut), std::string::npos) << e.what();
  }
}

// Writes a regula-format file with a hand-made model_config.
void write_config_file(const std::string& path, const std::string& config, const std::string& version = "1") {
  rg::io::Hdf5File f = rg::io::Hdf5File::create(path);
  f.set_attr("regula_format_version", version);
  f.set_attr("model_config", config);
  f.create_group("model_weights").set_attr("layer_names", std::vector<std::string>{});
  f.close();
}

TEST(ModelFile, UnknownLayerClassIsAValueError) {
  const std::string path = tmp("unknown.h5");
  write_config_file(path, R"({"class_name": "Functional", "config": {"name": "m", "layers": [
      {"class_name": "InputLayer", "config": {"name": "in", "batch_shape": [null, 3]}, "name": "in", "inbound_nodes": []},
      {"class_name": "Frobnicate", "config": {"name": "f"}, "name": "f", "inbound_nodes": [[["in", 0, 0, {}]]]}],
      "input_layers": [["in", 0, 0]], "output_layers": [["f", 0, 0]]}})");
  try {
    rg::load_model(path);
    FAIL() << "no error";
  } catch (const rg::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("Frobnicate"), std::string::npos) << e.what();
  }
}

TEST(ModelFile, WrongFormatVersionFailsLoudly) {
  const std::string path = tmp("v2.h5");
  write_config_file(path, "{}", "2");
  try {
    rg::load_model(path);
    FAIL() << "no error";
  } catch (const rg::IOError& e) {
    EXPECT_NE(std::string(e.what()).find("regula_format_version"), std::string::npos) << e.what();
  }
}

TEST(ModelFile, WeightsThatDoNotFitAreShapeErrorsAndChangeNothing) {
  auto model = small_functional();
  const std::string path = tmp("fit.weights.h5");
  rg::save_weights(*model, path);
  auto input = rg::layers::Input({4});
  auto a = rg::layers::Dense(6, {.activation = "relu"})(input);
  auto b = rg::layers::Dense(6, {.activation = "tanh"})(input);
  auto sum = rg::layers::Add()({a, b});
  auto out = rg::layers::Dense(5, {.activation = "softmax", .name = "wide_out"})(sum);  // 5 classes, not 3
  rg::Model other(input, out);
  const auto before = other.get_weights();
  try {
    rg::load_weights(other, path);
    FAIL() << "no error";
  } catch (const rg::ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("wide_out"), std::string::npos) << msg;
    EXPECT_NE(msg.find("kernel"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(6, 5)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(6, 3)"), std::string::npos) << msg;
  }
  const auto after = other.get_weights();
  for (size_t i = 0; i < before.size(); ++i) expect_bitwise_equal(before[i], after[i]);
}

TEST(ModelFile, WritesAreAtomic) {
  auto model = small_functional();
  const fs::path dir = scratch_dir() / "atomic";
  fs::create_directories(dir);
  rg::save_model(*model, (dir / "m.h5").string());
  rg::save_weights(*model, (dir / "m.weights.h5").string());
  for (const auto& entry : fs::directory_iterator(dir))
    EXPECT_EQ(entry.path().string().find(".tmp-"), std::string::npos) << entry.path();
  // A failed write (folder missing) leaves nothing behind.
  EXPECT_THROW(rg::save_model(*model, (dir / "nope" / "m.h5").string()), rg::IOError);
}

TEST(ModelFile, AFullDiskIsAnIOErrorThatKeepsThePreviousFileAndExitsCleanly) {
  // The disk fills while a checkpoint is written: a file size limit (RLIMIT_FSIZE) makes writes
  // past 100 KB fail as ENOSPC would. In a child process, so that the limit and HDF5's library
  // shutdown at exit are its own: the save must throw IOError, leave the earlier file as it was
  // and no temporary behind, and the process must then exit normally.
  auto model = rg::models::seed_model();  // about 6.7 MB of weights
  const fs::path dir = scratch_dir() / "full";
  fs::create_directories(dir);
  const std::string path = (dir / "best.h5").string();
  auto small = small_functional();
  rg::save_model(*small, path);
  const std::string before = file_bytes(path);
  std::fflush(nullptr);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{100 * 1024, 100 * 1024};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    int code = 3;
    try {
      rg::save_model(*model, path);
      code = 2;  // the write should have failed
    } catch (const rg::IOError& e) {
      code = std::string(e.what()).find(path) != std::string::npos ? 0 : 4;
    } catch (...) {
      code = 5;
    }
    std::exit(code);  // runs HDF5's shutdown (atexit), as the CLI's exit does
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died of signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2: no error; 3: none reached; 4: the message lacks the path; 5: another error";
  EXPECT_TRUE(file_bytes(path) == before);
  for (const auto& entry : fs::directory_iterator(dir))
    EXPECT_EQ(entry.path().string().find(".tmp-"), std::string::npos) << entry.path();
}

// h5py reads our file independently: layer names, weight names, shapes and sums must match.
TEST(ModelFile, H5pyReadsTheSameLayout) {
  if (std::system("/usr/bin/python3 -c 'import h5py' > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "h5py is not installed for /usr/bin/python3 (apt-get install python3-h5py)";
  auto model = small_functional();
  model->compile({.optimizer = "adam", .loss = "sparse_categorical_crossentropy"});
  const std::string path = tmp("h5py.h5");
  rg::save_model(*model, path);
  const std::string script = tmp("read.py");
  std::ofstream(script) << R"(import sys, json, h5py, numpy as np
def s(v): return v.decode() if isinstance(v, bytes) else str(v)
with h5py.File(sys.argv[1], "r") as f:
    print("class", json.loads(f.attrs["model_config"])["class_name"])
    print("version", s(f.attrs["regula_format_version"]))
    g = f["model_weights"]
    for layer in g.attrs["layer_names"]:
        layer = s(layer)
        for w in g[layer].attrs["weight_names"]:
            d = np.asarray(g[layer][s(w)], dtype=np.float64)
            print("w", layer, s(w), "x".join(str(n) for n in d.shape), repr(float(d.sum())))
    print("opt", " ".join(s(n) for n in f["optimizer_weights"].attrs["weight_names"]))
)";
  const std::string cmd = "/usr/bin/python3 " + script + " " + path + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe)) output += buf;
  ASSERT_EQ(::pclose(pipe), 0) << output;

  std::ostringstream expected_head;
  expected_head << "class Functional\nversion 1\n";
  EXPECT_EQ(output.substr(0, expected_head.str().size()), expected_head.str()) << output;
  std::istringstream lines(output);
  std::string line;
  size_t layer_index = 0, weight_index = 0, checked = 0;
  std::vector<const rg::layers::Layer*> with_weights;
  for (const rg::layers::Layer* l : model->layers())
    if (!l->weights().empty()) with_weights.push_back(l);
  while (std::getline(lines, line)) {
    std::istringstream in(line);
    std::string tag;
    in >> tag;
    if (tag == "opt") {
      EXPECT_NE(line.find("Adam/iterations:0"), std::string::npos) << line;
      continue;
    }
    if (tag != "w") continue;
    std::string layer, weight, shape;
    double sum = 0;
    in >> layer >> weight >> shape >> sum;
    ASSERT_LT(layer_index, with_weights.size()) << output;
    const rg::layers::Layer& l = *with_weights[layer_index];
    const rg::layers::Weight& w = l.weights()[weight_index];
    EXPECT_EQ(layer, l.name());
    EXPECT_EQ(weight, l.name() + "/" + w.name + ":0");
    std::string dims;
    for (int64_t d : w.value.shape().dims()) dims += (dims.empty() ? "" : "x") + std::to_string(d);
    EXPECT_EQ(shape, dims);
    double expected = 0;
    for (float v : w.value.values()) expected += v;
    EXPECT_NEAR(sum, expected, 1e-9 * (1 + std::fabs(expected)));
    ++checked;
    if (++weight_index == l.weights().size()) {
      weight_index = 0;
      ++layer_index;
    }
  }
  EXPECT_EQ(checked, model->get_weights().size()) << output;
}

}  // namespace
