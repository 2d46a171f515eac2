#pragma once
/// @file
/// ImageIterator (Keras `keras.preprocessing.image.Iterator`): the base of the iterators that
/// `ImageDataGenerator::flow` and `flow_from_directory` return. It orders the samples of each pass
/// (a new permutation per pass when shuffling), and prepares batches on worker threads ahead of the
/// training step (prefetch), so augmentation overlaps with training.
///
/// Determinism: the order of pass p and the random transform of the sample at position j of
/// pass p are pure functions of (seed, p, j). The stream of batches is therefore the same for
/// any number of workers, and `batch_at` recomputes any batch on the calling thread.

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "regula/data/batch_source.hpp"

namespace regula::preprocessing {

class BatchPrefetcher;

class ImageIterator : public data::BatchSource {
 public:
  /// What an iterator provides: loading samples into a batch.
  class BatchLoader {
   public:
    virtual ~BatchLoader() = default;
    /// The shape of one input sample.
    virtual Shape sample_shape() const = 0;
    /// Fills `batch` with the samples `indices` (positions in the data set), sample k augmented
    /// with the random transform drawn from `seeds[k]`. Called on worker threads, several at
    /// once: it must only read shared state.
    virtual void load(std::span<const int64_t> indices, std::span<const uint64_t> seeds, data::Batch& batch) const = 0;
  };

  struct Settings {
    int64_t samples = 0;
    int64_t batch_size = 32;
    bool shuffle = true;
    uint64_t seed = 0;
    /// Worker threads; 0 prepares each batch on the calling thread when it is asked for.
    int workers = 1;
    int max_queue_size = 10;
  };

  /// Throws ValueError for batch_size < 1, workers < 0 or max_queue_size < 1.
  ImageIterator(std::shared_ptr<const BatchLoader> loader, Settings settings);
  ~ImageIterator() override;
  ImageIterator(ImageIterator&&) noexcept;
  ImageIterator& operator=(ImageIterator&&) noexcept;

  int64_t batches_per_pass() const override;
  int64_t samples() const override { return settings_.samples; }
  Shape sample_shape() const override { return loader_->sample_shape(); }
  void next(data::Batch& batch) override;
  void reset() override;
  /// The stream position (the batches are a pure function of the seed and the position).
  SavedState state() const override;
  void set_state(const SavedState& state) override;

  int64_t batch_size() const { return settings_.batch_size; }
  /// Batch `index` of pass `pass`, computed on the calling thread (Keras's `iterator[index]`):
  /// the same values `next` yields at that point of the stream.
  data::Batch batch_at(int64_t index, int64_t pass = 0) const;
  /// The order of the samples in pass `pass` (the identity without shuffling).
  std::vector<int64_t> pass_order(int64_t pass) const;

 private:
  class Schedule;
  std::shared_ptr<const BatchLoader> loader_;
  Settings settings_;
  std::shared_ptr<Schedule> schedule_;
  std::unique_ptr<BatchPrefetcher> prefetcher_;
  int64_t next_sequence_ = 0;
};

}  // namespace regula::preprocessing
