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
#include "regula/tensor/tensor.hpp"

namespace regula::experiment {

/// What a training gives the callbacks it makes: the run directory relative paths are resolved
/// against, and the clean training inputs (standardized as the model takes them, not augmented)
/// and validation arrays, for callbacks that evaluate or recalibrate (PreciseBatchNorm).
struct CallbackInputs {
  std::string run_dir;
  const Tensor* x_train = nullptr;
  const Tensor* x_val = nullptr;
  const Tensor* y_val = nullptr;
};

/// A callback's configuration, read and checked once, that makes a new callback (fresh state) for
/// each training.
struct CallbackRecipe {
  std::string class_name;
  std::function<std::unique_ptr<callbacks::Callback>(const CallbackInputs& inputs)> make;
};

/// The recipe of `spec` (the class-name forms and errors are config::Registry's,
/// config/registry.hpp); the callback's constructor checks its options here already (on a
/// one-sample stand-in for the training inputs).
CallbackRecipe callback_recipe_from_config(const nlohmann::json& spec, const std::string& where);

/// A new callback from `spec`; relative paths are resolved against `run_dir` (callbacks that need
/// training inputs, PreciseBatchNorm, are refused: make them through a recipe).
std::unique_ptr<callbacks::Callback> callback_from_config(const nlohmann::json& spec, const std::string& run_dir,
                                               const std::string& where);
/// The class names `callback_from_config` knows.
std::vector<std::string> known_callback_classes();

}  // namespace regula::experiment
