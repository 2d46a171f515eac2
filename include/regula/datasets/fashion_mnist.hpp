#pragma once
/// @file
/// Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017): 70,000 grayscale 28x28 images of clothing in 10
/// classes, 60,000 for training and 10,000 for testing, 6,000 / 1,000 per class. Keras
/// equivalent: `keras.datasets.fashion_mnist.load_data()`.
///
/// regula reads the four IDX files from a local directory and never downloads; on Debian the
/// package `dataset-fashion-mnist` installs them in /usr/share/datasets/fashion-mnist:
/// train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz,
/// t10k-labels-idx1-ubyte.gz (unpacked copies without ".gz" work too).
///
/// Differences from Keras, on purpose: x is float32 (N, 28, 28, 1), channels last and ready
/// for Conv2D (Keras gives uint8 (N, 28, 28)); by default it is divided by 255 into [0, 1]
/// (`normalize = false` gives Keras's 0..255 values); y is float32 class indices (N) rather
/// than uint8, ready for sparse categorical cross-entropy or `utils::to_categorical`.
///
/// Example:
/// @code
///   auto [train, test] = regula::datasets::fashion_mnist::load_data();
///   // train.x: (60000, 28, 28, 1) in [0, 1]; train.y: (60000) in {0, ..., 9}
///   auto quick = regula::datasets::fashion_mnist::load_data({.limit = 1000});
/// @endcode

#include <cstdint>
#include <string>
#include <vector>

#include "regula/datasets/idx_dataset.hpp"
#include "regula/tensor/tensor.hpp"

namespace regula::datasets::fashion_mnist {

/// One split: x is (N, 28, 28, 1) float32, y is (N) float32 class indices 0..9.
struct Split {
  Tensor x;
  Tensor y;
};

/// Both splits, as Keras's `(x_train, y_train), (x_test, y_test)`.
struct Data {
  Split train;
  Split test;
};

/// Options of `load_data`.
struct LoadOptions {
  /// Directory holding the four files. Empty: $REGULA_FASHION_MNIST_DIR when set and non-empty,
  /// else /usr/share/datasets/fashion-mnist.
  std::string path = "";
  /// Divide pixels by 255 into [0, 1] (exactly numpy's `x.astype("float32") / 255`). false keeps
  /// Keras's 0..255 values (as float32).
  bool normalize = true;
  /// Load only the first `limit` training samples (0 = all 60,000; more than 60,000 = all); only
  /// those rows are decompressed, which makes quick experiments start faster. The test split is
  /// always loaded whole.
  int64_t limit = 0;
};

/// Loads Fashion-MNIST. Throws `IOError` when a file is missing (naming the file and that
/// `apt-get install dataset-fashion-mnist` provides it), corrupt (see `io::read_idx`), when
/// image and label counts differ (naming both files and counts), images are not 28x28 or a
/// label is outside 0..9; `ValueError` for a negative limit. Each file is decompressed once and
/// converted in the same streaming pass, the test split on a second thread; the full set takes
/// about 0.45 s of CPU, almost all of it zlib inflating the 26 MB training-image file.
Data load_data(LoadOptions options = {});

/// The class names, indexed by label: "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
/// "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot".
const std::vector<std::string>& class_names();

/// Number of classes (10).
inline constexpr int64_t kNumClasses = 10;

/// The file names, install hint and default directory used by `load_data` (the generic IDX
/// data set description; MNIST-layout data sets differ only in these fields).
const datasets::IdxDatasetSpec& spec();

}  // namespace regula::datasets::fashion_mnist
