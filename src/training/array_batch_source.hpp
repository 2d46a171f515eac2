#pragma once
// ArrayBatchSource: arrays (x, y and optional sample weights) served as a BatchSource, so that
// fit, evaluate and validation share one loop with the augmenting iterators.

#include <cstdint>
#include <optional>
#include <vector>

#include "regula/data/batch_source.hpp"
#include "regula/utils/random.hpp"

namespace regula::training {

class ArrayBatchSource final : public data::BatchSource {
 public:
  /// Batches of `batch_size` rows of x, y and `sample_weight` (may be empty). A pass is
  /// `batches_per_pass` batches (0: all the data, the last batch possibly smaller); with
  /// `shuffle_rng` every pass draws a new order from it, otherwise rows come in order.
  ArrayBatchSource(Tensor x, Tensor y, Tensor sample_weight, int64_t batch_size, int64_t batches_per_pass = 0,
                   std::optional<Rng> shuffle_rng = std::nullopt);

  int64_t batches_per_pass() const override { return batches_per_pass_; }
  int64_t samples() const override { return x_.dim(0); }
  Shape sample_shape() const override { return x_.shape().without_batch(); }
  void next(data::Batch& batch) override;
  /// Back to the first batch of a pass (a shuffling source draws a new order for it).
  void reset() override { next_batch_ = 0; }
  /// The batch position in the pass, the pass's order and the shuffle generator's words.
  SavedState state() const override;
  void set_state(const SavedState& state) override;

 private:
  Tensor x_, y_, sample_weight_;
  int64_t batch_size_;
  int64_t batches_per_pass_;
  std::optional<Rng> shuffle_rng_;
  std::vector<int64_t> order_;
  int64_t next_batch_ = 0;
};

}  // namespace regula::training
