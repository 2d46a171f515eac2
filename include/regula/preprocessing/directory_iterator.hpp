#pragma once
/// @file
/// DirectoryIterator (Keras `keras.preprocessing.image.DirectoryIterator`): batches of augmented
/// images read from a folder per class, made by `ImageDataGenerator::flow_from_directory`.
///
/// ```cpp
/// preprocessing::ImageDataGenerator datagen({.rotation_range = 10, .rescale = 1.0 / 255, .validation_split = 0.2});
/// auto train = datagen.flow_from_directory("images/", {.target_size = {64, 64}, .subset = "training"});
/// auto val = datagen.flow_from_directory("images/", {.target_size = {64, 64}, .subset = "validation"});
/// model.fit(train, {.epochs = 10, .validation_data = rg::ValidationData{.source = &val}});
/// ```
///
/// The files are listed once (preprocessing::list_image_directory: classes, labels, each header checked)
/// and decoded batch by batch on the worker threads, resized to target_size with `interpolation`,
/// then augmented and standardized. y follows class_mode: "categorical" one-hot (N, classes),
/// "binary" and "sparse" the class index (N), "input" a copy of x, "none" nothing.

#include <string>
#include <vector>

#include "regula/preprocessing/image_data_generator.hpp"
#include "regula/preprocessing/image_directory.hpp"
#include "regula/preprocessing/image_iterator.hpp"

namespace regula::preprocessing {

class DirectoryIterator : public ImageIterator {
 public:
  /// See `ImageDataGenerator::flow_from_directory`. Throws ValueError for an unknown color_mode,
  /// class_mode, interpolation or subset and for a target size < 1; IOError as
  /// `preprocessing::list_image_directory`. The generator is copied.
  DirectoryIterator(const std::string& directory, const ImageDataGenerator& generator, FlowFromDirectoryOptions options);

  /// Class names in label order (Keras's `class_indices` keys).
  const std::vector<std::string>& class_names() const { return class_names_; }
  /// The image files in data order (index i is sample i before shuffling; Keras's `filepaths`).
  const std::vector<std::string>& file_paths() const { return file_paths_; }
  /// The label of each file (Keras's `classes`).
  const std::vector<int64_t>& labels() const { return labels_; }

 private:
  DirectoryIterator(preprocessing::ImageDirectoryListing listing, const ImageDataGenerator& generator,
                    const FlowFromDirectoryOptions& options);
  std::vector<std::string> class_names_;
  std::vector<std::string> file_paths_;
  std::vector<int64_t> labels_;
};

}  // namespace regula::preprocessing
