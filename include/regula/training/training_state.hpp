#pragma once
/// @file
/// TrainingState: everything that resuming a fit needs, taken between two training steps, and the
/// file that holds it. Restored into a model built and compiled as the saved one was, with the
/// same callbacks in the same order and the same data, the next steps are bit for bit those of
/// the run that was never interrupted (same seed, same thread count).
///
/// What it holds:
/// - the position: the epoch in progress (0-based) and the batches of it already trained;
/// - every weight (Model::get_weights order, trainable and not: BatchNormalization's moving
///   statistics too), with its name;
/// - the optimizer: its name, learning rate (ReduceLROnPlateau changes it), iterations (which
///   also key the dropout masks and noise draws) and slot variables;
/// - the global random stream (seed and keys drawn), so components created after the restore
///   draw what they would have drawn, and each stochastic layer's key (Dropout, the noise
///   layers: Layer::random_key), so a model built again draws the saved one's masks;
/// - the data stream's position and order (BatchSource::state);
/// - each callback's state (Callback::state): EarlyStopping's wait and best, ReduceLROnPlateau's
///   wait, cooldown and best, ModelCheckpoint's best, History's epochs, …
/// - the epoch in progress: the compiled metrics' running totals, and whatever the training loop
///   adds (its running loss mean), so the epoch's logs come out as uninterrupted.
///
/// The file (HDF5; h5py notation, `@` marks an attribute), format version 1:
///
///     @format = "regula-training-state"        @format_version = "1"
///     position/epoch, position/batch           int64 scalars
///     random/seed, random/keys_drawn           int64 scalars (the uint64 bits)
///     model/@weight_names                      the weights' names, "layer/weight"
///     model/weights/<i>                        float32, in Model::get_weights order
///     model/@random_key_layers, model/random_keys   the stochastic layers' names and keys (int64)
///     optimizer/@name                          e.g. "adam"
///     optimizer/learning_rate                  float64[1]
///     optimizer/iterations                     int64 scalar
///     optimizer/variables/<i>                  float32, in Optimizer::variables order
///     data_stream/                             a saved state (absent without a source)
///     callbacks/@count, callbacks/<i>/         a saved state per callback, in list order
///     epoch_progress/                          a saved state: "metric/<name>/total" and
///                                              "metric/<name>/count", and the loop's entries
///
/// A saved state group holds `numbers/@names` with `numbers/values` (float64, in the names'
/// order), `texts/@names` with `texts/@values`, and for number arrays, integer arrays and tensors
/// `<kind>/@names` with one dataset `<kind>/<i>` per name (so names may hold any character).
/// Files are written atomically (io::write_atomically): a reader sees the old state or the new.

#include <cstdint>
#include <string>
#include <vector>

#include "regula/data/batch_source.hpp"
#include "regula/model/callback.hpp"
#include "regula/model/model.hpp"
#include "regula/utils/saved_state.hpp"

namespace regula::training {

struct TrainingState {
  static constexpr int kFormatVersion = 1;

  /// The epoch in progress (0-based) and how many of its batches are done.
  int epoch = 0;
  int64_t batch = 0;
  /// The global random stream (set_random_state).
  uint64_t random_seed = 0;
  uint64_t random_keys_drawn = 0;
  /// "layer/weight" for each of `weights`.
  std::vector<std::string> weight_names;
  std::vector<Tensor> weights;
  /// The layers with a random stream, by name, and their keys.
  std::vector<std::string> random_key_layers;
  std::vector<uint64_t> random_keys;
  std::string optimizer;
  double learning_rate = 0.0;
  int64_t iterations = 0;
  std::vector<Tensor> optimizer_variables;
  /// Empty when captured without a source.
  SavedState data_stream;
  /// One per callback, in the order they were given.
  std::vector<SavedState> callbacks;
  /// The epoch in progress: the metrics' totals (set by capture), and the training loop's own
  /// entries (it adds them after capture and reads them after restore).
  SavedState epoch_progress;
};

/// The state of `model` (compiled), `callbacks` and `source` (may be null) between two steps, at
/// batch `batch` of epoch `epoch`. Throws StateError for a source that cannot save its position.
TrainingState capture_training_state(const Model& model, const std::vector<callbacks::Callback*>& callbacks,
                                     const data::BatchSource* source, int epoch, int64_t batch);

/// Puts `state` back: weights, optimizer (built for the model's weights if it was not),
/// the global random stream, the source's position (when `source` is not null) and each
/// callback's state (call it after the callbacks' `on_train_begin`), and the compiled metrics'
/// running totals. Everything is checked first —
/// the weights' count, names and shapes, the optimizer's name and slots, the callbacks' count —
/// and a mismatch throws ValueError / ShapeError naming it with nothing changed; a callback or
/// source that refuses its state has the earlier ones put back as they were.
void restore_training_state(const TrainingState& state, Model& model, const std::vector<callbacks::Callback*>& callbacks,
                            data::BatchSource* source);

/// Writes `state` to `path` (HDF5, layout above) atomically; with `previous` set, the file that
/// was at `path` is kept there (io::write_atomically). Throws IOError naming the path.
void save_training_state(const TrainingState& state, const std::string& path, const std::string& previous = "");
/// Reads a file written by `save_training_state`. Throws IOError naming the path for a file that
/// is missing, not HDF5, not a training state, of another format version, or truncated.
TrainingState load_training_state(const std::string& path);

}  // namespace regula::training
