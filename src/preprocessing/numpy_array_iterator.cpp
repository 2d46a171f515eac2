// NumpyArrayIterator and ImageDataGenerator::flow: augmented batches from arrays.

#include "regula/preprocessing/numpy_array_iterator.hpp"

#include <cstdio>
#include <set>
#include <string>

#include "regula/error.hpp"
#include "regula/tensor/gather.hpp"
#include "regula/utils/random.hpp"
#include "src/preprocessing/augment_sample.hpp"

namespace regula::preprocessing {
namespace {

class ArrayLoader final : public ImageIterator::BatchLoader {
 public:
  ArrayLoader(Tensor x, Tensor y, Tensor sample_weight, const ImageDataGenerator& generator)
      : x_(std::move(x)), y_(std::move(y)), sample_weight_(std::move(sample_weight)), generator_(generator) {}

  Shape sample_shape() const override { return x_.shape().without_batch(); }

  void load(std::span<const int64_t> indices, std::span<const uint64_t> seeds, data::Batch& batch) const override {
    const auto n = static_cast<int64_t>(indices.size());
    const Shape image_shape = sample_shape();
    const int64_t row = image_shape.num_elements();
    batch.x.ensure_shape(image_shape.with_batch(n));
    for (int64_t k = 0; k < n; ++k)
      augment_sample(generator_, x_.data() + indices[static_cast<size_t>(k)] * row, batch.x.data() + k * row, image_shape,
                     seeds[static_cast<size_t>(k)]);
    copy_rows(y_, indices, batch.y);
    copy_rows(sample_weight_, indices, batch.sample_weight);
  }

 private:
  static void copy_rows(const Tensor& source, std::span<const int64_t> indices, Tensor& destination) {
    if (source.empty()) {
      destination = Tensor();
      return;
    }
    gather_rows_into(source, indices, 0, static_cast<int64_t>(indices.size()), destination, /*parallel=*/false);
  }

  Tensor x_, y_, sample_weight_;
  ImageDataGenerator generator_;
};

/// The set of label values of rows [begin, end) (Keras compares np.unique of both parts).
std::set<float> label_values(const Tensor& y, int64_t begin, int64_t end) {
  const Tensor part = y.slice_rows(begin, end);
  return std::set<float>(part.data(), part.data() + part.size());
}

/// Checks the arrays and options, takes the subset, and builds the iterator.
ImageIterator make_array_iterator(const Tensor& x_all, const Tensor& y_all, const ImageDataGenerator& generator,
                                  const FlowOptions& options) {
  if (x_all.rank() != 4)
    throw ValueError("flow: x must have rank 4 (samples, height, width, channels); it has shape " + x_all.shape().to_string());
  if (!y_all.empty() && (y_all.rank() == 0 || y_all.dim(0) != x_all.dim(0)))
    throw ShapeError("flow: x (images) and y (labels) must have the same length; x has " + std::to_string(x_all.dim(0)) +
                     " samples, y has shape " + y_all.shape().to_string());
  if (!options.sample_weight.empty() && options.sample_weight.size() != x_all.dim(0))
    throw ShapeError("flow: sample_weight has " + std::to_string(options.sample_weight.size()) + " values for " +
                     std::to_string(x_all.dim(0)) + " samples");
  const int64_t channels = x_all.dim(3);
  if (channels != 1 && channels != 3 && channels != 4)
    std::fprintf(stderr, "regula: warning: flow: x has %lld channels; images usually have 1, 3 or 4 (x must be channels last)\n",
                 static_cast<long long>(channels));

  Tensor x = x_all, y = y_all, w = options.sample_weight;
  if (!options.subset.empty()) {
    if (options.subset != "training" && options.subset != "validation")
      throw ValueError("flow: subset=\"" + options.subset + "\"; expected \"training\" or \"validation\"");
    const double split = generator.options().validation_split;
    if (split <= 0.0)
      throw ValueError("flow: subset=\"" + options.subset +
                       "\" needs the ImageDataGenerator's validation_split > 0 (it is 0)");
    const int64_t n = x_all.dim(0);
    const auto split_index = static_cast<int64_t>(static_cast<double>(n) * split);
    if (!y.empty() && label_values(y, 0, split_index) != label_values(y, split_index, n))
      throw ValueError("flow: the training and validation subsets hold different label values after the split (first " +
                       std::to_string(split_index) + " samples validate); if the arrays are sorted by label, shuffle them first");
    const bool validation = options.subset == "validation";
    const int64_t begin = validation ? 0 : split_index, end = validation ? split_index : n;
    x = x.slice_rows(begin, end);
    if (!y.empty()) y = y.slice_rows(begin, end);
    if (!w.empty()) w = w.slice_rows(begin, end);
  }
  const uint64_t seed = options.seed ? *options.seed : next_random_key();
  return ImageIterator(std::make_shared<ArrayLoader>(x, y, w, generator),
                       {.samples = x.dim(0), .batch_size = options.batch_size, .shuffle = options.shuffle, .seed = seed,
                        .workers = options.workers, .max_queue_size = options.max_queue_size});
}

}  // namespace

NumpyArrayIterator::NumpyArrayIterator(const Tensor& x, const Tensor& y, const ImageDataGenerator& generator,
                                       FlowOptions options)
    : ImageIterator(make_array_iterator(x, y, generator, options)) {}

NumpyArrayIterator ImageDataGenerator::flow(const Tensor& x, const Tensor& y, FlowOptions options) const {
  return NumpyArrayIterator(x, y, *this, std::move(options));
}

NumpyArrayIterator ImageDataGenerator::flow(const Tensor& x, FlowOptions options) const {
  return NumpyArrayIterator(x, Tensor(), *this, std::move(options));
}

}  // namespace regula::preprocessing
