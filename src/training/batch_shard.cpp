#include "src/training/batch_shard.hpp"

#include "regula/error.hpp"
#include "regula/tensor/gather.hpp"

namespace regula::training {

BatchShard::BatchShard(int rank, int size) : rank_(rank), size_(size) {
  if (size < 1 || rank < 0 || rank >= size)
    throw ValueError("BatchShard: rank " + std::to_string(rank) + " is not a rank of a group of " + std::to_string(size));
}

const data::Batch& BatchShard::of(const data::Batch& global) {
  const int64_t n = global.x.dim(0);
  // Checked alike on every rank, so that all refuse together and none waits in a collective.
  if (n < size_)
    throw ValueError("data parallelism: a global batch of " + std::to_string(n) + " samples leaves " +
                     std::to_string(size_ - n) + " of the " + std::to_string(size_) +
                     " ranks without samples; every batch, the last one included, needs at least one sample per rank "
                     "(a larger batch size, or steps_per_epoch to leave out a short last batch)");
  rows_.clear();
  for (int64_t i = rank_; i < n; i += size_) rows_.push_back(i);
  const auto count = static_cast<int64_t>(rows_.size());
  gather_rows_into(global.x, rows_, 0, count, shard_.x);
  gather_rows_into(global.y, rows_, 0, count, shard_.y);
  if (global.sample_weight.empty())
    shard_.sample_weight = Tensor();
  else
    gather_rows_into(global.sample_weight, rows_, 0, count, shard_.sample_weight);
  return shard_;
}

}  // namespace regula::training
