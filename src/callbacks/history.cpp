#include "regula/callbacks/history.hpp"

#include <cmath>

#include "regula/error.hpp"

namespace regula::callbacks {

const std::vector<double>& History::operator[](const std::string& name) const {
  for (const auto& [key, values] : series_)
    if (key == name) return values;
  std::string known;
  for (const auto& s : series_) known += (known.empty() ? "" : ", ") + s.first;
  throw ValueError("History: no series named '" + name + "'; recorded: " + (known.empty() ? "(none)" : known));
}

bool History::contains(const std::string& name) const {
  for (const auto& s : series_)
    if (s.first == name) return true;
  return false;
}

std::vector<std::string> History::names() const {
  std::vector<std::string> out;
  for (const auto& s : series_) out.push_back(s.first);
  return out;
}

// Keras keeps the history of earlier fits when training resumes (initial_epoch > 0 with the
// same History object); a fresh fit appends to a fresh History, which is what fit() creates.
void History::on_train_begin(Logs&) {}

void History::on_epoch_end(int epoch, Logs& logs) {
  epoch_.push_back(epoch);
  for (const auto& [name, value] : logs) {
    bool found = false;
    for (auto& [key, values] : series_)
      if (key == name) {
        values.push_back(value);
        found = true;
      }
    if (!found) series_.emplace_back(name, std::vector<double>(epoch_.size() - 1, std::nan("")))
                    .second.push_back(value);
  }
}

}  // namespace regula::callbacks
