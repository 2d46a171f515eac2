// An experiment's sections read once into a typed plan: the model recipe, the compile options,
// the fit options, the augmentation and the callback recipes.

#include "src/experiment/experiment_plan.hpp"

#include "regula/backend/context.hpp"
#include "regula/config/config_reader.hpp"
#include "regula/config/registry.hpp"
#include "regula/error.hpp"
#include "regula/layers/layer_factory.hpp"
#include "regula/losses/loss.hpp"
#include "regula/model/model_config.hpp"
#include "regula/preprocessing/image_data_generator_config.hpp"

namespace regula::experiment {
namespace {

using nlohmann::json;

/// Each layer of `list` in Keras's {class_name, config} form for model_from_config, its class
/// checked (its options are checked when the model is built: making a layer draws its name and
/// random stream, which belong to the training).
json checked_layers(const json& list, const std::string& where) {
  const config::RegistryOptions form{.kind = "layer", .example = "{class_name: Dense, units: 10}"};
  json layers = json::array();
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string here = where + "[" + std::to_string(i) + "]";
    const config::ClassConfig layer = config::read_class_config(list[i], form, here);
    config::resolve_class_name(layer.class_name, layers::known_layer_classes(), form, here);
    layers.push_back({{"class_name", layer.class_name}, {"config", layer.options}});
  }
  return layers;
}

/// `{builtin: seed, conv_dropout: …, dense_dropout: …, activity_l2: …, bn_momentum: …, augmentation_layers: […]}`:
/// the seed model with its options (models::SeedModelOptions), so that a search can tune them,
/// and augmentation layers (RandomFlip, RandomTranslation, …) put in front of it.
ModelRecipe builtin_recipe(const json& section) {
  config::ConfigReader r(section, "experiment: model");
  const std::string name = r.get_string("builtin", "");
  if (name != "seed") throw ValueError("experiment: model.builtin '" + name + "' is not a built-in; the built-in is 'seed'");
  ModelRecipe recipe;
  if (r.has("input_shape")) recipe.input_shape = Shape(r.get_ints("input_shape", {}));
  models::SeedModelOptions& o = recipe.seed;
  o.classes = r.get_int("classes", o.classes);
  o.conv_dropout = r.get_double("conv_dropout", o.conv_dropout);
  o.dense_dropout = r.get_double("dense_dropout", o.dense_dropout);
  o.activity_l2 = r.get_double("activity_l2", o.activity_l2);
  o.bn_momentum = r.get_double("bn_momentum", o.bn_momentum);
  if (const auto list = r.get_json("augmentation_layers")) {
    if (!list->is_array())
      throw ValueError("experiment: model.augmentation_layers must be a list of layers, e.g. "
                       "[{class_name: RandomFlip, mode: horizontal}], got " + list->dump());
    recipe.augmentation_layers = checked_layers(*list, "experiment: model.augmentation_layers");
  }
  r.expect_all_read();
  return recipe;
}

/// `{layers: [...], input_shape, name}`: each layer kept in Keras's {class_name, config} form for
/// model_from_config, its class checked here (its options are checked when the model is built:
/// making a layer draws its name and random stream, which belong to the training).
ModelRecipe layers_recipe(const json& section) {
  config::ConfigReader r(section, "experiment: model");
  const auto layer_list = r.get_json("layers");
  if (!layer_list || !layer_list->is_array() || layer_list->empty())
    throw ValueError("experiment: model must be 'seed' or {layers: [ {class_name: …, …}, … ]} with at least one layer");
  ModelRecipe recipe;
  recipe.kind = ModelRecipe::Kind::layers;
  if (r.has("input_shape")) recipe.input_shape = Shape(r.get_ints("input_shape", {}));
  recipe.name = r.get_string("name", recipe.name);
  r.expect_all_read();
  recipe.layers = checked_layers(*layer_list, "experiment: model.layers");
  return recipe;
}

CompileRecipe compile_recipe(const json& section) {
  config::ConfigReader r(section, "experiment: compile");
  CompileRecipe recipe;
  recipe.optimizer = optimizers::from_config(r.get_json("optimizer").value_or(json("adam")), "experiment: compile.optimizer");
  recipe.loss = r.get_string("loss", recipe.loss);
  if (const auto metrics = r.get_json("metrics")) recipe.metrics = metrics->get<std::vector<std::string>>();
  r.expect_all_read();
  losses::get(recipe.loss);  // an unknown loss is an error before any data is loaded
  return recipe;
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
std::optional<preprocessing::ImageDataGeneratorOptions> augmentation_of(const json& experiment) {
  const auto it = experiment.find("augmentation");
  if (it == experiment.end() || it->is_null() || (it->is_object() && it->empty())) return std::nullopt;
  const preprocessing::ImageDataGeneratorOptions options =
      preprocessing::image_data_generator_options_from_config(*it, "experiment: augmentation");
  (void)preprocessing::ImageDataGenerator(options);  // the generator's own checks of its options
  return options;
}

std::vector<CallbackRecipe> callback_recipes(const json& experiment) {
  const json list = experiment.value("callbacks", json::array());
  if (!list.is_array()) throw ValueError("experiment: callbacks must be a list of {class_name: …, …}");
  std::vector<CallbackRecipe> recipes;
  for (size_t i = 0; i < list.size(); ++i)
    recipes.push_back(callback_recipe_from_config(list[i], "experiment: callbacks[" + std::to_string(i) + "]"));
  return recipes;
}

}  // namespace

std::unique_ptr<Model> ModelRecipe::build(const Shape& data_input_shape) const {
  const Shape shape = input_shape.value_or(data_input_shape);
  json model_layers = layers;
  std::string model_name = name;
  if (kind == Kind::seed) {
    models::SeedModelOptions options = seed;
    options.input_shape = shape;
    std::unique_ptr<Model> model = models::seed_model(options);
    if (augmentation_layers.empty()) return model;
    // The seed model's own layers behind the augmentation layers, through its configuration.
    const json config = model_config(*model);
    model_name = config.at("config").at("name").get<std::string>();
    model_layers = augmentation_layers;
    for (const json& layer : config.at("config").at("layers"))
      if (layer.at("class_name") != "InputLayer") model_layers.push_back(layer);
  }
  json batch_shape = json::array({nullptr});
  for (const int64_t d : shape.dims()) batch_shape.push_back(d);
  return model_from_config({{"class_name", "Sequential"},
                            {"config", {{"name", model_name}, {"layers", model_layers}, {"build_input_shape", batch_shape}}}},
                           "experiment: model");
}

ModelRecipe model_recipe(const json& section) {
  if (section.is_string()) {
    if (section.get<std::string>() != "seed")
      throw ValueError("experiment: model '" + section.get<std::string>() + "' is not a built-in; use seed or {layers: [...]}");
    return {};
  }
  if (!section.is_object())
    throw ValueError("experiment: model must be 'seed' or {layers: [...]} or {builtin: seed, …}, got " + section.dump());
  return section.contains("builtin") ? builtin_recipe(section) : layers_recipe(section);
}

CompileOptions CompileRecipe::options() const {
  return {.optimizer = optimizers::fresh_copy(*optimizer), .loss = loss, .metrics = metrics};
}

bool CompileRecipe::classifies() const { return losses::get(loss)->is_classification(); }

TrainingPlan plan_training(const json& experiment, int verbose) {
  TrainingPlan plan;
  plan.experiment = experiment;
  plan.seed = experiment.value("seed", uint64_t{1});
  if (experiment.contains("threads")) {
    const json& threads = experiment["threads"];
    if (!threads.is_number_integer() || threads.get<int64_t>() < 1 || threads.get<int64_t>() > backend::kMaxThreads)
      throw ValueError("experiment: threads=" + threads.dump() + " is not allowed; allowed: an integer from 1 to " +
                       std::to_string(backend::kMaxThreads));
    plan.threads = threads.get<int>();
  }
  if (experiment.contains("dtype_policy") && !experiment["dtype_policy"].is_null())
    plan.dtype_policy = mixed_precision::DTypePolicy::from_config(experiment["dtype_policy"], "experiment: dtype_policy");
  plan.data = data_spec(experiment.at("data"));
  plan.model = model_recipe(experiment.at("model"));
  plan.compile = compile_recipe(experiment.at("compile"));
  plan.fit = fit_options(experiment.at("fit"), verbose, plan.balanced_class_weight);
  plan.augmentation = augmentation_of(experiment);
  plan.callbacks = callback_recipes(experiment);
  // A scheduled learning rate cannot be reduced: say so before any data is loaded.
  if (const auto& schedule = plan.compile.optimizer->learning_rate_schedule())
    for (size_t i = 0; i < plan.callbacks.size(); ++i)
      if (plan.callbacks[i].class_name == "ReduceLROnPlateau")
        throw ValueError("experiment: callbacks[" + std::to_string(i) +
                         "] (ReduceLROnPlateau) cannot reduce compile.optimizer's learning rate, which follows a " +
                         schedule->class_name() + " schedule; drop one of them");
  return plan;
}

}  // namespace regula::experiment
