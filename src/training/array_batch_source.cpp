// Arrays as a stream of batches: one pass per epoch, reshuffled at the start of each pass.

#include "src/training/array_batch_source.hpp"

#include <algorithm>

#include "regula/error.hpp"
#include "regula/tensor/gather.hpp"

namespace regula::training {

ArrayBatchSource::ArrayBatchSource(Tensor x, Tensor y, Tensor sample_weight, int64_t batch_size,
                                   int64_t batches_per_pass, std::optional<Rng> shuffle_rng)
    : x_(std::move(x)), y_(std::move(y)), sample_weight_(std::move(sample_weight)), batch_size_(batch_size),
      shuffle_rng_(std::move(shuffle_rng)) {
  const int64_t all = (x_.dim(0) + batch_size_ - 1) / batch_size_;
  batches_per_pass_ = batches_per_pass > 0 ? std::min(batches_per_pass, all) : all;
  order_.resize(static_cast<size_t>(x_.dim(0)));
  for (size_t i = 0; i < order_.size(); ++i) order_[i] = static_cast<int64_t>(i);
}

void ArrayBatchSource::next(data::Batch& batch) {
  if (next_batch_ == batches_per_pass_) next_batch_ = 0;
  if (next_batch_ == 0 && shuffle_rng_) order_ = shuffle_rng_->permutation(x_.dim(0));
  const int64_t begin = next_batch_ * batch_size_;
  const int64_t end = std::min(x_.dim(0), begin + batch_size_);
  gather_rows_into(x_, order_, begin, end, batch.x);
  gather_rows_into(y_, order_, begin, end, batch.y);
  if (sample_weight_.empty())
    batch.sample_weight = Tensor();
  else
    gather_rows_into(sample_weight_, order_, begin, end, batch.sample_weight);
  ++next_batch_;
}

SavedState ArrayBatchSource::state() const {
  SavedState s;
  s.numbers["next_batch"] = static_cast<double>(next_batch_);
  s.integers["order"] = order_;
  if (shuffle_rng_) {
    const std::vector<uint64_t> words = shuffle_rng_->state();
    s.integers["shuffle_rng"] = std::vector<int64_t>(words.begin(), words.end());
  }
  return s;
}

void ArrayBatchSource::set_state(const SavedState& s) {
  const char* owner = "arrays (fit's batch source)";
  const auto next_batch = static_cast<int64_t>(s.number(owner, "next_batch"));
  const std::vector<int64_t>& order = s.integer_array(owner, "order");
  if (next_batch < 0 || next_batch > batches_per_pass_ || order.size() != order_.size())
    throw ValueError(std::string(owner) + ": the saved position (batch " + std::to_string(next_batch) + " of an order of " +
                     std::to_string(order.size()) + " samples) does not fit " + std::to_string(batches_per_pass_) +
                     " batches of " + std::to_string(order_.size()) + " samples");
  for (int64_t i : order)
    if (i < 0 || i >= static_cast<int64_t>(order_.size()))
      throw ValueError(std::string(owner) + ": the saved order holds sample " + std::to_string(i) + ", outside 0.." +
                       std::to_string(order_.size() - 1));
  if (shuffle_rng_) {
    const std::vector<int64_t>& words = s.integer_array(owner, "shuffle_rng");
    shuffle_rng_->set_state(std::vector<uint64_t>(words.begin(), words.end()));
  }
  order_ = order;
  next_batch_ = next_batch;
}

}  // namespace regula::training
