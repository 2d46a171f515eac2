#pragma once
/// @file
/// ImageDataGenerator options from a configuration object (the experiment file's `augmentation`
/// section): the keys are Keras's argument names, e.g.
/// `{rotation_range: 10, width_shift_range: 0.1, zoom_range: 0.2, horizontal_flip: true}`;
/// `zoom_range` is a number or a pair, `brightness_range` a pair.

#include <nlohmann/json.hpp>
#include <string>

#include "regula/preprocessing/image_data_generator.hpp"

namespace regula::preprocessing {

/// Reads the options; throws ValueError naming `where` and the key for an unknown key or a value
/// of the wrong type. (Ranges are checked by the ImageDataGenerator constructor.)
ImageDataGeneratorOptions image_data_generator_options_from_config(const nlohmann::json& config, const std::string& where);

}  // namespace regula::preprocessing
