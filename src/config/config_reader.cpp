#include "regula/config/config_reader.hpp"

#include <cmath>

#include "regula/error.hpp"

namespace regula::config {

ConfigReader::ConfigReader(const nlohmann::json& object, std::string where) : object_(object), where_(std::move(where)) {
  if (!object_.is_object()) throw ValueError(where_ + ": expected a mapping of options, got " + object_.dump());
}

bool ConfigReader::has(const std::string& key) const { return object_.contains(key) && !object_.at(key).is_null(); }

void ConfigReader::fail(const std::string& key, const std::string& expected) const {
  throw ValueError(where_ + ": option '" + key + "' = " + object_.at(key).dump() + " must be " + expected);
}

std::string ConfigReader::get_string(const std::string& key, const std::string& fallback) {
  read_.insert(key);
  if (!has(key)) return fallback;
  if (!object_.at(key).is_string()) fail(key, "a string");
  return object_.at(key).get<std::string>();
}

double ConfigReader::get_double(const std::string& key, double fallback) {
  read_.insert(key);
  if (!has(key)) return fallback;
  if (!object_.at(key).is_number()) fail(key, "a number");
  return object_.at(key).get<double>();
}

int64_t ConfigReader::get_int(const std::string& key, int64_t fallback) {
  read_.insert(key);
  if (!has(key)) return fallback;
  const nlohmann::json& v = object_.at(key);
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()) return static_cast<int64_t>(v.get<double>());
  fail(key, "an integer");
}

bool ConfigReader::get_bool(const std::string& key, bool fallback) {
  read_.insert(key);
  if (!has(key)) return fallback;
  if (!object_.at(key).is_boolean()) fail(key, "true or false");
  return object_.at(key).get<bool>();
}

std::vector<int64_t> ConfigReader::get_ints(const std::string& key, const std::vector<int64_t>& fallback) {
  read_.insert(key);
  if (!has(key)) return fallback;
  const nlohmann::json& v = object_.at(key);
  if (v.is_number_integer()) return {v.get<int64_t>()};
  if (!v.is_array()) fail(key, "an integer or a list of integers");
  std::vector<int64_t> out;
  for (const nlohmann::json& e : v) {
    if (!e.is_number_integer()) fail(key, "an integer or a list of integers");
    out.push_back(e.get<int64_t>());
  }
  return out;
}

std::optional<nlohmann::json> ConfigReader::get_json(const std::string& key) {
  read_.insert(key);
  if (!has(key)) return std::nullopt;
  return object_.at(key);
}

void ConfigReader::ignore(std::initializer_list<const char*> keys) {
  for (const char* k : keys) read_.insert(k);
}

void ConfigReader::expect_all_read() const {
  std::string unknown;
  // null means "the default" in Keras's configs, so an unread null (e.g. "kernel_constraint": null
  // on a layer without that option) is not an error.
  for (const auto& [key, value] : object_.items())
    if (!read_.contains(key) && !value.is_null()) unknown += (unknown.empty() ? "'" : ", '") + key + "'";
  if (unknown.empty()) return;
  std::string known;
  for (const std::string& k : read_) known += (known.empty() ? "" : ", ") + k;
  throw ValueError(where_ + ": unknown option(s) " + unknown + "; allowed: " + known);
}

}  // namespace regula::config
