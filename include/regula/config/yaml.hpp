#pragma once
/// @file
/// YAML ⇄ JSON: experiment files are YAML; inside regula they are JSON values (nlohmann::json),
/// the same form as Keras's configs.
///
/// Plain scalars are typed as YAML 1.2's core schema does: true/false, null/~, integers,
/// floats (1e-4, .inf), otherwise strings; quoted scalars stay strings.

#include <nlohmann/json.hpp>
#include <string>

namespace regula::config {

/// Parses YAML text; `where` (a file name) prefixes error messages, which give line and column.
nlohmann::json yaml_to_json(const std::string& text, const std::string& where);
/// Reads and parses a YAML file; IOError when it cannot be read.
nlohmann::json read_yaml_file(const std::string& path);
/// Block-style YAML for a JSON value.
std::string json_to_yaml(const nlohmann::json& value);

}  // namespace regula::config
