// One training of an experiment: the sections read and checked up front, then the model built,
// compiled and fitted (on augmented batches when the experiment augments), and the run directory
// written.

#include "src/experiment/experiment_training.hpp"

#include <ctime>
#include <filesystem>
#include <optional>

#include "regula/backend/context.hpp"
#include "regula/callbacks/model_checkpoint.hpp"
#include "regula/config/config_reader.hpp"
#include "regula/config/yaml.hpp"
#include "regula/error.hpp"
#include "regula/experiment/callback_factory.hpp"
#include "regula/experiment/experiment.hpp"
#include "regula/io/file_bytes.hpp"
#include "regula/model/model_file.hpp"
#include "regula/preprocessing/image_data_generator.hpp"
#include "regula/preprocessing/image_data_generator_config.hpp"
#include "regula/preprocessing/numpy_array_iterator.hpp"
#include "regula/utils/class_weight.hpp"

namespace regula::experiment {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

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
  config::ConfigReader r(section, "experiment: compile");
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
  config::ConfigReader r(section, "experiment: fit");
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

/// The callbacks of the experiment, new (with fresh state), relative files inside `run_dir`.
std::vector<std::unique_ptr<callbacks::Callback>> make_callbacks(const json& experiment, const std::string& run_dir) {
  const json list = experiment.value("callbacks", json::array());
  if (!list.is_array()) throw ValueError("experiment: callbacks must be a list of {class_name: …, …}");
  std::vector<std::unique_ptr<callbacks::Callback>> made;
  for (size_t i = 0; i < list.size(); ++i)
    made.push_back(experiment::callback_from_config(list[i], run_dir, "experiment: callbacks[" + std::to_string(i) + "]"));
  return made;
}

/// Checks the model section's form (the layers themselves are checked when the model is built).
void check_model_section(const json& section) {
  if (section.is_string() || section.is_object()) return;
  throw ValueError("experiment: model must be 'seed' or {layers: [...]} or {builtin: seed, …}, got " + section.dump());
}

}  // namespace

std::string default_run_dir(const std::string& prefix) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return "runs/" + prefix + stamp;
}

TrainingPlan plan_training(const json& experiment, int verbose) {
  TrainingPlan plan;
  plan.experiment = experiment;
  plan.data = data_spec(experiment.at("data"));
  check_model_section(experiment.at("model"));
  compile_options(experiment.at("compile"));
  plan.fit = fit_options(experiment.at("fit"), verbose, plan.balanced_class_weight);
  augmentation_of(experiment);
  make_callbacks(experiment, ".");
  return plan;
}

Training train(const TrainingPlan& plan, Arrays& a, const std::string& run_dir, int verbose, std::FILE* out) {
  const json& experiment = plan.experiment;
  std::vector<std::unique_ptr<callbacks::Callback>> callback_objects = make_callbacks(experiment, run_dir);
  std::optional<preprocessing::ImageDataGenerator> augmentation = augmentation_of(experiment);
  FitOptions fit = plan.fit;
  for (const auto& callback : callback_objects) fit.callbacks.push_back(callback.get());

  Training result;
  result.model = build_model(experiment.at("model"), a.x_train.shape().without_batch());
  result.model->compile(compile_options(experiment.at("compile")));
  if (augmentation) standardize_held_out(*augmentation, a);
  if (a.has_validation) fit.validation_data = ValidationData{a.x_val, a.y_val};
  if (plan.balanced_class_weight) fit.class_weight = utils::compute_class_weight("balanced", a.y_train);

  const fs::path dir(run_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IOError(run_dir + ": cannot create the run directory: " + ec.message());
  io::write_file_atomically((dir / "experiment.yaml").string(), config::json_to_yaml(experiment));

  if (verbose > 0) result.model->summary(out);
  std::fprintf(out, "Training on %lld samples%s%s, %d threads\n", static_cast<long long>(a.x_train.dim(0)),
               a.has_validation ? (", validating on " + std::to_string(a.x_val.dim(0))).c_str() : "",
               augmentation ? (", augmented as " + experiment.at("augmentation").dump()).c_str() : "", num_threads());
  std::fflush(out);
  if (augmentation)
    result.history = result.model->fit(
        augmentation->flow(a.x_train, a.y_train, {.batch_size = fit.batch_size, .shuffle = fit.shuffle}), fit);
  else
    result.history = result.model->fit(a.x_train, a.y_train, fit);
  for (const auto& callback : callback_objects) {
    const auto* checkpoint = dynamic_cast<const callbacks::ModelCheckpoint*>(callback.get());
    if (checkpoint != nullptr && checkpoint->options().save_best_only && !checkpoint->last_saved().empty())
      result.kept_checkpoint = checkpoint->last_saved();
  }
  if (!result.kept_checkpoint.empty()) regula::load_weights(*result.model, result.kept_checkpoint);
  io::write_file_atomically((dir / "history.json").string(), history_json(result.history).dump(2) + "\n");
  io::write_file_atomically((dir / "history.csv").string(), history_csv(result.history));
  return result;
}

}  // namespace regula::experiment
