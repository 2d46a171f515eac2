#pragma once
/// @file
/// Logs: the named values a training step or epoch reports (`loss`, `accuracy`, `val_loss`, …),
/// in insertion order, as Keras's `logs` dict (the progress line prints them in this order).

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace regula::callbacks {

class Logs {
 public:
  /// Sets `name` (appending it when new, keeping its place otherwise).
  void set(const std::string& name, double value);
  /// The value of `name`, or nothing.
  std::optional<double> get(const std::string& name) const;
  bool contains(const std::string& name) const { return get(name).has_value(); }
  /// The value of `name`; throws ValueError listing the available names when absent.
  double at(const std::string& name) const;
  void erase(const std::string& name);
  void clear() { entries_.clear(); }
  bool empty() const { return entries_.empty(); }
  /// Names in order, joined by ", " (for messages).
  std::string names() const;
  const std::vector<std::pair<std::string, double>>& entries() const { return entries_; }
  auto begin() const { return entries_.begin(); }
  auto end() const { return entries_.end(); }

 private:
  std::vector<std::pair<std::string, double>> entries_;
};

}  // namespace regula::callbacks
