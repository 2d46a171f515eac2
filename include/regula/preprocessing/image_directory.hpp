#pragma once
/// @file
/// Image-classification data sets stored as one folder per class:
///
/// ```
/// directory/
///   cats/   cat001.jpg  cat002.png  more/cat003.jpg
///   dogs/   dog001.jpg  ...
/// ```
///
/// - `list_image_directory`: the file listing of Keras's `DirectoryIterator`
///   (`ImageDataGenerator.flow_from_directory`), with its per-class validation split
///   (`subset_range`, `select_subset`).
/// - `image_dataset_from_directory`: Keras's `keras.utils.image_dataset_from_directory`, loaded
///   eagerly into one (N, height, width, channels) tensor.
///
/// Listing rules (Keras's): the classes are the sub-folders of `directory` sorted by name (or
/// the `classes` given, in the order given); a class's images are all files with an allowed
/// extension (case-insensitive) in its folder and in every nested sub-folder, folders visited in
/// sorted order of their paths and files sorted by name within a folder; class `i` of
/// `class_names` has label `i`. Symbolic links to folders are followed only with
/// `follow_links` (links to files always count, as in `os.walk`).
///
/// Every file's header is checked up front (stb's `stbi_info`): a file that is not a readable
/// image is reported before any training starts, with `on_error = "raise"` as an `IOError`
/// naming the file and the decoder's reason, with `"skip"` as a warning on stderr naming the
/// file, and the file is left out. A class folder without images gives a warning naming it and
/// the class is kept (Keras keeps it silently), so labels do not depend on which folders happen
/// to be empty.
///
/// Errors (`IOError`): the directory does not exist or is not a folder; a class named in
/// `classes` / `class_names` has no folder; no images at all (the message lists the allowed
/// extensions); a corrupt image with `on_error = "raise"`. Bad option values throw `ValueError`
/// listing the allowed values.
///
/// Differences from Keras: Keras does not check image headers up front, does not warn about
/// empty class folders and, in `flow_from_directory`, silently finds 0 images; a missing class
/// folder is an error here. `image_dataset_from_directory` returns whole arrays rather than a
/// batched `tf.data.Dataset` (batching is left to `fit`, whose `batch_size` does it), and its
/// shuffle uses regula's generator, so for a given seed the order (and with `validation_split`
/// the split) differs from Keras's NumPy-based one. Only `labels = "inferred"` is supported, and
/// `subset = "both"` is not (call twice with "training" and "validation").

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "regula/preprocessing/image.hpp"
#include "regula/tensor/tensor.hpp"

namespace regula::preprocessing {

/// Options of `list_image_directory`.
struct ImageDirectoryOptions {
  /// Class folder names, in label order; empty: every sub-folder of the directory, sorted.
  std::vector<std::string> classes = {};
  /// Descend into symbolic links to folders.
  bool follow_links = false;
  /// What to do with a file whose header stb cannot read: "raise" (IOError) or "skip" (warn).
  std::string on_error = "raise";
  /// Allowed file extensions, lower case, without the dot. Keras's DirectoryIterator also lists
  /// tif/tiff (which stb cannot decode) and ppm (which it can: add "ppm" to accept it).
  std::vector<std::string> formats = {"png", "jpg", "jpeg", "bmp"};
};

/// The images of an image directory, class by class.
struct ImageDirectoryListing {
  /// Class names in label order.
  std::vector<std::string> class_names;
  /// Paths of the image files (`directory/class/...`), grouped by class in label order.
  std::vector<std::string> file_paths;
  /// The label (index into `class_names`) of each file.
  std::vector<int64_t> labels;
};

/// Lists the images of `directory` by Keras's DirectoryIterator rules (see the file comment).
/// Throws `IOError` for a missing directory or class folder, no images, or (with "raise") an
/// unreadable image; `ValueError` for an unknown `on_error`.
ImageDirectoryListing list_image_directory(const std::string& directory, const ImageDirectoryOptions& options = {});

/// The files [first, second) of a class of `files_in_class` files that `flow_from_directory`
/// uses for `subset` with `validation_split` (Keras's rule): "validation" takes the first
/// int(validation_split · n) files of each class, "training" the rest, "" all of them. Throws
/// `ValueError` for a split outside [0, 1) or an unknown subset.
std::pair<size_t, size_t> subset_range(size_t files_in_class, double validation_split, const std::string& subset);

/// The listing restricted to `subset`, applying `subset_range` to each class in turn.
ImageDirectoryListing select_subset(const ImageDirectoryListing& listing, double validation_split,
                                    const std::string& subset);

/// Options of `image_dataset_from_directory`, in Keras's order and with Keras's defaults
/// (`batch_size` is `fit`'s business here).
struct ImageDatasetOptions {
  /// Only "inferred": labels come from the class folders.
  std::string labels = "inferred";
  /// "int" (y is (N) class indices), "categorical" (y is (N, classes) one-hot), "binary" (y is
  /// (N, 1) of 0/1; exactly two classes) or "none" (no y).
  std::string label_mode = "int";
  /// Class folders to use, in label order; empty: every sub-folder, sorted.
  std::vector<std::string> class_names = {};
  /// "rgb", "grayscale" or "rgba" (3, 1 or 4 channels).
  std::string color_mode = "rgb";
  /// Every image is resized to this (height, width).
  preprocessing::ImageSize image_size = {256, 256};
  /// Shuffle the files (of all classes together) before the validation split.
  bool shuffle = true;
  /// Seed of the shuffle; none: drawn from regula's global seed (`set_random_seed`). Needed
  /// with `shuffle` and `validation_split` so that "training" and "validation" calls agree.
  std::optional<uint64_t> seed = std::nullopt;
  /// Fraction of the files (the last ones after the shuffle) for `subset = "validation"`.
  double validation_split = 0.0;
  /// "training", "validation" or "" (all files; only with validation_split = 0).
  std::string subset = "";
  /// "bilinear" or "nearest" (as `tf.image.resize`).
  std::string interpolation = "bilinear";
  /// Descend into symbolic links to folders.
  bool follow_links = false;
  /// Crop each image's centre to the aspect ratio of `image_size` before resizing
  /// (`smart_resize`) instead of stretching it.
  bool crop_to_aspect_ratio = false;
  /// "raise" or "skip" for unreadable images (see `ImageDirectoryOptions::on_error`).
  std::string on_error = "raise";
  /// Print Keras's "Found N files belonging to K classes." / "Using M files for training."
  bool verbose = true;
};

/// Images and labels of an image directory, loaded eagerly.
struct ImageDataset {
  /// (N, height, width, channels) float32, values 0..255.
  Tensor x;
  /// Labels as `label_mode` says; empty with "none".
  Tensor y;
  std::vector<std::string> class_names;
  /// The file of each sample, in sample order.
  std::vector<std::string> file_paths;
};

/// Keras's `image_dataset_from_directory` (allowed extensions bmp, gif, jpeg, jpg, png), loaded
/// eagerly: the files of all classes are listed, shuffled together with `seed`, and with a
/// `validation_split` the last int(validation_split · N) files are the validation subset and the
/// others the training subset. Throws `ValueError` for inconsistent options (Keras's checks:
/// `subset` and `validation_split` go together, a split in (0, 1), a seed when shuffling a split,
/// exactly two classes for "binary"), `IOError` as `list_image_directory` and for an image that
/// cannot be decoded (with "raise").
ImageDataset image_dataset_from_directory(const std::string& directory, const ImageDatasetOptions& options = {});

}  // namespace regula::preprocessing
