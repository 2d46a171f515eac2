// ImageIterator: per-pass sample order, per-sample transform seeds, and the prefetching workers.

#include "regula/preprocessing/image_iterator.hpp"

#include <algorithm>
#include <mutex>
#include <string>

#include "regula/error.hpp"
#include "regula/utils/random.hpp"
#include "src/preprocessing/batch_prefetcher.hpp"

namespace regula::preprocessing {

/// Maps a batch's sequence number to its samples and their transform seeds. Keeps the order of
/// the pass most recently asked for, since consecutive batches share a pass.
class ImageIterator::Schedule {
 public:
  explicit Schedule(const Settings& settings) : settings_(settings) {}

  int64_t batches_per_pass() const { return (settings_.samples + settings_.batch_size - 1) / settings_.batch_size; }

  std::vector<int64_t> order(int64_t pass) const {
    if (!settings_.shuffle) {
      std::vector<int64_t> identity(static_cast<size_t>(settings_.samples));
      for (size_t i = 0; i < identity.size(); ++i) identity[i] = static_cast<int64_t>(i);
      return identity;
    }
    return Rng(mix64(settings_.seed ^ mix64(static_cast<uint64_t>(pass) + 0x5851F42D4C957F2Dull))).permutation(settings_.samples);
  }

  /// Loads batch `index` of pass `pass` into `out` through `loader` (on any thread).
  void load(const BatchLoader& loader, int64_t pass, int64_t index, data::Batch& out) {
    thread_local std::vector<int64_t> indices;
    thread_local std::vector<uint64_t> seeds;
    batch(pass, index, indices, seeds);
    loader.load(indices, seeds, out);
  }

  /// Loads batch number `sequence` of the endless stream of passes.
  void load_sequence(const BatchLoader& loader, int64_t sequence, data::Batch& out) {
    load(loader, sequence / batches_per_pass(), sequence % batches_per_pass(), out);
  }

 private:
  /// The samples and seeds of batch `index` of pass `pass`.
  void batch(int64_t pass, int64_t index, std::vector<int64_t>& indices, std::vector<uint64_t>& seeds) {
    std::shared_ptr<const std::vector<int64_t>> pass_order = cached_order(pass);
    const int64_t begin = index * settings_.batch_size;
    const int64_t end = std::min(settings_.samples, begin + settings_.batch_size);
    indices.assign(pass_order->begin() + begin, pass_order->begin() + end);
    seeds.resize(indices.size());
    const CounterRng transform_rng(mix64(settings_.seed));
    for (int64_t j = begin; j < end; ++j)
      seeds[static_cast<size_t>(j - begin)] = transform_rng.bits((static_cast<uint64_t>(pass) << 32) | static_cast<uint64_t>(j));
  }

  std::shared_ptr<const std::vector<int64_t>> cached_order(int64_t pass) {
    std::lock_guard lock(mutex_);
    if (!cached_ || cached_pass_ != pass) {
      cached_ = std::make_shared<const std::vector<int64_t>>(order(pass));
      cached_pass_ = pass;
    }
    return cached_;
  }

  Settings settings_;
  std::mutex mutex_;
  int64_t cached_pass_ = -1;
  std::shared_ptr<const std::vector<int64_t>> cached_;
};

namespace {

void check_settings(const ImageIterator::Settings& s) {
  if (s.batch_size < 1) throw ValueError("flow: batch_size=" + std::to_string(s.batch_size) + " must be a positive integer");
  if (s.workers < 0) throw ValueError("flow: workers=" + std::to_string(s.workers) + " must be >= 0 (0 = no worker threads)");
  if (s.max_queue_size < 1)
    throw ValueError("flow: max_queue_size=" + std::to_string(s.max_queue_size) + " must be a positive integer");
}

}  // namespace

ImageIterator::ImageIterator(std::shared_ptr<const BatchLoader> loader, Settings settings)
    : loader_(std::move(loader)), settings_(settings) {
  check_settings(settings_);
  schedule_ = std::make_shared<Schedule>(settings_);
}

ImageIterator::~ImageIterator() = default;
ImageIterator::ImageIterator(ImageIterator&&) noexcept = default;
ImageIterator& ImageIterator::operator=(ImageIterator&&) noexcept = default;

int64_t ImageIterator::batches_per_pass() const { return schedule_->batches_per_pass(); }

std::vector<int64_t> ImageIterator::pass_order(int64_t pass) const { return schedule_->order(pass); }

data::Batch ImageIterator::batch_at(int64_t index, int64_t pass) const {
  if (index < 0 || index >= batches_per_pass() || pass < 0)
    throw ValueError("ImageIterator: batch " + std::to_string(index) + " of pass " + std::to_string(pass) +
                     " does not exist (batches per pass: " + std::to_string(batches_per_pass()) + ")");
  data::Batch batch;
  schedule_->load(*loader_, pass, index, batch);
  return batch;
}

void ImageIterator::next(data::Batch& batch) {
  const int64_t sequence = next_sequence_++;
  if (settings_.workers == 0) {
    schedule_->load_sequence(*loader_, sequence, batch);
    return;
  }
  if (!prefetcher_) {
    auto producer = [loader = loader_, schedule = schedule_](int64_t s, data::Batch& out) {
      schedule->load_sequence(*loader, s, out);
    };
    prefetcher_ = std::make_unique<BatchPrefetcher>(producer, settings_.workers, settings_.max_queue_size, sequence);
  }
  prefetcher_->next(batch);
}

SavedState ImageIterator::state() const {
  SavedState s;
  s.numbers["next_sequence"] = static_cast<double>(next_sequence_);
  s.integers["seed"] = {static_cast<int64_t>(settings_.seed)};
  return s;
}

void ImageIterator::set_state(const SavedState& s) {
  const char* owner = "ImageIterator::set_state";
  const double sequence = s.number(owner, "next_sequence");
  const std::vector<int64_t>& seed = s.integer_array(owner, "seed");
  if (!(sequence >= 0.0) || seed.size() != 1 || static_cast<uint64_t>(seed[0]) != settings_.seed)
    throw ValueError(std::string(owner) + ": the saved position was taken on an iterator with another seed (or is negative); "
                     "resume with the same experiment seed");
  prefetcher_.reset();
  next_sequence_ = static_cast<int64_t>(sequence);
}

void ImageIterator::reset() {
  prefetcher_.reset();
  next_sequence_ = 0;
}

}  // namespace regula::preprocessing
