// DirectoryIterator and ImageDataGenerator::flow_from_directory: augmented batches from image folders.

#include "regula/preprocessing/directory_iterator.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "regula/error.hpp"
#include "regula/preprocessing/image.hpp"
#include "regula/preprocessing/image_directory.hpp"
#include "regula/utils/random.hpp"
#include "src/preprocessing/augment_sample.hpp"

namespace regula::preprocessing {
namespace {

const std::vector<std::string> kClassModes = {"categorical", "binary", "sparse", "input", "none"};

int64_t channels_of(const std::string& color_mode) {
  if (color_mode == "grayscale") return 1;
  if (color_mode == "rgb") return 3;
  if (color_mode == "rgba") return 4;
  throw ValueError("flow_from_directory: color_mode=\"" + color_mode + "\"; allowed: \"grayscale\", \"rgb\", \"rgba\"");
}

class DirectoryLoader final : public ImageIterator::BatchLoader {
 public:
  DirectoryLoader(preprocessing::ImageDirectoryListing listing, const FlowFromDirectoryOptions& options, const ImageDataGenerator& generator)
      : listing_(std::move(listing)), options_(options), generator_(generator),
        shape_{options.target_size[0], options.target_size[1], channels_of(options.color_mode)} {}

  Shape sample_shape() const override { return shape_; }

  void load(std::span<const int64_t> indices, std::span<const uint64_t> seeds, data::Batch& batch) const override {
    const auto n = static_cast<int64_t>(indices.size());
    const int64_t row = shape_.num_elements();
    batch.x.ensure_shape(shape_.with_batch(n));
    const LoadImgOptions load_options{.color_mode = options_.color_mode,
                                      .target_size = ImageSize{shape_[0], shape_[1]},
                                      .interpolation = options_.interpolation};
    for (int64_t k = 0; k < n; ++k) {
      const Tensor pixels = img_to_array(load_img(listing_.file_paths[static_cast<size_t>(indices[static_cast<size_t>(k)])], load_options));
      augment_sample(generator_, pixels.data(), batch.x.data() + k * row, shape_, seeds[static_cast<size_t>(k)]);
    }
    batch.sample_weight = Tensor();
    const std::string& mode = options_.class_mode;
    if (mode == "none") {
      batch.y = Tensor();
    } else if (mode == "input") {
      batch.y.ensure_shape(batch.x.shape());
      std::memcpy(batch.y.data(), batch.x.data(), static_cast<size_t>(batch.x.size()) * sizeof(float));
    } else if (mode == "categorical") {
      const auto classes = static_cast<int64_t>(listing_.class_names.size());
      batch.y.ensure_shape(Shape{n, classes});
      batch.y.fill(0.0f);
      for (int64_t k = 0; k < n; ++k) batch.y[k * classes + label(indices, k)] = 1.0f;
    } else {  // "binary" and "sparse": the class index
      batch.y.ensure_shape(Shape{n});
      for (int64_t k = 0; k < n; ++k) batch.y[k] = static_cast<float>(label(indices, k));
    }
  }

 private:
  int64_t label(std::span<const int64_t> indices, int64_t k) const {
    return listing_.labels[static_cast<size_t>(indices[static_cast<size_t>(k)])];
  }

  preprocessing::ImageDirectoryListing listing_;
  FlowFromDirectoryOptions options_;
  ImageDataGenerator generator_;
  Shape shape_;
};

void check_options(const FlowFromDirectoryOptions& o) {
  channels_of(o.color_mode);
  if (std::find(kClassModes.begin(), kClassModes.end(), o.class_mode) == kClassModes.end())
    throw ValueError("flow_from_directory: class_mode=\"" + o.class_mode +
                     "\"; allowed: \"categorical\", \"binary\", \"sparse\", \"input\", \"none\"");
  if (o.interpolation != "nearest" && o.interpolation != "bilinear")
    throw ValueError("flow_from_directory: interpolation=\"" + o.interpolation + "\"; allowed: \"nearest\", \"bilinear\"");
  if (o.target_size[0] < 1 || o.target_size[1] < 1)
    throw ValueError("flow_from_directory: target_size=(" + std::to_string(o.target_size[0]) + ", " +
                     std::to_string(o.target_size[1]) + ") must be positive");
  if (!o.subset.empty() && o.subset != "training" && o.subset != "validation")
    throw ValueError("flow_from_directory: subset=\"" + o.subset + "\"; expected \"training\" or \"validation\"");
}

/// The listing of the subset (Keras's per-class split), announced as Keras does.
preprocessing::ImageDirectoryListing listing_for(const std::string& directory, const ImageDataGenerator& generator,
                                        const FlowFromDirectoryOptions& options) {
  check_options(options);
  const double split = generator.options().validation_split;
  if (!options.subset.empty() && split <= 0.0)
    throw ValueError("flow_from_directory: subset=\"" + options.subset +
                     "\" needs the ImageDataGenerator's validation_split > 0 (it is 0)");
  preprocessing::ImageDirectoryListing listing = preprocessing::list_image_directory(
      directory, {.classes = options.classes, .follow_links = options.follow_links, .on_error = options.on_error});
  if (!options.subset.empty()) listing = preprocessing::select_subset(listing, split, options.subset);
  std::printf("Found %zu images belonging to %zu classes.\n", listing.file_paths.size(), listing.class_names.size());
  std::fflush(stdout);
  if (listing.file_paths.empty())
    throw ValueError("flow_from_directory: " + directory + ": no images in the " +
                     (options.subset.empty() ? std::string("directory") : "\"" + options.subset + "\" subset"));
  return listing;
}

ImageIterator make_directory_iterator(const preprocessing::ImageDirectoryListing& listing, const ImageDataGenerator& generator,
                                      const FlowFromDirectoryOptions& options) {
  const uint64_t seed = options.seed ? *options.seed : next_random_key();
  return ImageIterator(std::make_shared<DirectoryLoader>(listing, options, generator),
                       {.samples = static_cast<int64_t>(listing.file_paths.size()), .batch_size = options.batch_size,
                        .shuffle = options.shuffle, .seed = seed, .workers = options.workers,
                        .max_queue_size = options.max_queue_size});
}

}  // namespace

DirectoryIterator::DirectoryIterator(const std::string& directory, const ImageDataGenerator& generator,
                                     FlowFromDirectoryOptions options)
    : DirectoryIterator(listing_for(directory, generator, options), generator, options) {}

DirectoryIterator::DirectoryIterator(preprocessing::ImageDirectoryListing listing, const ImageDataGenerator& generator,
                                     const FlowFromDirectoryOptions& options)
    : ImageIterator(make_directory_iterator(listing, generator, options)), class_names_(listing.class_names),
      file_paths_(listing.file_paths), labels_(listing.labels) {}

DirectoryIterator ImageDataGenerator::flow_from_directory(const std::string& directory, FlowFromDirectoryOptions options) const {
  return DirectoryIterator(directory, *this, std::move(options));
}

}  // namespace regula::preprocessing
