#pragma once
/// @file
/// Layers from Keras-style configurations, as in Keras's serialization
/// (`{"class_name": "Conv2D", "config": {"filters": 64, "kernel_size": [3, 3], ...}}`) or the
/// flat form of experiment files (`{class_name: Conv2D, filters: 64, kernel_size: 3}`).
/// Option names and defaults are Keras's; an unknown class or option is a ValueError that names
/// `where`, the key and what is allowed.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "regula/layers/layer.hpp"

namespace regula::layers {

/// A new, unbuilt layer from `spec`.
std::shared_ptr<Layer> layer_from_config(const nlohmann::json& spec, const std::string& where);
/// The class names `layer_from_config` knows.
std::vector<std::string> known_layer_classes();

}  // namespace regula::layers
