#pragma once
/// @file
/// ConfigReader: typed access to one JSON object of a configuration (a layer's config, a section
/// of an experiment file), with errors that name where the value sits, the key, the value found
/// and what is allowed, and a check that no unknown key was given (a misspelt option is an error,
/// not silently ignored).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace regula::config {

class ConfigReader {
 public:
  /// `where` names the object in messages, e.g. "experiment.yaml: model.layers[2] (Conv2D)".
  ConfigReader(const nlohmann::json& object, std::string where);

  bool has(const std::string& key) const;
  std::string get_string(const std::string& key, const std::string& fallback);
  double get_double(const std::string& key, double fallback);
  int64_t get_int(const std::string& key, int64_t fallback);
  bool get_bool(const std::string& key, bool fallback);
  /// An int or a list of ints (Keras's `kernel_size=3` or `(3, 3)`).
  std::vector<int64_t> get_ints(const std::string& key, const std::vector<int64_t>& fallback);
  /// The raw value (marks the key as read), or nothing when absent or null.
  std::optional<nlohmann::json> get_json(const std::string& key);
  /// Marks keys that are accepted and ignored (e.g. Keras's "dtype", "trainable").
  void ignore(std::initializer_list<const char*> keys);
  /// Throws ValueError naming every key that was not read (null values excepted: null means
  /// "the default" in Keras's configs), and the keys that were.
  void expect_all_read() const;
  const std::string& where() const { return where_; }

 private:
  [[noreturn]] void fail(const std::string& key, const std::string& expected) const;

  const nlohmann::json& object_;
  std::string where_;
  std::set<std::string> read_;
};

}  // namespace regula::config
