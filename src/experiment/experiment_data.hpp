#pragma once
// The experiment file's `data` section: read and checked in full before anything is loaded, then
// loaded into training, validation and test arrays.
//
// Where arrays come from (`dataset`, `validation`, `test`):
//   fashion_mnist                                   (dataset only; brings its test split)
//   {x: images.idx, y: labels.idx}                  IDX files (raw or .gz) or NumPy .npy files
//   {csv: table.csv, label_column: label}           tabular data, one row per sample
//   {directory: images/, image_size: [h, w], color_mode: rgb}   a folder per class

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "regula/tensor/tensor.hpp"

namespace regula::experiment {

/// One source of (x, y) arrays.
struct ArraySource {
  enum class Kind { files, csv, directory } kind = Kind::files;
  std::string x, y;           // files: IDX or .npy
  std::string csv;            // csv
  std::string label_column;   // csv
  std::string directory;      // directory
  std::vector<int64_t> image_size;  // directory: (height, width)
  std::string color_mode;     // directory
};

struct DataSpec {
  std::string dataset;  // "fashion_mnist", or empty when `files` names the training arrays
  std::string path;
  ArraySource files;
  std::optional<ArraySource> validation, test;
  int64_t limit = 0;
  double rescale = 1.0;
  double validation_split = 0.0;
};

struct Arrays {
  Tensor x_train, y_train, x_val, y_val, x_test, y_test;
  bool has_validation = false, has_test = false;
};

/// Reads the `data` section; throws ValueError naming the key for anything malformed.
DataSpec data_spec(const nlohmann::json& data);

/// Whether a `data` section provides validation data (validation_split > 0 or a validation source).
bool has_validation_data(const nlohmann::json& data);

/// Loads the arrays (IOError naming the file for unreadable data), applies `limit`, `rescale`
/// and the validation split (Keras's rule: the last fraction, before shuffling).
Arrays load_arrays(const DataSpec& spec);

}  // namespace regula::experiment
