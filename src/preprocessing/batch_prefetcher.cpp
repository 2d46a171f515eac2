// Prefetching batches on worker threads into a ring of slots.

#include "src/preprocessing/batch_prefetcher.hpp"

#include <utility>

namespace regula::preprocessing {

BatchPrefetcher::BatchPrefetcher(Producer producer, int workers, int capacity, int64_t first_sequence)
    : producer_(std::move(producer)), slots_(static_cast<size_t>(capacity)), claimed_(first_sequence),
      consumed_(first_sequence) {
  threads_.reserve(static_cast<size_t>(workers));
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
}

BatchPrefetcher::~BatchPrefetcher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  space_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void BatchPrefetcher::work() {
  const auto capacity = static_cast<int64_t>(slots_.size());
  std::unique_lock lock(mutex_);
  for (;;) {
    // A slot is free once the batch that used it last (sequence − capacity) has been consumed.
    space_.wait(lock, [&] { return stopping_ || claimed_ < consumed_ + capacity; });
    if (stopping_) return;
    const int64_t sequence = claimed_++;
    Slot& slot = slots_[static_cast<size_t>(sequence % capacity)];
    lock.unlock();
    std::exception_ptr error;
    try {
      producer_(sequence, slot.batch);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    slot.sequence = sequence;
    slot.error = error;
    ready_.notify_all();
  }
}

void BatchPrefetcher::next(data::Batch& batch) {
  std::exception_ptr error;
  {
    std::unique_lock lock(mutex_);
    Slot& slot = slots_[static_cast<size_t>(consumed_ % static_cast<int64_t>(slots_.size()))];
    ready_.wait(lock, [&] { return slot.sequence == consumed_; });
    std::swap(batch, slot.batch);
    error = std::exchange(slot.error, nullptr);
    ++consumed_;
  }
  space_.notify_all();
  if (error) std::rethrow_exception(error);
}

}  // namespace regula::preprocessing
