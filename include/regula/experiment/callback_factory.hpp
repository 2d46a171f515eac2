#pragma once
/// @file
/// Callbacks from Keras-style configurations, for experiment files:
/// `{class_name: EarlyStopping, monitor: val_accuracy, patience: 10, mode: max}`.
/// Option names and defaults are Keras's; paths (CSVLogger's `filename`, ModelCheckpoint's
/// `filepath`, TensorBoard's `log_dir`) that are relative are taken inside the run directory:
/// `{class_name: TensorBoard, log_dir: logs, histogram_freq: 0, update_freq: epoch, write_graph: true}`
/// writes `<run dir>/logs/train` and `<run dir>/logs/validation`. An unknown class or option is a ValueError naming `where`.

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "regula/model/callback.hpp"

namespace regula::experiment {

/// A callback's configuration, read and checked once, that makes a new callback (fresh state) for
/// each training: relative paths are resolved against the run directory given to `make`.
struct CallbackRecipe {
  std::string class_name;
  std::function<std::unique_ptr<callbacks::Callback>(const std::string& run_dir)> make;
};

/// The recipe of `spec` (the class-name forms and errors are config::Registry's,
/// config/registry.hpp); the callback's constructor checks its options here already.
CallbackRecipe callback_recipe_from_config(const nlohmann::json& spec, const std::string& where);

/// A new callback from `spec`; relative paths are resolved against `run_dir`.
std::unique_ptr<callbacks::Callback> callback_from_config(const nlohmann::json& spec, const std::string& run_dir,
                                               const std::string& where);
/// The class names `callback_from_config` knows.
std::vector<std::string> known_callback_classes();

}  // namespace regula::experiment
