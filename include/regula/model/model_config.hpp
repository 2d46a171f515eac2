#pragma once
/// @file
/// A model's architecture as Keras's JSON describes it (`model.to_json()` /
/// `keras.models.model_from_json`): the `model_config` of model files, and what experiment files
/// and other readers build a model from. Sequential and Functional models with one input; layers
/// by class_name through `layers::layer_from_config`.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "regula/model/model.hpp"

namespace regula {

/// The model's architecture as Keras's `model.to_json()` describes it, the `model_config` that
/// `save_model` writes: {"class_name": "Functional" | "Sequential", "config": {"name", "layers",
/// "input_layers", "output_layers"}}. Throws StateError for a model without layers.
nlohmann::json model_config(const Model& model);

/// A new model from `config` as `model_config` writes it (Keras 2's inbound-node form
/// [[["name", 0, 0, {}], …]] for Functional models). A Sequential config whose layers do not
/// start with an InputLayer takes its input from `build_input_shape` (Keras's
/// Sequential.from_config builds the model for it). Throws ValueError naming `where`, the
/// layer as `<where>.layers[<index>]` and its name for a malformed config, an unknown class, a layer whose inbound layer is
/// not defined before it, several inputs or shared layers.
std::unique_ptr<Model> model_from_config(const nlohmann::json& config, const std::string& where);

}  // namespace regula
