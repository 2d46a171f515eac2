#include "regula/training/experiment.hpp"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>

#include "regula/backend/backend.hpp"
#include "regula/callbacks/callback_factory.hpp"
#include "regula/data/idx.hpp"
#include "regula/datasets/fashion_mnist.hpp"
#include "regula/error.hpp"
#include "regula/io/config_reader.hpp"
#include "regula/io/yaml.hpp"
#include "regula/layers/input.hpp"
#include "regula/layers/layer_factory.hpp"
#include "regula/model/seed_model.hpp"
#include "regula/model/sequential.hpp"
#include "regula/training/class_weight.hpp"
#include "regula/utils/class_weight.hpp"
#include "regula/utils/random.hpp"

namespace regula::experiment {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::vector<std::string> kBuiltSections = {"seed", "threads", "data", "model", "compile", "fit", "callbacks"};
const std::vector<std::string> kLaterSections = {"augmentation", "search"};

struct Arrays {
  Tensor x_train, y_train, x_val, y_val, x_test, y_test;
  bool has_validation = false, has_test = false;
};

/// Image arrays read from IDX files are (N, H, W); Conv2D wants channels last: (N, H, W, 1).
Tensor with_channel_axis(Tensor x) {
  if (x.rank() == 3) return x.reshaped(Shape{x.dim(0), x.dim(1), x.dim(2), 1});
  return x;
}

/// IDX image and label files named by {x: …, y: …}.
struct XYFiles {
  std::string x, y;
};

XYFiles xy_files(const nlohmann::json& section, const std::string& where) {
  io::ConfigReader r(section, where);
  XYFiles f{r.get_string("x", ""), r.get_string("y", "")};
  r.expect_all_read();
  if (f.x.empty() || f.y.empty()) throw ValueError(where + ": give both 'x' and 'y' (IDX files, raw or .gz)");
  return f;
}

std::pair<Tensor, Tensor> read_xy(const XYFiles& files, double rescale) {
  Tensor x = with_channel_axis(data::read_idx(files.x));
  Tensor y = data::read_idx(files.y);
  if (rescale != 1.0)
    for (float& v : x.values()) v = static_cast<float>(v * rescale);
  return {x, y};
}

/// The `data` section, read and checked in full before anything is loaded.
struct DataSpec {
  std::string dataset;  // "fashion_mnist", or empty when `files` names the training arrays
  std::string path;
  XYFiles files;
  std::optional<XYFiles> validation, test;
  int64_t limit = 0;
  double rescale = 1.0;
  double validation_split = 0.0;
};

DataSpec data_spec(const json& data) {
  io::ConfigReader r(data, "experiment: data");
  DataSpec spec;
  spec.limit = r.get_int("limit", 0);
  if (spec.limit < 0) throw ValueError("experiment: data.limit=" + std::to_string(spec.limit) + " must be >= 0 (0 = all samples)");
  spec.rescale = r.get_double("rescale", 1.0);
  spec.path = r.get_string("path", "");
  spec.validation_split = r.get_double("validation_split", 0.0);
  const auto dataset = r.get_json("dataset");
  if (dataset && dataset->is_string()) {
    spec.dataset = dataset->get<std::string>();
    if (spec.dataset != "fashion_mnist")
      throw ValueError("experiment: data.dataset='" + spec.dataset + "' is not built in; use fashion_mnist or {x: …, y: …} IDX files");
  } else if (dataset && dataset->is_object()) {
    spec.files = xy_files(*dataset, "experiment: data.dataset");
  } else {
    throw ValueError("experiment: data.dataset must be fashion_mnist or {x: images.idx, y: labels.idx}");
  }
  if (const auto v = r.get_json("validation")) spec.validation = xy_files(*v, "experiment: data.validation");
  if (const auto t = r.get_json("test")) spec.test = xy_files(*t, "experiment: data.test");
  r.expect_all_read();
  return spec;
}

Arrays load_arrays(const DataSpec& spec) {
  Arrays a;
  if (!spec.dataset.empty()) {
    auto d = datasets::fashion_mnist::load_data({.path = spec.path, .limit = spec.limit});
    a.x_train = d.train.x;
    a.y_train = d.train.y;
    a.x_test = d.test.x;
    a.y_test = d.test.y;
    a.has_test = true;
  } else {
    std::tie(a.x_train, a.y_train) = read_xy(spec.files, spec.rescale);
    if (spec.limit > 0 && spec.limit < a.x_train.dim(0)) {
      a.x_train = a.x_train.slice_rows(0, spec.limit);
      a.y_train = a.y_train.slice_rows(0, spec.limit);
    }
  }
  if (spec.test) {
    std::tie(a.x_test, a.y_test) = read_xy(*spec.test, spec.rescale);
    a.has_test = true;
  }
  if (spec.validation) {
    std::tie(a.x_val, a.y_val) = read_xy(*spec.validation, spec.rescale);
    a.has_validation = true;
  } else if (spec.validation_split != 0.0) {
    // Keras's validation_split: the last fraction of the samples, before shuffling.
    const int64_t split = training::validation_split_index(a.x_train.dim(0), spec.validation_split);
    a.x_val = a.x_train.slice_rows(split, a.x_train.dim(0));
    a.y_val = a.y_train.slice_rows(split, a.y_train.dim(0));
    a.x_train = a.x_train.slice_rows(0, split);
    a.y_train = a.y_train.slice_rows(0, split);
    a.has_validation = true;
  }
  return a;
}

std::string timestamp_dir() {
  const std::time_t now = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "runs/%Y%m%d-%H%M%S", std::localtime(&now));
  return buf;
}

void write_text(const fs::path& path, const std::string& text) {
  // Temporary file, then rename: a run killed mid-write never leaves a half-written file.
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp);
    if (!out) throw IOError(tmp.string() + ": cannot write (check that the run directory is writable)");
    out << text;
  }
  fs::rename(tmp, path);
}

std::string history_csv(const callbacks::History& history) {
  std::string s = "epoch";
  for (const std::string& name : history.names()) s += "," + name;
  s += "\n";
  for (size_t e = 0; e < history.size(); ++e) {
    s += std::to_string(history.epoch()[e]);
    for (const std::string& name : history.names()) s += "," + json(history[name][e]).dump();
    s += "\n";
  }
  return s;
}

json history_json(const callbacks::History& history) {
  json h = {{"epoch", history.epoch()}, {"history", json::object()}};
  for (const std::string& name : history.names()) h["history"][name] = history[name];
  return h;
}

CompileOptions compile_options(const json& section) {
  io::ConfigReader r(section, "experiment: compile");
  CompileOptions o;
  const json optimizer = r.get_json("optimizer").value_or(json("adam"));
  if (optimizer.is_string())
    o.optimizer = optimizers::get(optimizer.get<std::string>());
  else if (optimizer.contains("config"))
    o.optimizer = optimizers::from_config(optimizer);
  else {
    // The flat form of experiment files: {class_name: Adam, learning_rate: 0.001}.
    json config = optimizer;
    config.erase("class_name");
    o.optimizer = optimizers::from_config({{"class_name", optimizer.value("class_name", "")}, {"config", config}});
  }
  o.loss = r.get_string("loss", "sparse_categorical_crossentropy");
  if (const auto metrics = r.get_json("metrics")) o.metrics = metrics->get<std::vector<std::string>>();
  r.expect_all_read();
  return o;
}

FitOptions fit_options(const json& section, int verbose, bool& balanced_class_weight) {
  io::ConfigReader r(section, "experiment: fit");
  FitOptions o;
  o.epochs = static_cast<int>(r.get_int("epochs", 2));
  o.batch_size = r.get_int("batch_size", 32);
  o.verbose = static_cast<int>(r.get_int("verbose", verbose));
  o.shuffle = r.get_bool("shuffle", true);
  o.initial_epoch = static_cast<int>(r.get_int("initial_epoch", 0));
  o.validation_freq = static_cast<int>(r.get_int("validation_freq", 1));
  o.steps_per_epoch = r.get_int("steps_per_epoch", 0);
  if (const auto cw = r.get_json("class_weight")) {
    if (cw->is_string()) {
      if (*cw != "balanced") throw ValueError("experiment: fit.class_weight must be 'balanced' or {class: weight}, got " + cw->dump());
      balanced_class_weight = true;  // resolved from the training labels once they are loaded
    } else if (cw->is_object()) {
      for (const auto& [cls, w] : cw->items()) o.class_weight[std::stoi(cls)] = w.get<double>();
    } else {
      throw ValueError("experiment: fit.class_weight must be 'balanced' or {class: weight}, got " + cw->dump());
    }
  }
  r.expect_all_read();
  return o;
}

}  // namespace

json default_experiment() {
  return {
      {"seed", 1},
      {"data", {{"dataset", "fashion_mnist"}, {"validation_split", 0.2}}},
      {"model", "seed"},
      {"compile",
       {{"optimizer", {{"class_name", "Adam"}, {"learning_rate", 0.001}}},
        {"loss", "sparse_categorical_crossentropy"},
        {"metrics", {"accuracy"}}}},
      {"fit", {{"epochs", 2}, {"batch_size", 128}}},
      // The article's callbacks.
      {"callbacks",
       {{{"class_name", "EarlyStopping"}, {"monitor", "val_accuracy"}, {"patience", 10}, {"mode", "max"}},
        {{"class_name", "ReduceLROnPlateau"},
         {"monitor", "val_accuracy"},
         {"factor", 0.1},
         {"patience", 7},
         {"min_delta", 1e-4},
         {"mode", "max"},
         {"verbose", 1}},
        {{"class_name", "ModelCheckpoint"},
         {"filepath", "best.h5"},
         {"monitor", "val_accuracy"},
         {"save_best_only", true},
         {"mode", "max"}},
        {{"class_name", "CSVLogger"}, {"filename", "log.csv"}}}},
  };
}

json merge(json base, const json& overrides) {
  if (!base.is_object() || !overrides.is_object()) return overrides;
  for (const auto& [key, value] : overrides.items())
    base[key] = base.contains(key) ? merge(base[key], value) : value;
  return base;
}

json load(const std::string& path) {
  json file = io::read_yaml_file(path);
  if (file.is_null()) file = json::object();
  if (!file.is_object()) throw ValueError(path + ": an experiment file is a mapping of sections (seed, data, model, compile, fit)");
  for (const auto& [key, value] : file.items()) {
    if (std::find(kLaterSections.begin(), kLaterSections.end(), key) != kLaterSections.end())
      throw ValueError(path + ": section '" + key + "' is not built yet in this version of regula (see README, \"Not built yet\")");
    if (std::find(kBuiltSections.begin(), kBuiltSections.end(), key) == kBuiltSections.end())
      throw ValueError(path + ": unknown section '" + key + "'; allowed: seed, threads, data, model, compile, fit, callbacks");
  }
  // A model given as a layer list replaces the default, it is not merged into it.
  json resolved = default_experiment();
  if (file.contains("model")) resolved.erase("model");
  if (file.contains("data") && file["data"].contains("validation")) resolved["data"].erase("validation_split");
  return merge(resolved, file);
}

std::unique_ptr<Model> build_model(const json& section, const Shape& input_shape) {
  if (section.is_string()) {
    if (section.get<std::string>() != "seed")
      throw ValueError("experiment: model '" + section.get<std::string>() + "' is not a built-in; use seed or {layers: [...]}");
    return models::seed_model({.input_shape = input_shape});
  }
  io::ConfigReader r(section, "experiment: model");
  const auto layer_list = r.get_json("layers");
  if (!layer_list || !layer_list->is_array() || layer_list->empty())
    throw ValueError("experiment: model must be 'seed' or {layers: [ {class_name: …, …}, … ]} with at least one layer");
  const std::vector<int64_t> shape = r.get_ints("input_shape", input_shape.dims());
  r.ignore({"name"});
  r.expect_all_read();
  auto model = std::make_unique<Sequential>(section.value("name", "sequential"));
  model->add(layers::Input(Shape(shape)));
  for (size_t i = 0; i < layer_list->size(); ++i)
    model->add(layers::layer_from_config((*layer_list)[i], "experiment: model.layers[" + std::to_string(i) + "]"));
  return model;
}

RunResult run(const json& experiment, const RunOptions& options) {
  const uint64_t seed = experiment.value("seed", 1);
  set_random_seed(seed);
  if (experiment.contains("threads")) set_num_threads(experiment["threads"].get<int>());
  // Every section is checked before the data is loaded, so a typo costs no waiting.
  const DataSpec data = data_spec(experiment.at("data"));
  CompileOptions compile = compile_options(experiment.at("compile"));
  bool balanced_class_weight = false;
  FitOptions fit = fit_options(experiment.at("fit"), options.verbose, balanced_class_weight);
  RunResult result;
  result.run_dir = options.run_dir.empty() ? timestamp_dir() : options.run_dir;
  std::vector<std::unique_ptr<callbacks::Callback>> callback_objects;
  const json callback_list = experiment.value("callbacks", json::array());
  if (!callback_list.is_array()) throw ValueError("experiment: callbacks must be a list of {class_name: …, …}");
  for (size_t i = 0; i < callback_list.size(); ++i) {
    callback_objects.push_back(callbacks::callback_from_config(callback_list[i], result.run_dir,
                                                               "experiment: callbacks[" + std::to_string(i) + "]"));
    fit.callbacks.push_back(callback_objects.back().get());
  }
  Arrays a = load_arrays(data);
  std::unique_ptr<Model> model = build_model(experiment.at("model"), a.x_train.shape().without_batch());
  model->compile(std::move(compile));
  if (a.has_validation) fit.validation_data = ValidationData{a.x_val, a.y_val};
  if (balanced_class_weight) fit.class_weight = utils::compute_class_weight("balanced", a.y_train);

  const fs::path dir(result.run_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IOError(result.run_dir + ": cannot create the run directory: " + ec.message());
  write_text(dir / "experiment.yaml", io::json_to_yaml(experiment));

  if (options.verbose > 0) model->summary(options.out);
  std::fprintf(options.out, "Training on %lld samples%s, %d threads\n", static_cast<long long>(a.x_train.dim(0)),
               a.has_validation ? (", validating on " + std::to_string(a.x_val.dim(0))).c_str() : "", num_threads());
  result.history = model->fit(a.x_train, a.y_train, fit);
  write_text(dir / "history.json", history_json(result.history).dump(2) + "\n");
  write_text(dir / "history.csv", history_csv(result.history));

  if (a.has_test) {
    result.test = model->evaluate(a.x_test, a.y_test, {.batch_size = 256, .verbose = 0});
    std::string line;
    json test_json = json::object();
    for (const auto& [name, value] : result.test) {
      line += (line.empty() ? "" : " - ") + std::string("test_") + name + ": " + callbacks::ProgbarLogger::format_value(value);
      test_json[name] = value;
    }
    std::fprintf(options.out, "%s\n", line.c_str());
    write_text(dir / "test.json", test_json.dump(2) + "\n");
  }
  std::fprintf(options.out, "Run directory: %s\n", result.run_dir.c_str());
  std::fflush(options.out);
  return result;
}

}  // namespace regula::experiment
