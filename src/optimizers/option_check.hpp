#pragma once
// Validation shared by the optimizers' factories: one message format for every option.

#include <fmt/format.h>

#include "regula/error.hpp"

namespace regula::optimizers {

/// Throws ValueError "<Optimizer>: <option>=<value> is out of range; allowed: <allowed>" unless `ok`.
inline void check_option(const char* optimizer, const char* option, double value, bool ok, const char* allowed) {
  if (!ok) throw ValueError(fmt::format("{}: {}={} is out of range; allowed: {}", optimizer, option, value, allowed));
}

}  // namespace regula::optimizers
