#pragma once
// BatchPrefetcher: worker threads that prepare numbered batches ahead of the consumer, in a
// bounded ring of slots. Batch `s` is always the producer's output for sequence number s, so the
// stream is the same whatever the number of workers.

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "regula/data/batch_source.hpp"

namespace regula::preprocessing {

class BatchPrefetcher {
 public:
  /// Fills `batch` (reusing its storage) with batch number `sequence`; called on worker threads,
  /// several at once for different sequence numbers.
  using Producer = std::function<void(int64_t sequence, data::Batch& batch)>;

  /// Starts `workers` threads producing batches `first_sequence`, `first_sequence` + 1, … with at
  /// most `capacity` batches ready ahead of the consumer.
  BatchPrefetcher(Producer producer, int workers, int capacity, int64_t first_sequence);
  /// Stops the workers (each finishes the batch in hand) and joins them.
  ~BatchPrefetcher();
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;

  /// Swaps the next batch into `batch` (waiting for it) and hands `batch`'s old buffers back for
  /// reuse. Rethrows what the producer threw for that batch.
  void next(data::Batch& batch);

 private:
  struct Slot {
    data::Batch batch;
    int64_t sequence = -1;
    std::exception_ptr error;
  };
  void work();

  Producer producer_;
  std::vector<Slot> slots_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable space_;
  int64_t claimed_;
  int64_t consumed_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace regula::preprocessing
