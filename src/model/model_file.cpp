#include "regula/model/model_file.hpp"

#include <cstdio>

#include "regula/error.hpp"
#include "regula/io/file_bytes.hpp"
#include "regula/io/hdf5_file.hpp"
#include "regula/model/model_config.hpp"

namespace regula {
namespace {

using io::Hdf5File;
using io::Hdf5Group;
using io::write_atomically;
using nlohmann::json;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void check_extension(const std::string& path, const char* what) {
  if (!ends_with(path, ".h5") && !ends_with(path, ".hdf5"))
    throw ValueError(std::string(what) + ": '" + path +
                     "' has an unsupported extension; allowed: .h5, .hdf5, .weights.h5 (Keras's legacy HDF5 format)");
}

// Writes a model file through a temporary file renamed into place, so readers never see a partial file.
template <class Fn>
void write_model_file(const std::string& path, Fn&& fill) {
  io::write_atomically(path, [&](const std::string& tmp) {
    Hdf5File file = Hdf5File::create(tmp);
    file.set_attr("regula_format_version", std::string(kModelFormatVersion));
    file.set_attr("keras_version", std::string("3.0.0-regula"));
    file.set_attr("backend", std::string("regula"));
    fill(file);
    file.close();
  });
}

Hdf5File open_checked(const std::string& path) {
  Hdf5File file = Hdf5File::open(path);
  if (!file.has_attr("regula_format_version"))
    throw IOError(path + ": not a regula model file (no regula_format_version attribute)");
  const std::string version = file.attr_string("regula_format_version");
  if (version != kModelFormatVersion)
    throw IOError(path + ": regula_format_version is '" + version + "', this build reads '" + kModelFormatVersion + "'");
  return file;
}

std::string weight_path(const layers::Layer& layer, const layers::Weight& w) {
  return layer.name() + "/" + w.name + ":0";
}

// Keras's layout: group per layer with its weight names and datasets.
void write_layer_weights(Hdf5Group& root, const Model& model) {
  std::vector<std::string> names;
  for (const layers::Layer* layer : model.layers()) names.push_back(layer->name());
  root.set_attr("layer_names", names);
  for (const layers::Layer* layer : model.layers()) {
    Hdf5Group g = root.create_group(layer->name());
    std::vector<std::string> weight_names;
    for (const layers::Weight& w : layer->weights()) {
      weight_names.push_back(weight_path(*layer, w));
      g.write_dataset(weight_names.back(), w.value);
    }
    g.set_attr("weight_names", weight_names);
  }
}

void read_layer_weights(const Hdf5Group& root, Model& model, const std::string& path) {
  // Layers with weights in the model and in the file, matched in order (Keras's by_name=False).
  std::vector<layers::Layer*> targets;
  for (layers::Layer* layer : model.layers())
    if (!layer->weights().empty()) targets.push_back(layer);
  struct Source {
    std::string layer;
    std::vector<std::string> weights;
  };
  std::vector<Source> sources;
  for (const std::string& name : root.attr_strings("layer_names")) {
    Source s{name, root.group(name).attr_strings("weight_names")};
    if (!s.weights.empty()) sources.push_back(std::move(s));
  }
  if (sources.size() != targets.size())
    throw ShapeError(path + ": the file has weights for " + std::to_string(sources.size()) +
                     " layers but model '" + model.name() + "' has " + std::to_string(targets.size()) +
                     " layers with weights");
  // Read and check everything before changing anything.
  std::vector<Tensor> values;
  for (size_t i = 0; i < targets.size(); ++i) {
    layers::Layer& layer = *targets[i];
    const Source& src = sources[i];
    if (src.weights.size() != layer.weights().size())
      throw ShapeError(path + ": layer '" + layer.name() + "' has " + std::to_string(layer.weights().size()) +
                       " weights but the file's layer '" + src.layer + "' has " + std::to_string(src.weights.size()));
    const Hdf5Group g = root.group(src.layer);
    for (size_t k = 0; k < src.weights.size(); ++k) {
      const layers::Weight& w = layer.weights()[k];
      const Shape file_shape = g.dataset_shape(src.weights[k]);
      if (file_shape != w.value.shape())
        throw ShapeError(path + ": layer '" + layer.name() + "' weight '" + w.name + "' has shape " +
                         w.value.shape().to_string() + " but the file's '" + src.weights[k] + "' has shape " +
                         file_shape.to_string());
      values.push_back(g.read_dataset(src.weights[k]));
    }
  }
  model.set_weights(values);
}

std::string optimizer_class(const optimizers::Optimizer& opt) {
  const std::string n = opt.name();
  if (n == "adam") return "Adam";
  if (n == "adamw") return "AdamW";
  if (n == "rmsprop") return "RMSprop";
  if (n == "SGD" || n == "sgd") return "SGD";
  return n;
}

// Slot kinds in the order `Optimizer::variables()` lays them out (see optimizer.hpp).
std::vector<std::string> slot_kinds(const optimizers::Optimizer& opt, size_t count) {
  const json c = opt.get_config();
  std::vector<std::string> kinds;
  const std::string cls = optimizer_class(opt);
  if (cls == "Adam" || cls == "AdamW") {
    kinds = {"m", "v"};
    if (c.value("amsgrad", false)) kinds.push_back("vhat");
  } else if (cls == "SGD") {
    kinds = {"momentum"};
  } else if (cls == "RMSprop") {
    kinds = {"velocity"};
    if (c.value("momentum", 0.0) > 0) kinds.push_back("momentum");
    if (c.value("centered", false)) kinds.push_back("average_gradient");
  }
  if (kinds.size() != count) {
    kinds.clear();
    for (size_t i = 0; i < count; ++i) kinds.push_back("slot" + std::to_string(i));
  }
  return kinds;
}

std::vector<std::pair<const layers::Layer*, const layers::Weight*>> trainable_owners(const Model& model) {
  std::vector<std::pair<const layers::Layer*, const layers::Weight*>> out;
  for (const layers::Layer* layer : model.layers())
    for (const layers::Weight& w : layer->weights())
      if (w.trainable) out.emplace_back(layer, &w);
  return out;
}

void write_optimizer(Hdf5File& file, const Model& model) {
  optimizers::Optimizer& opt = model.optimizer();
  const std::vector<Tensor*> vars = opt.variables();
  const std::string cls = optimizer_class(opt);
  Hdf5Group g = file.create_group("optimizer_weights");
  std::vector<std::string> names{cls + "/iterations:0"};
  g.write_int64(names.back(), opt.iterations());
  const auto owners = trainable_owners(model);
  const bool grouped = !owners.empty() && vars.size() % owners.size() == 0;
  const std::vector<std::string> kinds = slot_kinds(opt, grouped ? vars.size() / owners.size() : 0);
  for (size_t i = 0; i < vars.size(); ++i) {
    if (grouped) {
      const auto& [layer, w] = owners[i % owners.size()];
      names.push_back(cls + "/" + kinds[i / owners.size()] + "/" + weight_path(*layer, *w));
    } else {
      names.push_back(cls + "/slot_" + std::to_string(i) + ":0");
    }
    g.write_dataset(names.back(), *vars[i]);
  }
  g.set_attr("weight_names", names);
}

void read_optimizer(const Hdf5File& file, Model& model, const std::string& path) {
  const Hdf5Group g = file.group("optimizer_weights");
  const std::vector<std::string> names = g.attr_strings("weight_names");
  optimizers::Optimizer& opt = model.optimizer();
  opt.build_for(model.trainable_weights());
  const std::vector<Tensor*> vars = opt.variables();
  if (names.size() != vars.size() + 1)
    throw ShapeError(path + ": the file has " + std::to_string(names.size()) + " optimizer weights but " +
                     optimizer_class(opt) + " for this model has " + std::to_string(vars.size() + 1) +
                     " (iterations and slots)");
  std::vector<Tensor> values;
  for (size_t i = 0; i < vars.size(); ++i) {
    const Shape shape = g.dataset_shape(names[i + 1]);
    if (shape != vars[i]->shape())
      throw ShapeError(path + ": optimizer weight '" + names[i + 1] + "' has shape " + shape.to_string() +
                       " but the optimizer's slot " + std::to_string(i) + " has shape " + vars[i]->shape().to_string());
    values.push_back(g.read_dataset(names[i + 1]));
  }
  const int64_t iterations = g.read_int64(names[0]);
  for (size_t i = 0; i < vars.size(); ++i) vars[i]->copy_from(values[i]);
  opt.set_iterations(iterations);
}

json training_config(const Model& model) {
  json metrics = json::array();
  for (const std::string& name : model.metric_names()) metrics.push_back(name);
  const optimizers::Optimizer& opt = model.optimizer();
  return {{"loss", model.loss().name()},
          {"metrics", metrics},
          {"weighted_metrics", nullptr},
          {"loss_weights", nullptr},
          {"optimizer_config", {{"class_name", optimizer_class(opt)}, {"config", opt.get_config()}}}};
}

json parse_json_attr(const Hdf5Group& file, const std::string& attr, const std::string& path) {
  try {
    return json::parse(file.attr_string(attr));
  } catch (const json::exception& e) {
    throw IOError(path + ": attribute '" + attr + "' is not valid JSON: " + e.what());
  }
}

}  // namespace

void save_model(const Model& model, const std::string& path, std::optional<int> epoch) {
  check_extension(path, "save_model");
  if (model.layers().empty()) throw StateError("save_model: model '" + model.name() + "' has no layers yet");
  const json config = model_config(model);
  write_model_file(path, [&](Hdf5File& file) {
    file.set_attr("model_config", config.dump());
    if (epoch) file.set_attr("epoch", std::to_string(*epoch));
    {
      Hdf5Group weights = file.create_group("model_weights");
      weights.set_attr("backend", std::string("regula"));
      write_layer_weights(weights, model);
    }
    if (model.compiled()) {
      file.set_attr("training_config", training_config(model).dump());
      write_optimizer(file, model);
    }
  });
}

std::unique_ptr<Model> load_model(const std::string& path) {
  check_extension(path, "load_model");
  Hdf5File file = open_checked(path);
  if (!file.has_attr("model_config"))
    throw IOError(path + ": no model_config attribute (a weights-only file? use load_weights)");
  std::unique_ptr<Model> model;
  try {
    model = model_from_config(parse_json_attr(file, "model_config", path), path + ": model_config");
  } catch (const json::exception& e) {
    throw ValueError(path + ": malformed model_config: " + e.what());
  }
  read_layer_weights(file.group("model_weights"), *model, path);
  if (file.has_attr("training_config")) {
    const json tc = parse_json_attr(file, "training_config", path);
    try {
      CompileOptions options;
      options.optimizer = optimizers::from_config(tc.at("optimizer_config"));
      options.loss = tc.at("loss").get<std::string>();
      for (const json& m : tc.value("metrics", json::array())) options.metrics.push_back(m.get<std::string>());
      model->compile(std::move(options));
    } catch (const json::exception& e) {
      throw ValueError(path + ": malformed training_config: " + e.what());
    }
    if (file.has("optimizer_weights")) read_optimizer(file, *model, path);
  }
  return model;
}

void save_weights(const Model& model, const std::string& path) {
  check_extension(path, "save_weights");
  if (model.layers().empty()) throw StateError("save_weights: model '" + model.name() + "' has no layers yet");
  write_model_file(path, [&](Hdf5File& file) { write_layer_weights(file, model); });
}

void load_weights(Model& model, const std::string& path) {
  check_extension(path, "load_weights");
  Hdf5File file = open_checked(path);
  if (file.has("model_weights"))
    read_layer_weights(file.group("model_weights"), model, path);
  else
    read_layer_weights(file, model, path);
}

std::optional<int> saved_epoch(const std::string& path) {
  Hdf5File file = open_checked(path);
  if (!file.has_attr("epoch")) return std::nullopt;
  return std::stoi(file.attr_string("epoch"));
}

}  // namespace regula
