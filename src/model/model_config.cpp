// A model's architecture as Keras's JSON describes it: written by model_config, read back by
// model_from_config (layers through layers::layer_from_config).

#include "regula/model/model_config.hpp"

#include <algorithm>
#include <map>

#include "regula/error.hpp"
#include "regula/layers/input.hpp"
#include "regula/layers/layer_factory.hpp"
#include "regula/model/sequential.hpp"

namespace regula {
namespace {

using nlohmann::json;

// The Keras 2 inbound-node form [[["name", 0, 0, {}], ...]] (one node per layer here).
std::vector<std::string> inbound_names(const json& layer, const std::string& where) {
  std::vector<std::string> out;
  const json nodes = layer.value("inbound_nodes", json::array());
  if (!nodes.is_array()) throw ValueError(where + ": inbound_nodes must be a list");
  if (nodes.empty()) return out;
  if (nodes.size() != 1) throw ValueError(where + ": shared layers (several inbound nodes) are not supported");
  for (const json& entry : nodes[0]) {
    if (!entry.is_array() || entry.empty() || !entry[0].is_string())
      throw ValueError(where + ": inbound node entry " + entry.dump() + " must be [\"layer_name\", 0, 0, {}]");
    out.push_back(entry[0].get<std::string>());
  }
  return out;
}

layers::SymbolicTensor make_input(const json& config, const std::string& where) {
  std::vector<int64_t> dims;
  if (config.contains("batch_shape")) {
    const json& bs = config["batch_shape"];
    for (size_t i = 1; i < bs.size(); ++i) dims.push_back(bs[i].get<int64_t>());
  } else if (config.contains("shape")) {
    for (const json& d : config["shape"]) dims.push_back(d.get<int64_t>());
  } else {
    throw ValueError(where + ": InputLayer config needs 'batch_shape' or 'shape'");
  }
  return layers::Input(Shape(std::move(dims)), config.value("name", std::string()));
}

}  // namespace

std::unique_ptr<Model> model_from_config(const json& spec, const std::string& where) {
  if (!spec.is_object() || !spec.contains("config") || !spec.contains("class_name"))
    throw ValueError(where + " must be {\"class_name\": …, \"config\": …}");
  const std::string cls = spec["class_name"].get<std::string>();
  if (cls != "Sequential" && cls != "Functional" && cls != "Model")
    throw ValueError(where + ": class_name '" + cls + "' is not allowed; allowed: Sequential, Functional");
  const json& config = spec["config"];
  const json& layer_list = config.at("layers");
  const std::string name = config.value("name", cls == "Sequential" ? "sequential" : "functional");
  std::map<std::string, layers::SymbolicTensor> tensors;
  std::vector<std::shared_ptr<layers::Layer>> built;
  layers::SymbolicTensor input, last;
  std::unique_ptr<Sequential> sequential;
  if (cls == "Sequential") sequential = std::make_unique<Sequential>(name);
  // Keras's Sequential config may give the input as build_input_shape instead of an InputLayer.
  const bool starts_with_input = !layer_list.empty() && layer_list[0].value("class_name", "") == "InputLayer";
  if (sequential && !starts_with_input && config.contains("build_input_shape"))
    sequential->add(input = last = make_input({{"batch_shape", config["build_input_shape"]}}, where + ".build_input_shape"));
  for (size_t i = 0; i < layer_list.size(); ++i) {
    const json& entry = layer_list[i];
    const std::string lwhere = where + ".layers[" + std::to_string(i) + "]";
    const std::string lcls = entry.at("class_name").get<std::string>();
    const json& lconfig = entry.at("config");
    const std::string lname = entry.value("name", lconfig.value("name", std::string()));
    if (lcls == "InputLayer") {
      if (input.valid()) throw ValueError(lwhere + ": models with several inputs are not supported");
      input = make_input(lconfig, lwhere);
      tensors[lname] = input;
      last = input;
      if (sequential) sequential->add(input);
      continue;
    }
    const std::vector<std::string> known = layers::known_layer_classes();
    if (std::find(known.begin(), known.end(), lcls) == known.end()) {
      std::string listed = "InputLayer";
      for (const std::string& k : known) listed += ", " + k;
      throw ValueError(lwhere + ": unknown layer class_name '" + lcls + "'; known: " + listed);
    }
    const std::shared_ptr<layers::Layer> layer =
        layers::layer_from_config({{"class_name", lcls}, {"config", lconfig}}, lwhere);
    if (sequential) {
      sequential->add(layer);
      continue;
    }
    std::vector<layers::SymbolicTensor> inputs;
    for (const std::string& from : inbound_names(entry, lwhere)) {
      auto it = tensors.find(from);
      if (it == tensors.end())
        throw ValueError(lwhere + " ('" + lname + "'): inbound layer '" + from + "' is not defined before it");
      inputs.push_back(it->second);
    }
    if (inputs.empty()) throw ValueError(lwhere + " ('" + lname + "'): has no inbound nodes");
    last = layers::connect(layer, inputs);
    tensors[layer->name()] = last;
  }
  if (sequential) return sequential;
  if (!input.valid()) throw ValueError(where + ": no InputLayer");
  layers::SymbolicTensor output = last;
  if (config.contains("output_layers") && !config["output_layers"].empty()) {
    const std::string out_name = config["output_layers"][0][0].get<std::string>();
    auto it = tensors.find(out_name);
    if (it == tensors.end()) throw ValueError(where + ": output layer '" + out_name + "' is not among the layers");
    output = it->second;
  }
  return std::make_unique<Model>(input, output, name);
}

json model_config(const Model& model) {
  const std::vector<layers::Layer*> all = model.layers();
  if (all.empty()) throw StateError("model_config: model '" + model.name() + "' has no layers yet");
  const std::vector<std::vector<layers::Layer*>> inbound_layers = model.inbound_layers();
  json layers_json = json::array();
  for (size_t i = 0; i < all.size(); ++i) {
    const layers::Layer& layer = *all[i];
    json inbound = json::array();
    if (!inbound_layers[i].empty()) {
      json node = json::array();
      for (const layers::Layer* source : inbound_layers[i])
        node.push_back(json::array({source->name(), 0, 0, json::object()}));
      inbound.push_back(node);
    }
    layers_json.push_back({{"class_name", layer.class_name()},
                           {"config", layer.get_config()},
                           {"name", layer.name()},
                           {"inbound_nodes", inbound}});
  }
  const bool sequential = dynamic_cast<const Sequential*>(&model) != nullptr;
  json config = {{"name", model.name()},
                 {"layers", layers_json},
                 {"input_layers", json::array({json::array({all.front()->name(), 0, 0})})},
                 {"output_layers", json::array({json::array({all.back()->name(), 0, 0})})}};
  return {{"class_name", sequential ? "Sequential" : "Functional"}, {"config", config}};
}

}  // namespace regula
