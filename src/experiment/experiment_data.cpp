// The experiment file's data section: sources of arrays, limits, rescaling and the splits.

#include "src/experiment/experiment_data.hpp"

#include <filesystem>

#include "regula/config/config_reader.hpp"
#include "regula/datasets/fashion_mnist.hpp"
#include "regula/error.hpp"
#include "regula/io/csv.hpp"
#include "regula/io/idx.hpp"
#include "regula/io/npy.hpp"
#include "regula/preprocessing/image_directory.hpp"
#include "regula/training/class_weight.hpp"

namespace regula::experiment {
namespace {

using nlohmann::json;

const char* const kSourceForms =
    "fashion_mnist (dataset only), {x: images, y: labels} (IDX or .npy files), {csv: table.csv, label_column: label} "
    "or {directory: images/, image_size: [h, w], color_mode: rgb}";

/// Image arrays read from IDX or .npy files may be (N, H, W); Conv2D wants channels last: (N, H, W, 1).
Tensor with_channel_axis(Tensor x) {
  if (x.rank() == 3) return x.reshaped(Shape{x.dim(0), x.dim(1), x.dim(2), 1});
  return x;
}

ArraySource array_source(const json& section, const std::string& where) {
  if (!section.is_object()) throw ValueError(where + " must be one of: " + kSourceForms);
  config::ConfigReader r(section, where);
  ArraySource s;
  if (r.has("directory")) {
    s.kind = ArraySource::Kind::directory;
    s.directory = r.get_string("directory", "");
    s.image_size = r.get_ints("image_size", {256, 256});
    s.color_mode = r.get_string("color_mode", "rgb");
    if (s.image_size.size() != 2) throw ValueError(where + ".image_size must be [height, width]");
  } else if (r.has("csv")) {
    s.kind = ArraySource::Kind::csv;
    s.csv = r.get_string("csv", "");
    s.label_column = r.get_string("label_column", "label");
  } else {
    s.x = r.get_string("x", "");
    s.y = r.get_string("y", "");
    if (s.x.empty() || s.y.empty()) throw ValueError(where + ": give both 'x' and 'y' (IDX files, raw or .gz, or .npy files); or use " + kSourceForms);
  }
  r.expect_all_read();
  return s;
}

Tensor read_array_file(const std::string& path) {
  if (std::filesystem::path(path).extension() == ".npy") return io::load_npy(path);
  return io::read_idx(path);
}

std::pair<Tensor, Tensor> read_xy(const ArraySource& s, double rescale) {
  Tensor x, y;
  switch (s.kind) {
    case ArraySource::Kind::files:
      x = with_channel_axis(read_array_file(s.x));
      y = read_array_file(s.y);
      break;
    case ArraySource::Kind::csv: {
      io::XY xy = io::load_csv_dataset(s.csv, {.label_column = s.label_column});
      x = xy.x;
      y = xy.y;
      break;
    }
    case ArraySource::Kind::directory: {
      preprocessing::ImageDataset d = preprocessing::image_dataset_from_directory(
          s.directory, {.color_mode = s.color_mode, .image_size = {s.image_size[0], s.image_size[1]}, .shuffle = false});
      x = d.x;
      y = d.y;
      break;
    }
  }
  if (rescale != 1.0) {
    x = x.clone();
    for (float& v : x.values()) v = static_cast<float>(v * rescale);
  }
  return {x, y};
}

}  // namespace

bool has_validation_data(const json& data) {
  return data.contains("validation") || (data.contains("validation_split") && data["validation_split"].is_number() &&
                                         data["validation_split"].get<double>() > 0.0);
}

DataSpec data_spec(const json& data) {
  config::ConfigReader r(data, "experiment: data");
  DataSpec spec;
  spec.limit = r.get_int("limit", 0);
  if (spec.limit < 0) throw ValueError("experiment: data.limit=" + std::to_string(spec.limit) + " must be >= 0 (0 = all samples)");
  spec.rescale = r.get_double("rescale", 1.0);
  spec.path = r.get_string("path", "");
  spec.validation_split = r.get_double("validation_split", 0.0);
  const auto dataset = r.get_json("dataset");
  if (dataset && dataset->is_string()) {
    spec.dataset = dataset->get<std::string>();
    if (spec.dataset != "fashion_mnist")
      throw ValueError("experiment: data.dataset='" + spec.dataset + "' is not built in; use " + kSourceForms);
  } else if (dataset) {
    spec.files = array_source(*dataset, "experiment: data.dataset");
  } else {
    throw ValueError(std::string("experiment: data.dataset is missing; use ") + kSourceForms);
  }
  if (const auto v = r.get_json("validation")) spec.validation = array_source(*v, "experiment: data.validation");
  if (const auto t = r.get_json("test")) spec.test = array_source(*t, "experiment: data.test");
  r.expect_all_read();
  return spec;
}

Arrays load_arrays(const DataSpec& spec) {
  Arrays a;
  if (!spec.dataset.empty()) {
    auto d = datasets::fashion_mnist::load_data({.path = spec.path, .limit = spec.limit});
    a.x_train = d.train.x;
    a.y_train = d.train.y;
    a.x_test = d.test.x;
    a.y_test = d.test.y;
    a.has_test = true;
  } else {
    std::tie(a.x_train, a.y_train) = read_xy(spec.files, spec.rescale);
    if (spec.limit > 0 && spec.limit < a.x_train.dim(0)) {
      a.x_train = a.x_train.slice_rows(0, spec.limit);
      a.y_train = a.y_train.slice_rows(0, spec.limit);
    }
  }
  if (spec.test) {
    std::tie(a.x_test, a.y_test) = read_xy(*spec.test, spec.rescale);
    a.has_test = true;
  }
  if (spec.validation) {
    std::tie(a.x_val, a.y_val) = read_xy(*spec.validation, spec.rescale);
    a.has_validation = true;
  } else if (spec.validation_split != 0.0) {
    // Keras's validation_split: the last fraction of the samples, before shuffling.
    const int64_t split = training::validation_split_index(a.x_train.dim(0), spec.validation_split);
    a.x_val = a.x_train.slice_rows(split, a.x_train.dim(0));
    a.y_val = a.y_train.slice_rows(split, a.y_train.dim(0));
    a.x_train = a.x_train.slice_rows(0, split);
    a.y_train = a.y_train.slice_rows(0, split);
    a.has_validation = true;
  }
  return a;
}

}  // namespace regula::experiment
