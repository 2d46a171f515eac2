#include "regula/utils/saved_state.hpp"

#include "regula/error.hpp"

namespace regula {
namespace {

template <class Map>
const typename Map::mapped_type& entry(const Map& map, const char* kind, const std::string& owner, const std::string& key) {
  const auto it = map.find(key);
  if (it == map.end()) {
    std::string known;
    for (const auto& [name, value] : map) known += (known.empty() ? "" : ", ") + name;
    throw ValueError(owner + ": the saved state has no " + kind + " '" + key + "' (its " + kind + "s: " +
                     (known.empty() ? "none" : known) + "); was it saved by another component?");
  }
  return it->second;
}

}  // namespace

double SavedState::number(const std::string& owner, const std::string& key) const { return entry(numbers, "number", owner, key); }

const std::vector<double>& SavedState::number_array(const std::string& owner, const std::string& key) const {
  return entry(number_arrays, "number array", owner, key);
}

const std::vector<int64_t>& SavedState::integer_array(const std::string& owner, const std::string& key) const {
  return entry(integers, "integer array", owner, key);
}

const std::string& SavedState::text(const std::string& owner, const std::string& key) const { return entry(texts, "text", owner, key); }

const Tensor& SavedState::tensor(const std::string& owner, const std::string& key) const { return entry(tensors, "tensor", owner, key); }

}  // namespace regula
