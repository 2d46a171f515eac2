#pragma once
/// @file
/// ImageDataGenerator (Keras `keras.preprocessing.image.ImageDataGenerator`): random image
/// augmentation and standardization, with Keras's option names, defaults and order of operations.
///
/// ```cpp
/// preprocessing::ImageDataGenerator datagen({.rotation_range = 10, .width_shift_range = 0.1,
///     .height_shift_range = 0.1, .zoom_range = 0.2, .horizontal_flip = true});
/// model.fit(datagen.flow(x_train, y_train, {.batch_size = 128}), {.epochs = 50});
/// ```
///
/// Per image, in Keras's order: one affine warp (rotation, shift, shear and zoom composed about
/// the image centre, bilinear interpolation, `fill_mode` outside the image), then the channel
/// shift, the flips and the brightness factor; `standardize` comes last (preprocessing_function,
/// rescale, samplewise then featurewise centering and normalization).
///
/// Images are float32 (H, W, C), channels last. Randomness is counter-based: the transform of a
/// sample is a pure function of a 64-bit seed, so augmentation gives the same images whatever
/// the number of worker threads.
///
/// Not built: zca_whitening, interpolation orders other than bilinear, data_format
/// "channels_first".

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "regula/data/batch_source.hpp"
#include "regula/tensor/shape.hpp"
#include "regula/tensor/tensor.hpp"

namespace regula::preprocessing {

class NumpyArrayIterator;
class DirectoryIterator;

/// Keras's zoom_range: a scalar z means zoom factors drawn from [1 − z, 1 + z]; a pair
/// {low, high} is used as it is. Factors are drawn independently for width and height.
struct ZoomRange {
  ZoomRange(double z = 0.0) : low(1.0 - z), high(1.0 + z) {}
  ZoomRange(double low, double high) : low(low), high(high) {}
  double low;
  double high;
};

/// `ImageDataGenerator` options in Keras's order and with Keras's defaults.
struct ImageDataGeneratorOptions {
  /// Set the data set's per-channel mean to 0 (needs `fit`).
  bool featurewise_center = false;
  /// Set each image's mean to 0.
  bool samplewise_center = false;
  /// Divide by the data set's per-channel standard deviation (needs `fit`).
  bool featurewise_std_normalization = false;
  /// Divide each image by its standard deviation.
  bool samplewise_std_normalization = false;
  /// Rotation in degrees, drawn from [−rotation_range, rotation_range].
  double rotation_range = 0.0;
  /// Horizontal shift drawn from [−r, r]: a fraction of the width when r < 1, pixels otherwise.
  double width_shift_range = 0.0;
  /// Vertical shift drawn from [−r, r]: a fraction of the height when r < 1, pixels otherwise.
  double height_shift_range = 0.0;
  /// Brightness factor drawn from [low, high] (none by default); needs 0 ≤ low ≤ high. regula
  /// multiplies every value by the factor and keeps the image's scale. Keras goes through PIL
  /// instead (array_to_img scales the image to 0..255, ImageEnhance.Brightness, back), which
  /// leaves [0, 1] images on a 0..255 scale (a known Keras issue).
  std::optional<std::array<double, 2>> brightness_range = std::nullopt;
  /// Shear angle in degrees (counter-clockwise), drawn from [−shear_range, shear_range].
  double shear_range = 0.0;
  ZoomRange zoom_range = 0.0;
  /// Value added to every channel, drawn once per image from [−r, r], clipped to the image's range.
  double channel_shift_range = 0.0;
  /// Points outside the image: "nearest" (aaaa|abcd|dddd), "constant" (kkkk|abcd|kkkk with
  /// k = cval), "reflect" (dcba|abcd|dcba), "wrap" (abcd|abcd|abcd).
  std::string fill_mode = "nearest";
  double cval = 0.0;
  /// Flip each image left-right with probability 1/2.
  bool horizontal_flip = false;
  /// Flip each image upside-down with probability 1/2.
  bool vertical_flip = false;
  /// Multiply every value by this factor; 0 means none (Keras's None).
  double rescale = 0.0;
  /// Called on each image (an (H, W, C) view, changed in place) first in `standardize`, after the
  /// augmentation. Runs on worker threads: it must be thread-safe.
  std::function<void(Tensor& image)> preprocessing_function = nullptr;
  /// Fraction of the data reserved for `subset = "validation"` in `flow` / `flow_from_directory`.
  double validation_split = 0.0;
};

/// The parameters of one random transform (Keras's `get_random_transform` dictionary).
struct TransformParameters {
  /// Rotation, degrees.
  double theta = 0.0;
  /// Vertical shift in pixels (Keras's `tx`): the image content moves up by tx.
  double tx = 0.0;
  /// Horizontal shift in pixels (Keras's `ty`): the image content moves left by ty.
  double ty = 0.0;
  /// Shear, degrees.
  double shear = 0.0;
  /// Zoom factors along the rows (zx) and columns (zy): a factor below 1 enlarges the content.
  double zx = 1.0;
  double zy = 1.0;
  bool flip_horizontal = false;
  bool flip_vertical = false;
  double channel_shift_intensity = 0.0;
  /// Brightness factor; nullopt leaves brightness alone.
  std::optional<double> brightness = std::nullopt;
};

/// `flow` options in Keras's order.
struct FlowOptions {
  int64_t batch_size = 32;
  bool shuffle = true;
  /// Seed of the shuffling and of the random transforms; nullopt derives one from the global seed
  /// (`set_random_seed`).
  std::optional<uint64_t> seed = std::nullopt;
  /// Per-sample weights (N), returned with each batch.
  Tensor sample_weight = {};
  /// "" (all the data), "training" or "validation" (with the generator's validation_split).
  std::string subset = "";
  /// Worker threads preparing batches ahead of the training step (at least 1).
  int workers = 1;
  /// Batches prepared ahead at most (Keras's max_queue_size).
  int max_queue_size = 10;
};

/// `flow_from_directory` options in Keras's order.
struct FlowFromDirectoryOptions {
  /// Every image is resized to (height, width) on load.
  std::array<int64_t, 2> target_size = {256, 256};
  /// "grayscale" (1 channel), "rgb" (3) or "rgba" (4).
  std::string color_mode = "rgb";
  /// Class sub-folder names in label order; empty: every sub-folder, sorted by name.
  std::vector<std::string> classes = {};
  /// "categorical" (one-hot y), "binary" (y 0/1, two classes), "sparse" (class index), "input"
  /// (y = x, for autoencoders) or "none" (no y).
  std::string class_mode = "categorical";
  int64_t batch_size = 32;
  bool shuffle = true;
  std::optional<uint64_t> seed = std::nullopt;
  /// Follow symbolic links to sub-folders.
  bool follow_links = false;
  std::string subset = "";
  /// "nearest" (Keras's default for flow_from_directory) or "bilinear".
  std::string interpolation = "nearest";
  /// What to do with a file that cannot be decoded: "raise" (IOError naming the file) or "skip"
  /// (a warning naming it on stderr; the file is left out).
  std::string on_error = "raise";
  int workers = 1;
  int max_queue_size = 10;
};

class ImageDataGenerator {
 public:
  /// Throws ValueError naming the option for values out of range (negative ranges, zoom ≤ 0,
  /// brightness low > high, an unknown fill_mode, validation_split outside [0, 1)). As in Keras,
  /// featurewise_std_normalization turns on featurewise_center and samplewise_std_normalization
  /// turns on samplewise_center, with a warning.
  explicit ImageDataGenerator(ImageDataGeneratorOptions options = {});

  const ImageDataGeneratorOptions& options() const { return options_; }

  /// Draws the random transform of one image of `image_shape` (H, W, C) from `seed` (Keras's
  /// `get_random_transform`); the same seed gives the same parameters.
  TransformParameters get_random_transform(const Shape& image_shape, uint64_t seed) const;
  /// Applies `parameters` to `image` (H, W, C) and returns the result (Keras's `apply_transform`).
  Tensor apply_transform(const Tensor& image, const TransformParameters& parameters) const;
  /// Applies `parameters` to the (H, W, C) image at `source`, writing it to `destination` (which
  /// must not overlap the source).
  void apply_transform(const float* source, float* destination, const Shape& image_shape,
                       const TransformParameters& parameters) const;
  /// A randomly transformed copy of `image` (H, W, C), drawn from `seed`.
  Tensor random_transform(const Tensor& image, uint64_t seed) const;

  /// Standardizes `x` in place: one image (H, W, C) or a batch (N, H, W, C), each image on its
  /// own. Keras's order: preprocessing_function, rescale, samplewise centering (the image's mean
  /// over all values), samplewise normalization (÷ (std + 1e-6)), featurewise centering (the
  /// per-channel mean from `fit`), featurewise normalization (÷ (std + 1e-6)). Keras's rule when a
  /// featurewise option is set but `fit` was not called: a warning (printed once per generator)
  /// and the featurewise step is left out. Safe to call from several threads on different images.
  void standardize(Tensor& x) const;
  /// Standardizes the (H, W, C) image at `image` in place.
  void standardize(float* image, const Shape& image_shape) const;

  /// Computes the per-channel mean and (population) standard deviation of `x` (N, H, W, C), after
  /// rescale, for the featurewise options. With `augment`, over `rounds` randomly transformed
  /// copies of x; the transform of sample i in round r is drawn from a seed mixed from `seed`,
  /// r and i. Throws ValueError for x not of rank 4 or without samples.
  void fit(const Tensor& x, bool augment = false, int rounds = 1, uint64_t seed = 0);
  /// Per-channel mean and standard deviation from `fit` (empty before).
  const std::vector<float>& mean() const { return mean_; }
  const std::vector<float>& std() const { return std_; }

  /// Batches of augmented, standardized images from arrays x (N, H, W, C) and y (N, …) or no y.
  /// Throws ValueError/ShapeError for arrays that do not fit (naming both lengths), an unknown
  /// subset, or a subset without validation_split.
  NumpyArrayIterator flow(const Tensor& x, const Tensor& y, FlowOptions options = {}) const;
  NumpyArrayIterator flow(const Tensor& x, FlowOptions options = {}) const;
  /// Batches of augmented images read from `directory`'s class sub-folders (PNG, JPEG, BMP).
  /// Prints Keras's "Found N images belonging to K classes." Throws IOError for a missing
  /// directory, ValueError when no class has an image.
  DirectoryIterator flow_from_directory(const std::string& directory, FlowFromDirectoryOptions options = {}) const;

 private:
  /// Whether the "featurewise option without fit" warnings were printed (shared by copies).
  struct UnfitWarnings;

  /// The standardize steps after preprocessing_function, on one (H, W, C) image.
  void standardize_values(float* image, const Shape& image_shape) const;

  ImageDataGeneratorOptions options_;
  std::vector<float> mean_;
  std::vector<float> std_;
  std::shared_ptr<UnfitWarnings> unfit_warnings_;
};

}  // namespace regula::preprocessing
