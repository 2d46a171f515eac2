#include "regula/model/logs.hpp"

#include <algorithm>

#include "regula/error.hpp"

namespace regula::callbacks {

void Logs::set(const std::string& name, double value) {
  for (auto& [key, v] : entries_)
    if (key == name) {
      v = value;
      return;
    }
  entries_.emplace_back(name, value);
}

std::optional<double> Logs::get(const std::string& name) const {
  for (const auto& [key, v] : entries_)
    if (key == name) return v;
  return std::nullopt;
}

double Logs::at(const std::string& name) const {
  if (auto v = get(name)) return *v;
  throw ValueError("logs: no value named '" + name + "'; available: " + names());
}

void Logs::erase(const std::string& name) {
  std::erase_if(entries_, [&](const auto& e) { return e.first == name; });
}

std::string Logs::names() const {
  std::string s;
  for (const auto& e : entries_) s += (s.empty() ? "" : ", ") + e.first;
  return s.empty() ? "(none)" : s;
}

}  // namespace regula::callbacks
