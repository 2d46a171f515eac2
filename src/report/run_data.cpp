// Reading a run directory into RunData: the history from the first of history.json, history.csv
// or the CSVLogger's file that exists, and the optional files beside it.

#include "regula/report/run_data.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "regula/config/registry.hpp"
#include "regula/config/yaml.hpp"
#include "regula/error.hpp"

namespace regula::report {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IOError(path.string() + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

json read_json(const fs::path& path) {
  try {
    return json::parse(read_text(path));
  } catch (const json::exception& e) {
    throw ValueError(path.string() + ": not valid JSON: " + e.what());
  }
}

/// A JSON number, or NaN for null (nlohmann::json writes NaN as null) and strings such as "NaN".
double number_or_nan(const json& value, const std::string& where) {
  if (value.is_number()) return value.get<double>();
  if (value.is_null()) return kNaN;
  if (value.is_string()) {
    try {
      return std::stod(value.get<std::string>());
    } catch (const std::exception&) {
      return kNaN;
    }
  }
  throw ValueError(where + ": expected a number or null, got " + value.dump());
}

HistoryData history_from_json(const json& doc, const std::string& where) {
  if (!doc.is_object() || !doc.contains("history") || !doc["history"].is_object())
    throw ValueError(where + ": expected {\"epoch\": [...], \"history\": {name: [...]}}");
  HistoryData h;
  size_t length = 0;
  for (const auto& [name, values] : doc["history"].items()) {
    if (!values.is_array()) throw ValueError(where + ": history." + name + " is not a list");
    length = std::max(length, values.size());
  }
  if (doc.contains("epoch") && doc["epoch"].is_array()) {
    for (const auto& e : doc["epoch"]) {
      if (!e.is_number_integer()) throw ValueError(where + ": epoch holds " + e.dump() + ", not a whole number");
      h.epoch.push_back(e.get<int>());
    }
  }
  if (h.epoch.empty())
    for (size_t i = 0; i < length; ++i) h.epoch.push_back(static_cast<int>(i));
  if (length > h.epoch.size()) throw ValueError(where + ": a history series is longer than epoch");
  for (const auto& [name, values] : doc["history"].items()) {
    std::vector<double> v(h.epoch.size(), kNaN);
    for (size_t i = 0; i < values.size(); ++i) v[i] = number_or_nan(values[i], where + ": history." + name);
    h.add(name, std::move(v));
  }
  return h;
}

std::vector<std::string> split_csv_line(std::string line, char separator) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '"') {
      if (quoted && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else {
        quoted = !quoted;
      }
    } else if (c == separator && !quoted) {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

/// A CSV cell as a number: NA, nan, null and empty cells (and anything unparsable) are NaN.
double cell_value(const std::string& cell) {
  if (cell.empty() || cell == "NA" || cell == "null") return kNaN;
  try {
    size_t used = 0;
    const double v = std::stod(cell, &used);
    return used == cell.size() ? v : kNaN;
  } catch (const std::exception&) {
    return kNaN;
  }
}

HistoryData history_from_csv(const fs::path& path, char separator) {
  std::istringstream in(read_text(path));
  std::string line;
  if (!std::getline(in, line)) throw ValueError(path.string() + ": empty CSV file, no header line");
  const std::vector<std::string> header = split_csv_line(line, separator);
  if (header.empty() || header[0] != "epoch")
    throw ValueError(path.string() + ": the first column must be 'epoch', got '" + header[0] + "'");
  std::vector<std::vector<double>> columns(header.size() - 1);
  HistoryData h;
  int row = 1;
  while (std::getline(in, line)) {
    ++row;
    if (line.empty() || line == "\r") continue;
    const std::vector<std::string> fields = split_csv_line(line, separator);
    const double epoch = cell_value(fields[0]);
    if (!std::isfinite(epoch))
      throw ValueError(path.string() + ": line " + std::to_string(row) + ": epoch '" + fields[0] + "' is not a number");
    h.epoch.push_back(static_cast<int>(epoch));
    for (size_t c = 1; c < header.size(); ++c) columns[c - 1].push_back(c < fields.size() ? cell_value(fields[c]) : kNaN);
  }
  for (size_t c = 1; c < header.size(); ++c) h.add(header[c], std::move(columns[c - 1]));
  return h;
}

/// The CSVLogger file of the experiment's callbacks (relative names are inside the run
/// directory), with its separator.
std::optional<std::pair<fs::path, char>> csv_logger_file(const json& callbacks, const fs::path& dir) {
  if (!callbacks.is_array()) return std::nullopt;
  for (const json& c : callbacks) {
    if (!c.is_object() || c.value("class_name", "") != "CSVLogger") continue;
    json config;
    try {
      config = config::read_class_config(c, {.kind = "callback"}, "report").options;
    } catch (const ValueError&) {
      continue;  // not a callback the run could have read
    }
    if (!config.contains("filename") || !config["filename"].is_string()) continue;
    fs::path file = config["filename"].get<std::string>();
    if (file.is_relative()) file = dir / file;
    const std::string separator = config.value("separator", ",");
    return std::make_pair(file, separator.empty() ? ',' : separator[0]);
  }
  return std::nullopt;
}

}  // namespace

const std::vector<double>* HistoryData::find(const std::string& name) const {
  const auto it = series.find(name);
  return it == series.end() ? nullptr : &it->second;
}

void HistoryData::add(const std::string& name, std::vector<double> values) {
  if (values.size() != epoch.size())
    throw ValueError("history: series '" + name + "' has " + std::to_string(values.size()) + " values for " +
                     std::to_string(epoch.size()) + " epochs");
  if (!has(name)) names.push_back(name);
  series[name] = std::move(values);
}

HistoryData HistoryData::from(const callbacks::History& history) {
  HistoryData h;
  h.epoch = history.epoch();
  for (const std::string& name : history.names()) h.add(name, history[name]);
  return h;
}

void set_experiment(RunData& run, const json& experiment) {
  run.experiment = experiment;
  if (!experiment.is_object()) return;
  if (experiment.contains("fit") && experiment["fit"].is_object()) {
    const json& fit = experiment["fit"];
    if (fit.contains("epochs") && fit["epochs"].is_number_integer()) run.planned_epochs = fit["epochs"].get<int>();
    if (fit.contains("initial_epoch") && fit["initial_epoch"].is_number_integer())
      run.initial_epoch = fit["initial_epoch"].get<int>();
  }
  if (experiment.contains("callbacks") && experiment["callbacks"].is_array()) run.callbacks = experiment["callbacks"];
}

RunData load_run(const std::string& dir_name) {
  const fs::path dir(dir_name);
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw IOError("report: " + dir_name + " is not a run directory (it does not exist or is not a folder)");
  RunData run;
  run.source = dir_name;

  const fs::path experiment_file = dir / "experiment.yaml";
  if (fs::exists(experiment_file))
    set_experiment(run, config::read_yaml_file(experiment_file.string()));
  else
    run.notes.push_back("experiment.yaml is missing: the callbacks and the planned epochs are unknown.");

  std::vector<std::string> looked_for = {"history.json", "history.csv"};
  const auto csv_logger = csv_logger_file(run.callbacks, dir);
  if (csv_logger) looked_for.push_back(fs::relative(csv_logger->first, dir, ec).string());
  if (fs::exists(dir / "history.json")) {
    run.history = history_from_json(read_json(dir / "history.json"), (dir / "history.json").string());
    run.history_file = "history.json";
  } else if (fs::exists(dir / "history.csv")) {
    run.history = history_from_csv(dir / "history.csv", ',');
    run.history_file = "history.csv";
  } else if (csv_logger && fs::exists(csv_logger->first)) {
    run.history = history_from_csv(csv_logger->first, csv_logger->second);
    run.history_file = looked_for.back();
    run.notes.push_back("history.json is missing (training did not finish): the epochs come from the CSVLogger's " +
                        run.history_file + ".");
  } else {
    std::string names;
    for (const std::string& n : looked_for) names += (names.empty() ? "" : ", ") + n;
    throw IOError("report: " + dir_name + " holds no training logs: none of " + names +
                  " exists (a run directory is written by `regula fit`)");
  }

  if (fs::exists(dir / "test.json")) {
    const json test = read_json(dir / "test.json");
    if (!test.is_object()) throw ValueError((dir / "test.json").string() + ": expected {name: value, ...}");
    std::map<std::string, double> values;
    for (const auto& [name, value] : test.items()) values[name] = number_or_nan(value, (dir / "test.json").string());
    run.test = std::move(values);
  }
  if (fs::exists(dir / "evaluation.json"))
    run.evaluation = evaluation_from_json(read_json(dir / "evaluation.json"), (dir / "evaluation.json").string());
  if (fs::exists(dir / "precise_batch_norm.json")) {
    run.precise_batch_norm = read_json(dir / "precise_batch_norm.json");
    if (!run.precise_batch_norm.is_object())
      throw ValueError((dir / "precise_batch_norm.json").string() + ": expected {recalibrations: …, seconds: …, …}");
  }
  if (fs::exists(dir / "augmentation.png")) run.augmentation_png = read_text(dir / "augmentation.png");
  return run;
}

}  // namespace regula::report
