// The results table of a search: best trial, text summary and table, CSV and JSON files (written
// atomically), and loading a JSON results file with checks against the space.

#include "regula/tuning/results.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace regula::tuning {
namespace {

const char* status_name(TrialStatus s) { return s == TrialStatus::ok ? "ok" : "failed"; }

std::string csv_cell(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string exact(double x) { return std::isfinite(x) ? fmt::format("{}", x) : std::string(); }

// Mean and population std of the fold scores, "0.8712 ± 0.0123"; empty without folds.
std::string folds_text(const std::vector<double>& folds) {
  if (folds.empty()) return "";
  double mean = 0.0;
  for (double f : folds) mean += f;
  mean /= static_cast<double>(folds.size());
  double var = 0.0;
  for (double f : folds) var += (f - mean) * (f - mean);
  return fmt::format("{:.4g} ± {:.2g} ({})", mean, std::sqrt(var / static_cast<double>(folds.size())), folds.size());
}

// Renders rows as columns padded to their widest cell (counting UTF-8 code points).
std::string aligned(const std::vector<std::vector<std::string>>& rows) {
  const auto width = [](const std::string& s) {
    size_t w = 0;
    for (const unsigned char c : s) w += (c & 0xC0) != 0x80;
    return w;
  };
  std::vector<size_t> widths;
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], width(row[i]));
    }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - width(row[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

[[noreturn]] void corrupt(const std::string& path, const std::string& what) {
  throw ValueError(
      fmt::format("results file '{}': {}; the file is left unchanged (fix it, or set overwrite / use "
                  "another file to start afresh)",
                  path, what));
}

}  // namespace

void Results::add(Trial trial) {
  const auto it = std::lower_bound(trials_.begin(), trials_.end(), trial.number,
                                   [](const Trial& t, int64_t n) { return t.number < n; });
  if (it != trials_.end() && it->number == trial.number)
    *it = std::move(trial);
  else
    trials_.insert(it, std::move(trial));
}

bool Results::contains(int64_t number) const {
  return std::binary_search(trials_.begin(), trials_.end(), number, [](const auto& a, const auto& b) {
    if constexpr (std::is_same_v<std::decay_t<decltype(a)>, Trial>)
      return a.number < b;
    else
      return a < b.number;
  });
}

size_t Results::n_ok() const {
  return static_cast<size_t>(std::count_if(trials_.begin(), trials_.end(), [](const Trial& t) { return t.ok(); }));
}
size_t Results::n_failed() const { return trials_.size() - n_ok(); }

bool Results::better(const Trial& a, const Trial& b) const {
  if (a.score != b.score) return is_better(direction_, a.score, b.score);
  return a.number < b.number;
}

const Trial* Results::best() const {
  const Trial* best = nullptr;
  for (const Trial& t : trials_)
    if (t.ok() && (!best || better(t, *best))) best = &t;
  return best;
}

const Params& Results::best_params() const {
  const Trial* b = best();
  if (!b)
    throw StateError(fmt::format("search results: no successful trial among {} (all failed or none ran)", size()));
  return b->params;
}

double Results::best_score() const {
  const Trial* b = best();
  if (!b)
    throw StateError(fmt::format("search results: no successful trial among {} (all failed or none ran)", size()));
  return b->score;
}

std::vector<const Trial*> Results::ranked(size_t n) const {
  std::vector<const Trial*> out;
  for (const Trial& t : trials_)
    if (t.ok()) out.push_back(&t);
  std::stable_sort(out.begin(), out.end(), [&](const Trial* a, const Trial* b) { return better(*a, *b); });
  if (out.size() > n) out.resize(n);
  return out;
}

std::string Results::results_summary(size_t num_trials) const {
  std::string out = "Results summary\n";
  out += fmt::format("Objective: {} (direction=\"{}\")\n", objective_, direction_name(direction_));
  out += fmt::format("Trials: {} ({} ok, {} failed)\n", size(), n_ok(), n_failed());
  const std::vector<const Trial*> top = ranked(num_trials);
  if (top.empty()) return out + "No successful trial.\n";
  out += fmt::format("Showing {} best trials\n", top.size());
  std::vector<std::vector<std::string>> rows{{"Trial", "Score", "Folds", "Epochs", "Seconds", "Parameters"}};
  for (const Trial* t : top)
    rows.push_back({fmt::format("{:04d}", t->number), fmt::format("{:.6g}", t->score), folds_text(t->fold_scores),
                    std::to_string(t->epochs), fmt::format("{:.1f}", t->seconds), t->params.to_string()});
  out += aligned(rows);
  out += "Best parameters:\n";
  for (const auto& [name, value] : top.front()->params) out += fmt::format("  {}: {}\n", name, to_exact_string(value));
  return out;
}

std::string Results::to_table() const {
  std::vector<std::vector<std::string>> rows{{"Trial", "Status", "Score", "Folds", "Epochs", "Seconds", "Parameters"}};
  for (const Trial& t : trials_)
    rows.push_back({fmt::format("{:04d}", t.number), status_name(t.status),
                    t.ok() ? fmt::format("{:.6g}", t.score) : std::string("-"), folds_text(t.fold_scores),
                    std::to_string(t.epochs), fmt::format("{:.1f}", t.seconds),
                    t.params.to_string() + (t.ok() ? "" : (t.params.empty() ? "" : "  ") + ("error: " + t.error))});
  return aligned(rows);
}

std::string Results::to_csv() const {
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const Trial& t : trials_)
    for (const auto& [name, value] : t.params)
      if (seen.insert(name).second) names.push_back(name);
  std::string out = "trial,status,score";
  for (const auto& name : names) out += "," + csv_cell(name);
  out += ",fold_scores,epochs,seconds,error\n";
  for (const Trial& t : trials_) {
    out += fmt::format("{},{},{}", t.number, status_name(t.status), t.ok() ? exact(t.score) : "");
    for (const auto& name : names)
      out += "," + (t.params.contains(name) ? csv_cell(to_exact_string(t.params.at(name))) : "");
    std::vector<std::string> folds;
    for (double f : t.fold_scores) folds.push_back(exact(f));
    out += fmt::format(",{},{},{},{}\n", fmt::join(folds, ";"), t.epochs, exact(t.seconds), csv_cell(t.error));
  }
  return out;
}

nlohmann::json Results::to_json(const nlohmann::json& metadata) const {
  nlohmann::json out = metadata.is_object() ? metadata : nlohmann::json::object();
  out["direction"] = direction_name(direction_);
  nlohmann::json trials = nlohmann::json::array();
  for (const Trial& t : trials_) {
    nlohmann::json j = {{"number", t.number},
                        {"status", status_name(t.status)},
                        {"params", t.params.to_json()},
                        {"fold_scores", t.fold_scores},
                        {"epochs", t.epochs},
                        {"seconds", t.seconds},
                        {"error", t.error}};
    j["score"] = t.ok() && std::isfinite(t.score) ? nlohmann::json(t.score) : nlohmann::json(nullptr);
    trials.push_back(std::move(j));
  }
  out["trials"] = std::move(trials);
  return out;
}

void Results::write_csv(const std::string& path) const { write_file_atomically(path, to_csv()); }

void Results::write_json(const std::string& path, const nlohmann::json& metadata) const {
  write_file_atomically(path, to_json(metadata).dump(2) + "\n");
}

Results Results::load(const std::string& path, const Space& space, Direction direction,
                      nlohmann::json* metadata) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IOError(fmt::format("results file '{}': cannot open it for reading", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(buffer.str());
  } catch (const nlohmann::json::exception& e) {
    throw IOError(fmt::format("results file '{}': not valid JSON ({}); the file is left unchanged", path, e.what()));
  }
  if (!json.is_object() || json.value("format", std::string()) != "regula-tuning-results" || !json.contains("trials") ||
      !json["trials"].is_array())
    corrupt(path,
            "not a regula tuning results file (expected an object with \"format\": \"regula-tuning-results\" "
            "and a \"trials\" array)");
  const std::string file_direction = json.value("direction", std::string());
  if (file_direction != direction_name(direction))
    corrupt(path, fmt::format("its direction is '{}' but this search's is '{}'", file_direction, direction_name(direction)));
  Results results(direction);
  const nlohmann::json& trials = json["trials"];
  for (size_t i = 0; i < trials.size(); ++i) {
    const nlohmann::json& j = trials[i];
    const std::string where = fmt::format("trial entry {}", i);
    try {
      if (!j.is_object()) corrupt(path, where + " is not an object");
      for (const char* key : {"number", "status", "params"})
        if (!j.contains(key)) corrupt(path, fmt::format("{} has no \"{}\"", where, key));
      if (!j["number"].is_number_integer() || j["number"].get<int64_t>() < 0)
        corrupt(path, where + ": \"number\" must be an integer >= 0");
      Trial t;
      t.number = j["number"].get<int64_t>();
      const std::string label = fmt::format("trial {}", t.number);
      if (results.contains(t.number)) corrupt(path, fmt::format("{} appears twice", label));
      const std::string status = j["status"].is_string() ? j["status"].get<std::string>() : "";
      if (status != "ok" && status != "failed")
        corrupt(path, fmt::format("{}: status {} is neither \"ok\" nor \"failed\"", label, j["status"].dump()));
      t.status = status == "ok" ? TrialStatus::ok : TrialStatus::failed;
      const nlohmann::json score = j.value("score", nlohmann::json(nullptr));
      if (t.ok()) {
        if (!score.is_number() || !std::isfinite(score.get<double>()))
          corrupt(path, fmt::format("{} is ok but its score {} is not a finite number", label, score.dump()));
        t.score = score.get<double>();
      } else {
        t.score = std::nan("");
      }
      try {
        t.params = space.canonical(Params::from_json(j["params"]));
      } catch (const ValueError& e) {
        corrupt(path, fmt::format("{}: its parameters do not fit this search space: {}", label, e.what()));
      }
      if (j.contains("fold_scores")) {
        if (!j["fold_scores"].is_array()) corrupt(path, label + ": \"fold_scores\" is not an array");
        for (const auto& f : j["fold_scores"]) {
          if (!f.is_number()) corrupt(path, label + ": \"fold_scores\" holds a non-number " + f.dump());
          t.fold_scores.push_back(f.get<double>());
        }
      }
      if (j.contains("epochs") && !j["epochs"].is_number_integer())
        corrupt(path, label + ": \"epochs\" is not an integer");
      if (j.contains("seconds") && !j["seconds"].is_number()) corrupt(path, label + ": \"seconds\" is not a number");
      if (j.contains("error") && !j["error"].is_string()) corrupt(path, label + ": \"error\" is not a string");
      t.epochs = j.value("epochs", int64_t{0});
      t.seconds = j.value("seconds", 0.0);
      t.error = j.value("error", std::string());
      results.add(std::move(t));
    } catch (const nlohmann::json::exception& e) {
      corrupt(path, fmt::format("{} is malformed ({})", where, e.what()));
    }
  }
  if (metadata) {
    *metadata = json;
    metadata->erase("trials");
  }
  return results;
}

}  // namespace regula::tuning
