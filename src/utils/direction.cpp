#include "regula/utils/direction.hpp"

#include "regula/error.hpp"

namespace regula {

const char* direction_name(Direction direction) { return direction == Direction::kMin ? "min" : "max"; }

Direction parse_direction(const std::string& text, const std::string& owner) {
  if (text == "min") return Direction::kMin;
  if (text == "max") return Direction::kMax;
  throw ValueError(owner + ": direction '" + text + "' is not allowed; use \"min\" or \"max\"");
}

}  // namespace regula
