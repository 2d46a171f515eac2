#pragma once
// The plan of an experiment: every section read, checked and turned into typed parts once, before
// any data is loaded. The runner, the trials of a search (and their folds) and the variants of an
// ablation all execute a plan; nothing reads the experiment's JSON again to train.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "regula/experiment/callback_factory.hpp"
#include "regula/layers/dtype_policy.hpp"
#include "regula/model/model.hpp"
#include "regula/model/seed_model.hpp"
#include "regula/optimizers/optimizer.hpp"
#include "regula/preprocessing/image_data_generator.hpp"
#include "src/experiment/experiment_data.hpp"

namespace regula::experiment {

/// How a training gets its new model: the built-in seed model with its options, or a Sequential
/// model of configured layers, built through model_from_config (the model files' deserializer).
struct ModelRecipe {
  enum class Kind { seed, layers } kind = Kind::seed;
  /// Kind::seed: the seed model's options (input_shape only when the section gives one).
  models::SeedModelOptions seed;
  /// The input shape the section gives; otherwise the data's decides.
  std::optional<Shape> input_shape;
  /// Kind::layers: the model's name and its layers, each as {class_name, config} (checked).
  std::string name = "sequential";
  nlohmann::json layers = nlohmann::json::array();
  /// Kind::seed: layers put in front of the seed model (model.augmentation_layers), each as
  /// {class_name, config} (checked).
  nlohmann::json augmentation_layers = nlohmann::json::array();

  /// A new, uncompiled model for inputs of `data_input_shape` (unless the section fixed one).
  std::unique_ptr<Model> build(const Shape& data_input_shape) const;
};

/// Reads the `model` section: 'seed', {builtin: seed, …, augmentation_layers: [...]} or
/// {layers: [...], input_shape, name};
/// every layer configuration is checked here (ValueError naming the layer and key).
ModelRecipe model_recipe(const nlohmann::json& section);

/// The compile section: an optimizer read once, and a fresh copy of it for each training.
struct CompileRecipe {
  optimizers::OptimizerPtr optimizer;
  std::string loss = "sparse_categorical_crossentropy";
  std::vector<std::string> metrics;

  /// What Model::compile takes, with a new optimizer (no slots, iteration 0).
  CompileOptions options() const;
  /// Whether the loss is a classification loss (then folds are stratified).
  bool classifies() const;
};

/// An experiment's sections, typed.
struct TrainingPlan {
  /// The resolved experiment as given (written to the run directory as experiment.yaml).
  nlohmann::json experiment;
  uint64_t seed = 1;
  std::optional<int> threads;
  /// `dtype_policy`: Keras's global dtype policy while the model is built ("float32" or
  /// "mixed_bfloat16", layers/dtype_policy.hpp).
  mixed_precision::DTypePolicy dtype_policy;
  DataSpec data;
  ModelRecipe model;
  CompileRecipe compile;
  /// The `fit` section (no callbacks or validation data yet).
  FitOptions fit;
  /// fit.class_weight: balanced, computed from the training labels once they are loaded.
  bool balanced_class_weight = false;
  /// The augmentation section; nothing when it is absent, null or empty.
  std::optional<preprocessing::ImageDataGeneratorOptions> augmentation;
  std::vector<CallbackRecipe> callbacks;
};

/// Reads and checks every section of a resolved experiment: seed, threads, data, model, compile,
/// fit, augmentation and callbacks (ValueError naming the section and key). `verbose` is fit's
/// progress verbosity unless the fit section sets its own.
TrainingPlan plan_training(const nlohmann::json& experiment, int verbose);

}  // namespace regula::experiment
