#pragma once
/// @file
/// Direction: which way a monitored quantity improves. It is Keras's callback `mode` once "auto"
/// is resolved (callbacks::MonitorMode), and the direction of a search objective (KerasTuner's
/// `Objective(name, direction)`). Files and messages spell it "min" or "max".

#include <string>

namespace regula {

enum class Direction { kMin, kMax };

/// "min" or "max".
const char* direction_name(Direction direction);
/// Reads "min" or "max"; throws ValueError naming `owner`, the text and both allowed values.
Direction parse_direction(const std::string& text, const std::string& owner);
/// Whether `a` is strictly better than `b` in `direction`.
inline bool is_better(Direction direction, double a, double b) { return direction == Direction::kMin ? a < b : a > b; }

}  // namespace regula
