#pragma once
// BatchShard: the rows of a global batch that one rank computes when several train one model
// (data parallelism): rows rank, rank + size, rank + 2·size, … (strided, as PyTorch's
// DistributedSampler deals samples), so every rank's shard holds rows from the whole batch and the
// shards' sizes differ by at most one.

#include <cstdint>
#include <vector>

#include "regula/data/batch_source.hpp"

namespace regula::training {

class BatchShard {
 public:
  /// The shard of rank `rank` in a group of `size`.
  BatchShard(int rank, int size);

  /// Rank's rows of `global` (x, y and sample weights when given), in buffers kept between calls.
  /// Throws ValueError, on every rank alike, when `global` has fewer samples than ranks.
  const data::Batch& of(const data::Batch& global);

 private:
  int rank_;
  int size_;
  std::vector<int64_t> rows_;
  data::Batch shard_;
};

}  // namespace regula::training
