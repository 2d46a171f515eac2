#include "regula/training/experiment.hpp"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>

#include "regula/backend/backend.hpp"
#include "regula/callbacks/callback_factory.hpp"
#include "regula/error.hpp"
#include "regula/io/config_reader.hpp"
#include "regula/io/yaml.hpp"
#include "regula/layers/input.hpp"
#include "regula/layers/layer_factory.hpp"
#include "regula/model/seed_model.hpp"
#include "regula/model/sequential.hpp"
#include "regula/preprocessing/image_data_generator.hpp"
#include "regula/preprocessing/image_data_generator_config.hpp"
#include "regula/preprocessing/numpy_array_iterator.hpp"
#include "regula/training/class_weight.hpp"
#include "regula/utils/class_weight.hpp"
#include "regula/utils/random.hpp"
#include "src/training/experiment_data.hpp"

namespace regula::experiment {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::vector<std::string> kBuiltSections = {"seed", "threads", "data", "model", "compile", "fit", "augmentation", "callbacks"};
const std::vector<std::string> kLaterSections = {"search"};

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

/// The experiment's augmentation, or nothing when the section is absent, null or empty.
std::optional<preprocessing::ImageDataGenerator> augmentation_of(const json& experiment) {
  const auto it = experiment.find("augmentation");
  if (it == experiment.end() || it->is_null() || (it->is_object() && it->empty())) return std::nullopt;
  return preprocessing::ImageDataGenerator(
      preprocessing::image_data_generator_options_from_config(*it, "experiment: augmentation"));
}

/// Fits the featurewise statistics on the training images, and standardizes the validation and
/// test images as the training batches will be (rescale, centering, normalization), since the
/// generator only sees the training data. (Copies: the arrays may share the data set's storage.)
void standardize_held_out(preprocessing::ImageDataGenerator& generator, Arrays& a) {
  const preprocessing::ImageDataGeneratorOptions& o = generator.options();
  if (o.featurewise_center || o.featurewise_std_normalization) generator.fit(a.x_train);
  if (!(o.rescale != 0.0 || o.samplewise_center || o.samplewise_std_normalization || o.featurewise_center ||
        o.featurewise_std_normalization || o.preprocessing_function))
    return;
  if (a.has_validation) {
    a.x_val = a.x_val.clone();
    generator.standardize(a.x_val);
  }
  if (a.has_test) {
    a.x_test = a.x_test.clone();
    generator.standardize(a.x_test);
  }
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
      // The article's augmentation.
      {"augmentation",
       {{"rotation_range", 10},
        {"width_shift_range", 0.1},
        {"height_shift_range", 0.1},
        {"zoom_range", 0.2},
        {"horizontal_flip", true}}},
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
      throw ValueError(path + ": unknown section '" + key + "'; allowed: seed, threads, data, model, compile, fit, augmentation, callbacks");
  }
  // A model given as a layer list replaces the default, it is not merged into it; so does an
  // augmentation section (null or {} turns augmentation off).
  json resolved = default_experiment();
  if (file.contains("model")) resolved.erase("model");
  if (file.contains("augmentation")) resolved.erase("augmentation");
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
  std::optional<preprocessing::ImageDataGenerator> augmentation = augmentation_of(experiment);
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
  if (augmentation) standardize_held_out(*augmentation, a);
  if (a.has_validation) fit.validation_data = ValidationData{a.x_val, a.y_val};
  if (balanced_class_weight) fit.class_weight = utils::compute_class_weight("balanced", a.y_train);

  const fs::path dir(result.run_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IOError(result.run_dir + ": cannot create the run directory: " + ec.message());
  write_text(dir / "experiment.yaml", io::json_to_yaml(experiment));

  if (options.verbose > 0) model->summary(options.out);
  std::fprintf(options.out, "Training on %lld samples%s%s, %d threads\n", static_cast<long long>(a.x_train.dim(0)),
               a.has_validation ? (", validating on " + std::to_string(a.x_val.dim(0))).c_str() : "",
               augmentation ? (", augmented as " + experiment.at("augmentation").dump()).c_str() : "", num_threads());
  if (augmentation)
    result.history = model->fit(augmentation->flow(a.x_train, a.y_train, {.batch_size = fit.batch_size, .shuffle = fit.shuffle}), fit);
  else
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


void write_augmentation_preview(const json& experiment, const std::string& path, int64_t samples,
                                const preprocessing::AugmentationPreviewOptions& options) {
  if (samples < 1) throw ValueError("augment-preview: samples=" + std::to_string(samples) + " must be >= 1");
  set_random_seed(experiment.value("seed", 1));
  const std::optional<preprocessing::ImageDataGenerator> augmentation = augmentation_of(experiment);
  if (!augmentation) throw ValueError("augment-preview: the experiment has no augmentation section (it is null or empty)");
  DataSpec data = data_spec(experiment.at("data"));
  data.limit = samples;
  data.validation_split = 0.0;
  const Arrays a = load_arrays(data);
  preprocessing::save_augmentation_preview(path, *augmentation, a.x_train.slice_rows(0, std::min(samples, a.x_train.dim(0))),
                                           options);
}

}  // namespace regula::experiment
