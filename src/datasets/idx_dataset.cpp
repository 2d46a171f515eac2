#include "regula/datasets/idx_dataset.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <future>

#include "regula/error.hpp"
#include "regula/io/idx.hpp"

namespace regula::datasets {
namespace {

namespace fs = std::filesystem;
using io::IdxHeader;
using io::read_idx;
using io::read_idx_header;

std::string dims_string(const std::vector<int64_t>& dims) {
  std::string s = "(";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + (dims.size() == 1 ? ",)" : ")");
}

// ---------------------------------------------------------------------------------------------


// The file for `name` in `dir`: as named, else with ".gz" toggled (an unpacked or a packed copy).
std::string find_dataset_file(const IdxDatasetSpec& spec, const std::string& dir, const std::string& name) {
  fs::path primary = fs::path(dir) / name;
  std::error_code ec;
  if (fs::is_regular_file(primary, ec)) return primary.string();
  const std::string gz = ".gz";
  bool has_gz = name.size() > gz.size() && name.compare(name.size() - gz.size(), gz.size(), gz) == 0;
  fs::path alternate = fs::path(dir) / (has_gz ? name.substr(0, name.size() - gz.size()) : name + gz);
  if (fs::is_regular_file(alternate, ec)) return alternate.string();
  std::string why = fs::is_directory(dir, ec) ? "is missing" : "is missing (the directory '" + dir + "' does not exist)";
  throw IOError(spec.name + ": file '" + primary.string() + "' " + why + "; " + spec.install_hint +
                " provides the files, or set the `path` option or $" + spec.env_var + " to a directory holding " +
                spec.train_images + ", " + spec.train_labels + ", " + spec.test_images + " and " + spec.test_labels);
}

IdxImageLabels load_split(const IdxDatasetSpec& spec, const std::string& images_path, const std::string& labels_path,
                          int64_t limit, bool normalize) {
  // Headers first (a few bytes each) so shape and count errors come before any bulk reading.
  IdxHeader ih = read_idx_header(images_path);
  IdxHeader lh = read_idx_header(labels_path);
  if (ih.dims.size() != 3 || ih.dims[1] != spec.height || ih.dims[2] != spec.width)
    throw IOError(spec.name + ": images file '" + images_path + "' has dimensions " + dims_string(ih.dims) +
                  ", expected (N, " + std::to_string(spec.height) + ", " + std::to_string(spec.width) + ")");
  if (lh.dims.size() != 1)
    throw IOError(spec.name + ": labels file '" + labels_path + "' has dimensions " + dims_string(lh.dims) +
                  ", expected (N,)");
  if (ih.dims[0] != lh.dims[0])
    throw IOError(spec.name + ": image and label counts differ: '" + images_path + "' holds " +
                  std::to_string(ih.dims[0]) + " images but '" + labels_path + "' holds " + std::to_string(lh.dims[0]) +
                  " labels");

  IdxImageLabels split;
  split.y = read_idx(labels_path, {.max_rows = limit});
  const float* y = split.y.data();
  for (int64_t i = 0; i < split.y.size(); ++i) {
    float v = y[i];
    if (!(v >= 0.0f && v < static_cast<float>(spec.num_classes)) || std::trunc(v) != v)
      throw IOError(spec.name + ": labels file '" + labels_path + "' has label " + std::to_string(v) + " at sample " +
                    std::to_string(i) + "; labels must be integers in [0, " + std::to_string(spec.num_classes - 1) + "]");
  }
  Tensor x = read_idx(images_path, {.max_rows = limit, .divisor = normalize ? 255.0f : 1.0f});
  split.x = x.reshaped(Shape{x.dim(0), spec.height, spec.width, 1});
  return split;
}

}  // namespace

std::string resolve_idx_dataset_dir(const IdxDatasetSpec& spec, const std::string& path) {
  if (!path.empty()) return path;
  if (!spec.env_var.empty()) {
    const char* env = std::getenv(spec.env_var.c_str());
    if (env != nullptr && *env != '\0') return env;
  }
  return spec.default_dir;
}

IdxDataset load_idx_dataset(const IdxDatasetSpec& spec, const IdxDatasetOptions& options) {
  if (options.limit < 0)
    throw ValueError(spec.name + " load_data: limit must be >= 0 (0 = all training samples), got " +
                     std::to_string(options.limit));
  const std::string dir = resolve_idx_dataset_dir(spec, options.path);
  // All four located before reading any, so a missing file is reported before seconds of work.
  const std::string train_images = find_dataset_file(spec, dir, spec.train_images);
  const std::string train_labels = find_dataset_file(spec, dir, spec.train_labels);
  const std::string test_images = find_dataset_file(spec, dir, spec.test_images);
  const std::string test_labels = find_dataset_file(spec, dir, spec.test_labels);
  // Decompression is single-threaded per file; reading the test split on a second thread hides
  // most of its cost behind the (larger) training split.
  auto test = std::async(std::launch::async,
                         [&] { return load_split(spec, test_images, test_labels, 0, options.normalize); });
  IdxDataset data;
  data.train = load_split(spec, train_images, train_labels, options.limit, options.normalize);
  data.test = test.get();
  return data;
}

}  // namespace regula::datasets
