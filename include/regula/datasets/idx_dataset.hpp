#pragma once
/// @file
/// Image-classification data sets stored as four IDX files (the MNIST layout), for the loaders
/// in regula/datasets (Fashion-MNIST; MNIST, KMNIST and EMNIST have the same layout). The files
/// are read with regula/io/idx.hpp.

#include <cstdint>
#include <string>

#include "regula/tensor/tensor.hpp"

namespace regula::datasets {

/// What one IDX image-classification data set looks like and where it is usually installed.
struct IdxDatasetSpec {
  /// Name used in error messages, e.g. "Fashion-MNIST".
  std::string name;
  /// Environment variable naming the directory, consulted when no path is given.
  std::string env_var;
  /// Directory used when neither a path nor the environment variable is given.
  std::string default_dir;
  /// How to obtain the files, appended to a missing-file error, e.g.
  /// "apt-get install dataset-fashion-mnist".
  std::string install_hint;
  /// File names inside the directory. Each name is tried as given and, when absent, with ".gz"
  /// appended or removed, so unpacked copies work too.
  std::string train_images;
  std::string train_labels;
  std::string test_images;
  std::string test_labels;
  /// Expected image height and width (each image file must be (N, height, width)).
  int64_t height = 28;
  int64_t width = 28;
  /// Labels must be integers in [0, num_classes).
  int64_t num_classes = 10;
};

/// Options of `load_idx_dataset` (see `regula::datasets::fashion_mnist::LoadOptions`).
struct IdxDatasetOptions {
  /// Directory of the four files; empty: `$<env_var>` if set and non-empty, else `default_dir`.
  std::string path = "";
  /// Divide pixels by 255 into [0, 1]; false keeps 0..255 (Keras's values, as float).
  bool normalize = true;
  /// Load only the first `limit` training samples (0 = all); the test split is always whole.
  int64_t limit = 0;
};

/// Images and labels of one split: x is (N, height, width, 1) float32 (channels last, ready
/// for Conv2D), y is (N) float32 class indices.
struct IdxImageLabels {
  Tensor x;
  Tensor y;
};

/// Both splits of an IDX image-classification data set.
struct IdxDataset {
  IdxImageLabels train;
  IdxImageLabels test;
};

/// The directory `load_idx_dataset` reads for `spec` and `path` (the resolution rule above).
std::string resolve_idx_dataset_dir(const IdxDatasetSpec& spec, const std::string& path = "");

/// Loads both splits of `spec`. Checks that every file exists (else `IOError` naming the file
/// and `spec.install_hint`), that image and label counts agree (naming both files and counts),
/// that images are (N, height, width), labels are one-dimensional and every label is an
/// integer in [0, num_classes) (naming the file, the sample index and the value).
IdxDataset load_idx_dataset(const IdxDatasetSpec& spec, const IdxDatasetOptions& options = {});


}  // namespace regula::datasets
