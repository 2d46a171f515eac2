#include "regula/config/yaml.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <fstream>
#include <cstdlib>
#include <sstream>

#include "regula/error.hpp"

namespace regula::config {
namespace {

/// [-+]?[0-9]+
bool is_integer(const std::string& s) {
  const size_t start = !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0;
  return s.size() > start && std::all_of(s.begin() + static_cast<long>(start), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// A decimal float: only sign, digits, '.', and an exponent, all consumed by strtod.
bool is_float(const std::string& s) {
  if (s.find_first_not_of("+-.0123456789eE") != std::string::npos || s.find_first_of("0123456789") == std::string::npos)
    return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

nlohmann::json scalar_to_json(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") return s;  // quoted: always a string
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (is_integer(s)) {
    try {
      return std::stoll(s);
    } catch (const std::out_of_range&) {
      return std::stod(s);
    }
  }
  if (is_float(s)) return std::stod(s);
  if (s == ".inf" || s == "+.inf") return std::numeric_limits<double>::infinity();
  if (s == "-.inf") return -std::numeric_limits<double>::infinity();
  return s;
}

nlohmann::json node_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return scalar_to_json(node);
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const YAML::Node& e : node) out.push_back(node_to_json(e));
      return out;
    }
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& kv : node) out[kv.first.as<std::string>()] = node_to_json(kv.second);
      return out;
    }
  }
  return nullptr;
}

void emit(YAML::Emitter& e, const nlohmann::json& v) {
  if (v.is_object()) {
    e << YAML::BeginMap;
    for (const auto& [key, value] : v.items()) {
      e << YAML::Key << key << YAML::Value;
      emit(e, value);
    }
    e << YAML::EndMap;
  } else if (v.is_array()) {
    const bool flat = std::all_of(v.begin(), v.end(), [](const nlohmann::json& x) { return x.is_primitive(); });
    e << (flat ? YAML::Flow : YAML::Block) << YAML::BeginSeq;
    for (const nlohmann::json& x : v) emit(e, x);
    e << YAML::EndSeq;
  } else if (v.is_string()) {
    e << v.get<std::string>();
  } else if (v.is_boolean()) {
    e << v.get<bool>();
  } else if (v.is_number_integer()) {
    e << v.get<int64_t>();
  } else if (v.is_number()) {
    e << v.dump();
  } else {
    e << YAML::Null;
  }
}

}  // namespace

nlohmann::json yaml_to_json(const std::string& text, const std::string& where) {
  try {
    return node_to_json(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    throw ValueError(where + ": not valid YAML at line " + std::to_string(e.mark.line + 1) + ", column " +
                     std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

nlohmann::json read_yaml_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IOError(path + ": cannot open the experiment file (missing or unreadable)");
  std::stringstream text;
  text << in.rdbuf();
  return yaml_to_json(text.str(), path);
}

std::string json_to_yaml(const nlohmann::json& value) {
  YAML::Emitter e;
  emit(e, value);
  return std::string(e.c_str()) + "\n";
}

}  // namespace regula::config
