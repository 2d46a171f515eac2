// ImageDataGenerator options ⇄ configuration objects (the experiment file's augmentation section).

#include "regula/preprocessing/image_data_generator_config.hpp"

#include "regula/config/config_reader.hpp"
#include "regula/error.hpp"

namespace regula::preprocessing {
namespace {

/// A pair [low, high] of numbers, or ValueError naming the key.
std::array<double, 2> number_pair(const nlohmann::json& value, const std::string& where, const char* key) {
  if (!value.is_array() || value.size() != 2 || !value[0].is_number() || !value[1].is_number())
    throw ValueError(where + ": " + key + " must be a pair [low, high] of numbers, got " + value.dump());
  return {value[0].get<double>(), value[1].get<double>()};
}

}  // namespace

ImageDataGeneratorOptions image_data_generator_options_from_config(const nlohmann::json& config, const std::string& where) {
  if (!config.is_object()) throw ValueError(where + ": must be a mapping of ImageDataGenerator options, got " + config.dump());
  config::ConfigReader r(config, where);
  ImageDataGeneratorOptions o;
  o.featurewise_center = r.get_bool("featurewise_center", o.featurewise_center);
  o.samplewise_center = r.get_bool("samplewise_center", o.samplewise_center);
  o.featurewise_std_normalization = r.get_bool("featurewise_std_normalization", o.featurewise_std_normalization);
  o.samplewise_std_normalization = r.get_bool("samplewise_std_normalization", o.samplewise_std_normalization);
  o.rotation_range = r.get_double("rotation_range", o.rotation_range);
  o.width_shift_range = r.get_double("width_shift_range", o.width_shift_range);
  o.height_shift_range = r.get_double("height_shift_range", o.height_shift_range);
  if (const auto b = r.get_json("brightness_range")) o.brightness_range = number_pair(*b, where, "brightness_range");
  o.shear_range = r.get_double("shear_range", o.shear_range);
  if (const auto z = r.get_json("zoom_range")) {
    if (z->is_number()) {
      o.zoom_range = ZoomRange(z->get<double>());
    } else {
      const auto pair = number_pair(*z, where, "zoom_range");
      o.zoom_range = ZoomRange(pair[0], pair[1]);
    }
  }
  o.channel_shift_range = r.get_double("channel_shift_range", o.channel_shift_range);
  o.fill_mode = r.get_string("fill_mode", o.fill_mode);
  o.cval = r.get_double("cval", o.cval);
  o.horizontal_flip = r.get_bool("horizontal_flip", o.horizontal_flip);
  o.vertical_flip = r.get_bool("vertical_flip", o.vertical_flip);
  o.rescale = r.get_double("rescale", o.rescale);
  o.validation_split = r.get_double("validation_split", o.validation_split);
  r.expect_all_read();
  return o;
}

}  // namespace regula::preprocessing
