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

std::string format_checkpoint_path(const std::string& pattern, int epoch, const Logs& logs) {
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
    } else if (std::optional<double> v = logs.get(key)) {
      out += format_value(key, spec, false, *v, pattern);
    } else {
      std::string names = "epoch";
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
  if (options_.save_freq != "epoch")
    throw ValueError("ModelCheckpoint: save_freq='" + options_.save_freq + "' is not supported; allowed: 'epoch'");
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

void ModelCheckpoint::on_epoch_end(int epoch, Logs& logs) {
  const std::string path = format_checkpoint_path(filepath_, epoch, logs);
  if (options_.save_best_only) {
    const std::optional<double> current = logs.get(options_.monitor);
    if (!current) {
      // Keras warns through warnings.warn (shown once) and saves anyway.
      if (!warned_) {
        std::fprintf(stderr, "UserWarning: Can save best model only with %s available.\n", options_.monitor.c_str());
        std::fflush(stderr);
        warned_ = true;
      }
    } else if (monitor_.is_improvement(*current, best_, 0.0)) {
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
}

SavedState ModelCheckpoint::state() const {
  SavedState s;
  s.numbers = {{"best", best_}, {"warned", warned_ ? 1.0 : 0.0}, {"monitor_warned", monitor_.warned() ? 1.0 : 0.0}};
  s.texts = {{"last_saved", last_saved_}};
  return s;
}

void ModelCheckpoint::set_state(const SavedState& s) {
  const char* owner = "ModelCheckpoint::set_state";
  const double best = s.number(owner, "best");
  const bool warned = s.number(owner, "warned") != 0.0;
  const bool monitor_warned = s.number(owner, "monitor_warned") != 0.0;
  std::string last = s.text(owner, "last_saved");
  best_ = best;
  warned_ = warned;
  monitor_.set_warned(monitor_warned);
  last_saved_ = std::move(last);
}

}  // namespace regula::callbacks
