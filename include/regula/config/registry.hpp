#pragma once
/// @file
/// Registry: the one place where a configuration's `class_name` becomes an object. Layers,
/// optimizers, regularizers, constraints and the callbacks of experiment files each keep a
/// Registry of their classes; the rules below are the registry's, so they are the same for all.
///
/// The forms a configuration may take (`read_class_config`):
/// - Keras's nested form `{"class_name": "Dense", "config": {"units": 10}}`; the envelope keys
///   Keras 3 writes beside it (`module`, `registered_name`, `build_config`, `compile_config`) are
///   accepted and ignored;
/// - the flat form of experiment files `{class_name: Dense, units: 10}`;
/// - both at once: options beside `config` are read as if they were inside it (an option given in
///   both places is a ValueError).
///
/// Lookup: the class name as written; a registry made with `any_case` also takes it in any case
/// (Keras's `optimizers.get("adam")`); then its aliases. An unknown class name is a ValueError
/// that names `where`, the kind of object and every known class. The factory reads its options
/// through a ConfigReader named "<where> (<class name>)", and every option left unread is a
/// ValueError naming it and the allowed ones (ConfigReader::expect_all_read) — also when the
/// factory itself refused a value, since a misspelt option explains a missing one better.

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "regula/config/config_reader.hpp"
#include "regula/error.hpp"

namespace regula::config {

/// A configuration split into its class name and its options (always a JSON object).
struct ClassConfig {
  std::string class_name;
  nlohmann::json options = nlohmann::json::object();
};

/// How a registry names and matches its classes.
struct RegistryOptions {
  /// The kind of object in messages: "layer", "optimizer", "callback", …
  std::string kind;
  /// A configuration shown when the class name is missing, e.g. "{class_name: Dense, units: 10}".
  std::string example;
  /// Class names also match in any case ("adam", "ADAM" for Adam).
  bool any_case = false;
  /// Other names of classes: alias → class name.
  std::map<std::string, std::string> aliases = {};
  /// Options every class accepts and ignores (layers: Keras's "trainable", "dtype").
  std::vector<std::string> ignored_options = {};
};

/// Splits `spec` into class name and options by the forms above; ValueError naming `where` when
/// `spec` is not an object with a string `class_name`, or `config` is not an object.
ClassConfig read_class_config(const nlohmann::json& spec, const RegistryOptions& options, const std::string& where);

/// The registered class `name` stands for (exact, any case when allowed, then aliases), or
/// ValueError "<where>: unknown <kind> class_name '<name>'; known: …".
std::string resolve_class_name(const std::string& name, const std::vector<std::string>& known,
                               const RegistryOptions& options, const std::string& where);

/// Maps class names to factories that make `Product` from a ConfigReader and `Context` (e.g. the
/// run directory a callback writes into).
template <typename Product, typename... Context>
class Registry {
 public:
  using Factory = std::function<Product(ConfigReader&, const Context&...)>;

  Registry(RegistryOptions options, std::map<std::string, Factory> factories)
      : options_(std::move(options)), factories_(std::move(factories)) {}

  /// The object `spec` configures (see the file comment for the forms and errors).
  Product make(const nlohmann::json& spec, const std::string& where, const Context&... context) const {
    const ClassConfig config = read_class_config(spec, options_, where);
    const std::string class_name = resolve_class_name(config.class_name, class_names(), options_, where);
    ConfigReader reader(config.options, where + " (" + class_name + ")");
    for (const std::string& key : options_.ignored_options) reader.ignore({key.c_str()});
    Product made;
    try {
      made = factories_.at(class_name)(reader, context...);
    } catch (const ValueError& e) {
      reader.expect_all_read();
      throw ValueError(where + ": " + e.what());
    }
    reader.expect_all_read();
    return made;
  }

  /// The registered class names, sorted.
  std::vector<std::string> class_names() const {
    std::vector<std::string> names;
    for (const auto& entry : factories_) names.push_back(entry.first);
    return names;
  }

  const RegistryOptions& options() const { return options_; }

 private:
  RegistryOptions options_;
  std::map<std::string, Factory> factories_;
};

}  // namespace regula::config
