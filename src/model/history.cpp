#include "regula/model/history.hpp"

#include <algorithm>
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

SavedState History::state() const {
  SavedState s;
  s.integers["epoch"] = std::vector<int64_t>(epoch_.begin(), epoch_.end());
  std::string order;
  for (const auto& [name, values] : series_) {
    order += (order.empty() ? "" : "\n") + name;
    s.number_arrays["series/" + name] = values;
  }
  s.texts["names"] = order;
  return s;
}

void History::set_state(const SavedState& s) {
  const char* owner = "History::set_state";
  const std::vector<int64_t>& epochs = s.integer_array(owner, "epoch");
  const std::string& order = s.text(owner, "names");
  std::vector<std::pair<std::string, std::vector<double>>> series;
  for (size_t begin = 0; begin < order.size();) {
    const size_t end = std::min(order.find('\n', begin), order.size());
    const std::string name = order.substr(begin, end - begin);
    series.emplace_back(name, s.number_array(owner, "series/" + name));
    if (series.back().second.size() > epochs.size())
      throw ValueError(std::string(owner) + ": '" + name + "' has " + std::to_string(series.back().second.size()) +
                       " values for " + std::to_string(epochs.size()) + " epochs");
    begin = end + 1;
  }
  epoch_.assign(epochs.begin(), epochs.end());
  series_ = std::move(series);
}

}  // namespace regula::callbacks
