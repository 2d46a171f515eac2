#include "regula/layers/layer_factory.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <functional>
#include <map>

#include "regula/config/config_reader.hpp"
#include "regula/config/registry.hpp"
#include "regula/error.hpp"
#include "regula/layers/activation.hpp"
#include "regula/layers/batch_normalization.hpp"
#include "regula/layers/conv2d.hpp"
#include "regula/layers/dense.hpp"
#include "regula/layers/dropout.hpp"
#include "regula/layers/flatten.hpp"
#include "regula/layers/gaussian_dropout.hpp"
#include "regula/layers/gaussian_noise.hpp"
#include "regula/layers/merge.hpp"
#include "regula/layers/pooling.hpp"
#include "regula/layers/random_contrast.hpp"
#include "regula/layers/random_erasing.hpp"
#include "regula/layers/random_flip.hpp"
#include "regula/layers/random_rotation.hpp"
#include "regula/layers/random_translation.hpp"
#include "regula/layers/random_zoom.hpp"
#include "regula/layers/reshape.hpp"
#include "regula/layers/spatial_dropout2d.hpp"

namespace regula::layers {
namespace {

using Reader = config::ConfigReader;
using LayerRegistry = config::Registry<std::shared_ptr<Layer>>;

Size2D size2d(Reader& r, const std::string& key, Size2D fallback) {
  const std::vector<int64_t> v = r.get_ints(key, {fallback.h, fallback.w});
  if (v.size() == 1) return {v[0], v[0]};
  if (v.size() == 2) return {v[0], v[1]};
  throw ValueError(r.where() + ": option '" + key + "' must be one integer or two");
}

regularizers::RegularizerPtr regularizer(Reader& r, const std::string& key) {
  const auto v = r.get_json(key);
  if (!v) return nullptr;
  // Accept Keras's config form and the short {l2: 0.001} form of experiment files.
  if (v->contains("class_name")) return regularizers::from_config(*v, r.where() + ": " + key);
  if (v->is_object()) return regularizers::l1_l2(v->value("l1", 0.0), v->value("l2", 0.0));
  throw ValueError(r.where() + ": option '" + key + "' = " + v->dump() + " must be {l1: …, l2: …} or a Keras regularizer config");
}

constraints::ConstraintPtr constraint(Reader& r, const std::string& key) {
  const auto v = r.get_json(key);
  if (!v) return nullptr;
  // Keras's config form, or the short {class_name: MaxNorm, max_value: 3} of experiment files.
  return constraints::from_config(*v, r.where() + ": " + key);
}

std::string initializer(Reader& r, const std::string& key, const std::string& fallback) {
  const auto v = r.get_json(key);
  if (!v) return fallback;
  if (v->is_string()) return v->get<std::string>();
  if (v->is_object() && v->contains("class_name")) {
    // Keras writes class names ("GlorotUniform"); map them to the snake_case function names.
    std::string name = v->at("class_name").get<std::string>(), snake;
    for (size_t i = 0; i < name.size(); ++i) {
      const char c = name[i];
      if (std::isupper(static_cast<unsigned char>(c)) && i > 0) snake += '_';
      snake += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return snake;
  }
  throw ValueError(r.where() + ": option '" + key + "' = " + v->dump() + " must be an initializer name");
}

/// MaxPooling2D and AveragePooling2D share their options.
template <class Pooling>
std::shared_ptr<Layer> pooling(Reader& r) {
  const Size2D pool = size2d(r, "pool_size", {2, 2});
  PoolingOptions o;
  if (r.has("strides")) o.strides = size2d(r, "strides", pool);
  o.padding = r.get_string("padding", "valid");
  o.name = r.get_string("name", "");
  r.ignore({"data_format"});
  return std::make_shared<Pooling>(pool, o);
}

// ---- the augmentation layers' options ----

/// A factor option (a number or [lower, upper]); `required` as Keras's positional factors.
std::optional<AugmentationFactor> factor(Reader& r, const std::string& key, bool required) {
  const auto v = r.get_json(key);
  if (!v) {
    if (required) throw ValueError(r.where() + ": option '" + key + "' is required: a number or [lower, upper]");
    return std::nullopt;
  }
  return AugmentationFactor::from_json(*v, r.where(), key);
}

/// A [lower, upper] pair of numbers.
std::array<double, 2> number_pair(Reader& r, const std::string& key, std::array<double, 2> fallback) {
  const auto v = r.get_json(key);
  if (!v) return fallback;
  if (!(v->is_array() && v->size() == 2 && (*v)[0].is_number() && (*v)[1].is_number()))
    throw ValueError(r.where() + ": option '" + key + "' = " + v->dump() + " must be [lower, upper]");
  return {(*v)[0].get<double>(), (*v)[1].get<double>()};
}

/// Keras's data_format: only channels_last (regula's image layout) is built.
void expect_channels_last(Reader& r) {
  const std::string format = r.get_string("data_format", "channels_last");
  if (format != "channels_last")
    throw ValueError(r.where() + ": data_format='" + format +
                     "' is not built; regula's images are channels_last (batch, height, width, channels)");
}

int64_t seed(Reader& r) { return r.get_int("seed", -1); }

AffineAugmentationOptions affine_augmentation_options(Reader& r) {
  expect_channels_last(r);
  AffineAugmentationOptions o;
  o.fill_mode = r.get_string("fill_mode", o.fill_mode);
  o.interpolation = r.get_string("interpolation", o.interpolation);
  o.seed = seed(r);
  o.fill_value = r.get_double("fill_value", o.fill_value);
  o.name = r.get_string("name", "");
  return o;
}

/// RandomErasing's fill_value: null (noise), a number, or one number per channel.
std::vector<double> fill_values(Reader& r) {
  const auto v = r.get_json("fill_value");
  if (!v) return {};
  if (v->is_number()) return {v->get<double>()};
  if (v->is_array() && !v->empty() && std::all_of(v->begin(), v->end(), [](const auto& e) { return e.is_number(); }))
    return v->get<std::vector<double>>();
  throw ValueError(r.where() + ": option 'fill_value' = " + v->dump() +
                   " must be null (noise), a number, or a list of one number per channel");
}

const LayerRegistry& registry() {
  static const LayerRegistry table(
      {.kind = "layer", .example = "{class_name: Dense, units: 10}", .ignored_options = {"trainable", "dtype"}},
      {
      {"Dense",
       [](Reader& r) {
         const int64_t units = r.get_int("units", 0);
         DenseOptions o;
         o.activation = r.get_string("activation", "linear");
         o.use_bias = r.get_bool("use_bias", true);
         o.kernel_initializer = initializer(r, "kernel_initializer", "glorot_uniform");
         o.bias_initializer = initializer(r, "bias_initializer", "zeros");
         o.kernel_regularizer = regularizer(r, "kernel_regularizer");
         o.bias_regularizer = regularizer(r, "bias_regularizer");
         o.activity_regularizer = regularizer(r, "activity_regularizer");
         o.kernel_constraint = constraint(r, "kernel_constraint");
         o.bias_constraint = constraint(r, "bias_constraint");
         o.name = r.get_string("name", "");
         return std::make_shared<Dense>(units, o);
       }},
      {"Conv2D",
       [](Reader& r) {
         const int64_t filters = r.get_int("filters", 0);
         const Size2D kernel = size2d(r, "kernel_size", {0, 0});
         Conv2DOptions o;
         o.strides = size2d(r, "strides", {1, 1});
         o.padding = r.get_string("padding", "valid");
         o.activation = r.get_string("activation", "linear");
         o.use_bias = r.get_bool("use_bias", true);
         o.kernel_initializer = initializer(r, "kernel_initializer", "glorot_uniform");
         o.bias_initializer = initializer(r, "bias_initializer", "zeros");
         o.kernel_regularizer = regularizer(r, "kernel_regularizer");
         o.bias_regularizer = regularizer(r, "bias_regularizer");
         o.activity_regularizer = regularizer(r, "activity_regularizer");
         o.kernel_constraint = constraint(r, "kernel_constraint");
         o.bias_constraint = constraint(r, "bias_constraint");
         o.name = r.get_string("name", "");
         r.ignore({"data_format", "dilation_rate", "groups"});
         return std::make_shared<Conv2D>(filters, kernel, o);
       }},
      {"MaxPooling2D", pooling<MaxPooling2D>},
      {"AveragePooling2D", pooling<AveragePooling2D>},
      {"GlobalAveragePooling2D",
       [](Reader& r) {
         GlobalPoolingOptions o;
         o.keepdims = r.get_bool("keepdims", false);
         o.name = r.get_string("name", "");
         r.ignore({"data_format"});
         return std::make_shared<GlobalAveragePooling2D>(o);
       }},
      {"BatchNormalization",
       [](Reader& r) {
         BatchNormalizationOptions o;
         o.axis = r.get_int("axis", -1);
         o.momentum = r.get_double("momentum", 0.99);
         o.epsilon = r.get_double("epsilon", 1e-3);
         o.center = r.get_bool("center", true);
         o.scale = r.get_bool("scale", true);
         o.beta_initializer = initializer(r, "beta_initializer", "zeros");
         o.gamma_initializer = initializer(r, "gamma_initializer", "ones");
         o.moving_mean_initializer = initializer(r, "moving_mean_initializer", "zeros");
         o.moving_variance_initializer = initializer(r, "moving_variance_initializer", "ones");
         o.beta_regularizer = regularizer(r, "beta_regularizer");
         o.gamma_regularizer = regularizer(r, "gamma_regularizer");
         o.synchronized = r.get_bool("synchronized", false);
         o.name = r.get_string("name", "");
         return std::make_shared<BatchNormalization>(o);
       }},
      {"Activation",
       [](Reader& r) {
         const std::string activation = r.get_string("activation", "");
         return std::make_shared<Activation>(activation, ActivationOptions{.name = r.get_string("name", "")});
       }},
      {"Dropout",
       [](Reader& r) {
         const double rate = r.get_double("rate", -1.0);
         DropoutOptions o;
         o.seed = r.get_int("seed", -1);
         o.name = r.get_string("name", "");
         r.ignore({"noise_shape"});
         return std::make_shared<Dropout>(rate, o);
       }},
      {"SpatialDropout2D",
       [](Reader& r) {
         const double rate = r.get_double("rate", -1.0);
         SpatialDropout2DOptions o;
         o.data_format = r.get_string("data_format", o.data_format);
         o.seed = r.get_int("seed", -1);
         o.name = r.get_string("name", "");
         return std::make_shared<SpatialDropout2D>(rate, o);
       }},
      {"GaussianNoise",
       [](Reader& r) {
         const double stddev = r.get_double("stddev", -1.0);
         return std::make_shared<GaussianNoise>(stddev, GaussianNoiseOptions{.seed = r.get_int("seed", -1),
                                                                             .name = r.get_string("name", "")});
       }},
      {"GaussianDropout",
       [](Reader& r) {
         const double rate = r.get_double("rate", -1.0);
         return std::make_shared<GaussianDropout>(rate, GaussianDropoutOptions{.seed = r.get_int("seed", -1),
                                                                               .name = r.get_string("name", "")});
       }},
      {"RandomFlip",
       [](Reader& r) {
         expect_channels_last(r);
         const std::string mode = r.get_string("mode", "horizontal_and_vertical");
         return std::make_shared<RandomFlip>(mode, RandomFlipOptions{.seed = seed(r), .name = r.get_string("name", "")});
       }},
      {"RandomRotation",
       [](Reader& r) {
         const AugmentationFactor f = *factor(r, "factor", true);
         return std::make_shared<RandomRotation>(f, affine_augmentation_options(r));
       }},
      {"RandomTranslation",
       [](Reader& r) {
         const AugmentationFactor height = *factor(r, "height_factor", true);
         const AugmentationFactor width = *factor(r, "width_factor", true);
         return std::make_shared<RandomTranslation>(height, width, affine_augmentation_options(r));
       }},
      {"RandomZoom",
       [](Reader& r) {
         const AugmentationFactor height = *factor(r, "height_factor", true);
         const std::optional<AugmentationFactor> width = factor(r, "width_factor", false);
         return std::make_shared<RandomZoom>(height, width, affine_augmentation_options(r));
       }},
      {"RandomContrast",
       [](Reader& r) {
         expect_channels_last(r);
         const AugmentationFactor f = *factor(r, "factor", true);
         RandomContrastOptions o;
         o.value_range = number_pair(r, "value_range", o.value_range);
         o.seed = seed(r);
         o.name = r.get_string("name", "");
         return std::make_shared<RandomContrast>(f, o);
       }},
      {"RandomErasing",
       [](Reader& r) {
         expect_channels_last(r);
         RandomErasingOptions o;
         o.factor = factor(r, "factor", false).value_or(o.factor);
         o.scale = factor(r, "scale", false).value_or(o.scale);
         o.fill_value = fill_values(r);
         o.value_range = number_pair(r, "value_range", o.value_range);
         o.seed = seed(r);
         o.name = r.get_string("name", "");
         return std::make_shared<RandomErasing>(o);
       }},
      {"Flatten",
       [](Reader& r) {
         r.ignore({"data_format"});
         return std::make_shared<Flatten>(FlattenOptions{.name = r.get_string("name", "")});
       }},
      {"Reshape",
       [](Reader& r) {
         const std::vector<int64_t> target = r.get_ints("target_shape", {});
         return std::make_shared<Reshape>(Shape(target), ReshapeOptions{.name = r.get_string("name", "")});
       }},
      {"Add", [](Reader& r) { return std::make_shared<Add>(MergeOptions{.name = r.get_string("name", "")}); }},
      {"Concatenate",
       [](Reader& r) {
         const int64_t axis = r.get_int("axis", -1);
         return std::make_shared<Concatenate>(axis, MergeOptions{.name = r.get_string("name", "")});
       }},
      });
  return table;
}

}  // namespace

std::vector<std::string> known_layer_classes() { return registry().class_names(); }

std::shared_ptr<Layer> layer_from_config(const nlohmann::json& spec, const std::string& where) {
  std::shared_ptr<Layer> layer = registry().make(spec, where);
  // "dtype": the layer's policy (every layer takes it, so the registry leaves it to here).
  const config::ClassConfig config = config::read_class_config(spec, {.kind = "layer"}, where);
  if (config.options.is_object() && config.options.contains("dtype") && !config.options["dtype"].is_null()) {
    const auto policy = mixed_precision::DTypePolicy::from_config(config.options["dtype"], where + ": dtype");
    mixed_precision::check_supported(policy);
    layer->set_dtype_policy(policy);
  }
  return layer;
}

}  // namespace regula::layers
