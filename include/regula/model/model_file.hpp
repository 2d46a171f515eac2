#pragma once
/// @file
/// Saving and loading models in Keras's legacy HDF5 format (`model.save("m.h5")`,
/// `keras.models.load_model("m.h5")`, `model.save_weights("w.weights.h5")`,
/// `model.load_weights(...)`; Keras's keras/src/legacy/saving/legacy_h5_format.py).
///
/// Layout written by `save_model` (h5py notation: `@` marks an attribute):
/// ```
/// /@model_config          JSON {"class_name": "Functional" | "Sequential",
///                               "config": {"name", "layers": [{"class_name", "config", "name",
///                                          "inbound_nodes": [[["dense", 0, 0, {}], ...]]}, ...],
///                                          "input_layers": [["input_layer", 0, 0]],
///                                          "output_layers": [["dense_1", 0, 0]]}}
/// /@keras_version         "3.0.0-regula"   /@backend  "regula"
/// /@regula_format_version "1"    (required on load; another value is an IOError)
/// /@training_config       JSON {"loss", "metrics", "optimizer_config": {"class_name", "config"}}
///                         (only for a compiled model)
/// /@epoch                 "N": the epochs completed, when given (resume with fit(initial_epoch = N))
/// /model_weights/@layer_names          every layer in topological order
/// /model_weights/<layer>/@weight_names e.g. ["conv2d/kernel:0", "conv2d/bias:0"]
/// /model_weights/<layer>/conv2d/kernel:0   float32 dataset with the weight's shape
/// /optimizer_weights/@weight_names     ["Adam/iterations:0", "Adam/m/conv2d/kernel:0", ...,
///                                       "Adam/v/conv2d/kernel:0", ...] (once the optimizer is built)
/// ```
/// Weight names follow Keras 2 (`<layer>/<weight>:0`), which is what h5py-based tools and
/// Keras's legacy loader expect; Keras 3 writes `<layer>/<weight>` without the `:0`. Optimizer
/// slots are named `<Optimizer>/<kind>/<layer>/<weight>:0` with kinds m, v, vhat (Adam, AdamW),
/// momentum (SGD), velocity, momentum, average_gradient (RMSprop), in `Optimizer::variables()`
/// order; `iterations` is an int64 scalar.
/// `save_weights` writes the `model_weights` layout at the file's root (as Keras's
/// `save_weights` to .h5 does), plus the version attributes.
///
/// Rules:
/// - File names must end in `.h5`, `.hdf5` or `.weights.h5`; anything else is a ValueError.
/// - Writes are atomic: the file is written as `<path>.tmp-<pid>`, then renamed over `path`, so a
///   reader never sees a half-written file and a failed save leaves the old file as it was.
/// - Weights are matched to layers in order (Keras's default `by_name=False`): the layers that
///   have weights, in topological order, so a model rebuilt with other default names still loads.
///   Weights that do not fit (count or shape) are a ShapeError naming the layer, the weight and
///   both shapes, and the model is left unchanged.
/// - A missing, truncated or non-HDF5 file is an IOError naming it; a model_config naming a layer
///   class regula does not know is a ValueError listing the known classes.

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "regula/model/model.hpp"
#include "regula/model/model_config.hpp"

namespace regula {

/// The value of the `regula_format_version` attribute this build reads and writes.
inline constexpr const char* kModelFormatVersion = "1";

/// Keras `model.save(path)` (legacy .h5): architecture, weights, and for a compiled model the
/// training config and optimizer state. `epoch`, when given, is stored as the number of epochs
/// completed. Throws StateError for a model without layers, ValueError for a bad extension,
/// IOError when the file cannot be written.
void save_model(const Model& model, const std::string& path, std::optional<int> epoch = std::nullopt);

/// Keras `keras.models.load_model(path)`: rebuilds the model (Sequential or Functional) from
/// `model_config`, sets its weights, and when the file has a training config compiles it and
/// restores the optimizer's iterations and slot variables, so training continues exactly.
std::unique_ptr<Model> load_model(const std::string& path);

/// Keras `model.save_weights(path)` (.h5 layout at the file root).
void save_weights(const Model& model, const std::string& path);

/// Keras `model.load_weights(path)`: reads weights written by `save_weights` or `save_model`.
void load_weights(Model& model, const std::string& path);

/// The `epoch` attribute of a file written by `save_model` (epochs completed), if present.
std::optional<int> saved_epoch(const std::string& path);

}  // namespace regula
