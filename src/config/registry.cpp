#include "regula/config/registry.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace regula::config {
namespace {

/// Keys of Keras 3's serialization envelope, beside class_name and config.
constexpr std::array<const char*, 4> kEnvelopeKeys = {"module", "registered_name", "build_config", "compile_config"};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

}  // namespace

ClassConfig read_class_config(const nlohmann::json& spec, const RegistryOptions& options, const std::string& where) {
  if (!spec.is_object() || !spec.contains("class_name") || !spec.at("class_name").is_string())
    throw ValueError(where + ": a " + options.kind + " needs a 'class_name' (e.g. " + options.example + "), got " +
                     spec.dump());
  ClassConfig config;
  config.class_name = spec.at("class_name").get<std::string>();
  if (const auto nested = spec.find("config"); nested != spec.end() && !nested->is_null()) {
    if (!nested->is_object())
      throw ValueError(where + ": 'config' of " + options.kind + " '" + config.class_name + "' must be a mapping of options, got " +
                       nested->dump());
    config.options = *nested;
  }
  for (const auto& [key, value] : spec.items()) {
    if (key == "class_name" || key == "config") continue;
    if (std::find(kEnvelopeKeys.begin(), kEnvelopeKeys.end(), key) != kEnvelopeKeys.end()) continue;
    if (config.options.contains(key))
      throw ValueError(where + ": option '" + key + "' of " + options.kind + " '" + config.class_name +
                       "' is given twice, beside and inside 'config'");
    config.options[key] = value;
  }
  return config;
}

std::string resolve_class_name(const std::string& name, const std::vector<std::string>& known,
                               const RegistryOptions& options, const std::string& where) {
  if (std::find(known.begin(), known.end(), name) != known.end()) return name;
  if (options.any_case)
    for (const std::string& k : known)
      if (lower(k) == lower(name)) return k;
  for (const auto& [alias, class_name] : options.aliases)
    if (alias == name || (options.any_case && lower(alias) == lower(name))) return class_name;
  throw ValueError(where + ": unknown " + options.kind + " class_name '" + name + "'; known: " + joined(known) +
                   (options.any_case ? " (any case)" : ""));
}

}  // namespace regula::config
