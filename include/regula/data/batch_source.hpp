#pragma once
/// @file
/// BatchSource: a stream of training batches that `Model::fit` can consume instead of arrays
/// (Keras's `keras.utils.Sequence` given to `fit_generator`, or a `PyDataset`). The iterators of
/// `preprocessing::ImageDataGenerator` (`flow`, `flow_from_directory`) are batch sources.
///
/// A source is an endless stream of *passes* over its data: after the last batch of a pass the
/// next pass begins (reshuffled when the source shuffles), as Keras 2's `fit_generator` sees a
/// Sequence. `fit` draws `steps_per_epoch` batches per epoch from this stream (default: one pass).

#include <cstdint>

#include "regula/tensor/shape.hpp"
#include "regula/tensor/tensor.hpp"
#include "regula/utils/saved_state.hpp"

namespace regula::data {

/// One batch: inputs, targets (empty when the source yields inputs only) and per-sample weights
/// (empty when every sample weighs 1).
struct Batch {
  Tensor x;
  Tensor y;
  Tensor sample_weight;
};

class BatchSource {
 public:
  virtual ~BatchSource() = default;

  /// Batches in one pass over the data (Keras's `len(sequence)`).
  virtual int64_t batches_per_pass() const = 0;
  /// Samples in one pass.
  virtual int64_t samples() const = 0;
  /// The shape of one input sample, without the batch axis (e.g. (28, 28, 1)).
  virtual Shape sample_shape() const = 0;
  /// Fills `batch` with the next batch of the stream; the tensors' storage is reused (or swapped
  /// for the source's own buffers), so the caller must not keep views of an earlier batch.
  /// Throws what loading or transforming the data throws (e.g. IOError naming a file).
  virtual void next(Batch& batch) = 0;
  /// Restarts the stream at the first batch of pass 0: the same batches come again.
  virtual void reset() = 0;

  /// The stream's position and whatever decides the batches still to come (sample order,
  /// generator state), so that a resumed fit gets exactly the batches it would have had.
  /// Throws StateError for a source that cannot say (the default).
  virtual SavedState state() const;
  /// Continues the stream from `state()`: the next `next` yields the batch that followed then.
  /// Throws ValueError for a state this source did not write, StateError as `state`.
  virtual void set_state(const SavedState& state);
};

}  // namespace regula::data
