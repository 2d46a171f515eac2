#include "regula/callbacks/model_checkpoint.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "regula/error.hpp"
#include "regula/model/model.hpp"
#include "regula/model/model_file.hpp"

namespace regula::callbacks {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Digits of a spec part; -1 when not all digits.
int parse_count(const std::string& s) {
  if (s.empty() || s.size() > 3) return -1;
  for (char c : s)
    if (c < '0' || c > '9') return -1;
  return std::stoi(s);
}

std::string format_value(const std::string& key, const std::string& spec, bool is_int, double value,
                         const std::string& pattern) {
  char buf[128];
  if (spec.empty()) {
    if (is_int) return std::to_string(static_cast<long long>(value));
    return python_float(value);
  }
  if (spec.back() == 'd') {
    // Python refuses 'd' for floats; logs are floats, so only epoch takes it.
    if (!is_int)
      throw ValueError("ModelCheckpoint: filepath '" + pattern + "': '{" + key + ":" + spec +
                       "}' formats a float as an integer; use {" + key + ":.Nf}");
    const std::string width = spec.substr(0, spec.size() - 1);
    const bool zero = width.size() > 1 && width[0] == '0';
    const int n = width.empty() ? 0 : parse_count(zero ? width.substr(1) : width);
    if (n >= 0) {
      std::snprintf(buf, sizeof buf, zero ? "%0*lld" : "%*lld", n, static_cast<long long>(value));
      return buf;
    }
  } else if (spec.size() >= 3 && spec[0] == '.' && spec.back() == 'f') {
    const int n = parse_count(spec.substr(1, spec.size() - 2));
    if (n >= 0) {
      std::snprintf(buf, sizeof buf, "%.*f", n, value);
      return buf;
    }
  }
  throw ValueError("ModelCheckpoint: filepath '" + pattern + "': format spec '" + spec + "' of '{" + key +
                   "}' is not supported; allowed: {name}, {name:d}, {name:0Nd}, {name:Nd}, {name:.Nf}");
}

}  // namespace

std::string format_checkpoint_path(const std::string& pattern, int epoch, const Logs& logs, int64_t batch) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '}') {
      if (i + 1 < pattern.size() && pattern[i + 1] == '}') ++i;
      else throw ValueError("ModelCheckpoint: filepath '" + pattern + "': single '}' (write '}}' for a brace)");
      out += '}';
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < pattern.size() && pattern[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    const size_t close = pattern.find('}', i);
    if (close == std::string::npos) throw ValueError("ModelCheckpoint: filepath '" + pattern + "': unclosed '{'");
    const std::string field = pattern.substr(i + 1, close - i - 1);
    const size_t colon = field.find(':');
    const std::string key = field.substr(0, colon);
    const std::string spec = colon == std::string::npos ? "" : field.substr(colon + 1);
    if (key == "epoch") {
      out += format_value(key, spec, true, epoch + 1, pattern);
    } else if (key == "batch" && batch >= 0 && !logs.get("batch")) {
      out += format_value(key, spec, true, static_cast<double>(batch + 1), pattern);
    } else if (std::optional<double> v = logs.get(key)) {
      out += format_value(key, spec, false, *v, pattern);
    } else {
      std::string names = batch >= 0 ? "epoch, batch" : "epoch";
      for (const auto& entry : logs) names += ", " + entry.first;
      throw ValueError("ModelCheckpoint: filepath '" + pattern + "' names '" + key +
                       "', which is not available; available: " + names);
    }
    i = close;
  }
  return out;
}

ModelCheckpoint::ModelCheckpoint(std::string filepath, ModelCheckpointOptions options)
    : filepath_(std::move(filepath)),
      options_(std::move(options)),
      monitor_("ModelCheckpoint", "ModelCheckpoint", options_.monitor, options_.mode) {
  if (filepath_.empty()) throw ValueError("ModelCheckpoint: filepath must not be empty");
  options_.save_freq.check("ModelCheckpoint");
  if (options_.save_weights_only) {
    if (!ends_with(filepath_, ".weights.h5"))
      throw ValueError("ModelCheckpoint: with save_weights_only=true the filepath must end in .weights.h5, got '" +
                       filepath_ + "'");
  } else if (!ends_with(filepath_, ".h5") && !ends_with(filepath_, ".hdf5")) {
    throw ValueError("ModelCheckpoint: the filepath must end in .h5 or .hdf5 (Keras's legacy HDF5 format), got '" +
                     filepath_ + "'");
  }
  if (options_.initial_value_threshold && !std::isfinite(*options_.initial_value_threshold))
    throw ValueError("ModelCheckpoint: initial_value_threshold must be finite");
  best_ = options_.initial_value_threshold.value_or(monitor_.worst());
}

void ModelCheckpoint::on_epoch_begin(int epoch, Logs&) { current_epoch_ = epoch; }

void ModelCheckpoint::on_train_batch_end(int64_t batch, Logs& logs) {
  if (options_.save_freq.per_epoch() || ++batches_since_save_ < options_.save_freq.batches) return;
  batches_since_save_ = 0;
  save(current_epoch_, batch, logs);
}

void ModelCheckpoint::on_epoch_end(int epoch, Logs& logs) {
  if (options_.save_freq.per_epoch()) save(epoch, -1, logs);
}

void ModelCheckpoint::save(int epoch, int64_t batch, const Logs& logs) {
  const std::string path = format_checkpoint_path(filepath_, epoch, logs, batch);
  if (options_.save_best_only) {
    const std::optional<double> current = logs.get(options_.monitor);
    if (!current) {
      // Keras 3 (model_checkpoint.py since it checks the monitor before saving) warns and skips
      // saving; the message names the 0-based epoch, so Python shows it every epoch.
      std::fprintf(stderr, "UserWarning: Can save best model only with %s available, skipping save at epoch %d.\n",
                   options_.monitor.c_str(), epoch);
      std::fflush(stderr);
      return;
    }
    if (monitor_.is_improvement(*current, best_, 0.0)) {
      if (options_.verbose > 0)
        std::printf("Epoch %d: %s improved from %.5f to %.5f, saving model to %s\n", epoch + 1,
                    options_.monitor.c_str(), best_, *current, path.c_str());
      best_ = *current;
    } else {
      if (options_.verbose > 0)
        std::printf("Epoch %d: %s did not improve from %.5f\n", epoch + 1, options_.monitor.c_str(), best_);
      std::fflush(stdout);
      return;
    }
  } else if (options_.verbose > 0) {
    std::printf("Epoch %d: saving model to %s\n", epoch + 1, path.c_str());
  }
  std::fflush(stdout);
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
  }
  if (options_.save_weights_only)
    regula::save_weights(model(), path);
  else
    regula::save_model(model(), path, epoch + 1);
  last_saved_ = path;
  if (options_.verbose > 0) {
    std::printf("Epoch %d: finished saving model to %s\n", epoch + 1, path.c_str());
    std::fflush(stdout);
  }
}

SavedState ModelCheckpoint::state() const {
  SavedState s;
  s.numbers = {{"best", best_},
               {"monitor_warned", monitor_.warned() ? 1.0 : 0.0},
               {"current_epoch", current_epoch_},
               {"batches_since_save", static_cast<double>(batches_since_save_)}};
  s.texts = {{"last_saved", last_saved_}};
  return s;
}

void ModelCheckpoint::set_state(const SavedState& s) {
  const char* owner = "ModelCheckpoint::set_state";
  const double best = s.number(owner, "best");
  const bool monitor_warned = s.number(owner, "monitor_warned") != 0.0;
  std::string last = s.text(owner, "last_saved");
  const int current_epoch = static_cast<int>(s.number(owner, "current_epoch"));
  const int64_t batches_since_save = static_cast<int64_t>(s.number(owner, "batches_since_save"));
  current_epoch_ = current_epoch;
  batches_since_save_ = batches_since_save;
  best_ = best;
  monitor_.set_warned(monitor_warned);
  last_saved_ = std::move(last);
}

}  // namespace regula::callbacks
