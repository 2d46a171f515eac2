#include "regula/callbacks/monitor.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "regula/error.hpp"
#include "regula/metrics/metric.hpp"

namespace regula::callbacks {

MonitorMode resolve_monitor_mode(const std::string& owner, const std::string& mode, const std::string& monitor) {
  if (mode == "min") return MonitorMode::kMin;
  if (mode == "max") return MonitorMode::kMax;
  if (mode == "auto") {
    // Keras 3's MonitorCallback: the loss decreases, a metric improves in its own direction, and
    // anything else cannot be guessed.
    if (const std::optional<Direction> direction = metrics::improvement_direction(monitor)) return *direction;
    throw ValueError(owner + ": monitor='" + monitor + "' with mode='auto': cannot tell whether '" + monitor +
                     "' should be maximized or minimized (auto knows loss and the compiled metrics, with or "
                     "without val_); pass mode='max' to keep the highest value or mode='min' to keep the lowest");
  }
  // Keras only warns and falls back to "auto"; a typo silently flipping the direction is worse
  // than an error, so regula refuses it.
  throw ValueError(owner + ": mode='" + mode + "' is not allowed; allowed: 'auto', 'min', 'max'");
}

Monitor::Monitor(std::string owner, std::string subject, std::string monitor, const std::string& mode)
    : owner_(std::move(owner)),
      subject_(std::move(subject)),
      monitor_(std::move(monitor)),
      mode_(resolve_monitor_mode(owner_, mode, monitor_)) {
  if (monitor_.empty()) throw ValueError(owner_ + ": monitor='' is not allowed; give a logged name such as 'val_loss'");
}

double Monitor::worst() const {
  const double inf = std::numeric_limits<double>::infinity();
  return mode_ == MonitorMode::kMin ? inf : -inf;
}

bool Monitor::is_improvement(double current, double reference, double min_delta) const {
  // Same arithmetic as Keras (current - signed_delta) so boundary cases round the same way.
  const double delta = std::fabs(min_delta);
  if (mode_ == MonitorMode::kMin) return current - (-delta) < reference;
  return current - delta > reference;
}

std::optional<double> Monitor::value(const Logs& logs) {
  std::optional<double> v = logs.get(monitor_);
  if (!v && !warned_) {
    // Keras warns through `warnings.warn`, which shows a given warning once; the names are
    // joined by "," as in Keras's message.
    std::string names;
    for (const auto& entry : logs) names += (names.empty() ? "" : ",") + entry.first;
    std::fprintf(stderr,
                 "UserWarning: %s conditioned on metric `%s` which is not available. Available metrics are: %s\n",
                 subject_.c_str(), monitor_.c_str(), names.c_str());
    std::fflush(stderr);
    warned_ = true;
  }
  return v;
}

std::string python_float(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // Shortest round-trip digits in scientific form, then laid out as Python's repr does:
  // positional for exponents in [-4, 16), scientific with a signed two-digit exponent otherwise.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  const size_t e = sci.find('e');
  std::string mantissa = sci.substr(0, e);
  const int exponent = std::atoi(sci.c_str() + e + 1);
  std::string sign;
  if (!mantissa.empty() && mantissa[0] == '-') {
    sign = "-";
    mantissa.erase(0, 1);
  }
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits += c;
  if (exponent >= -4 && exponent < 16) {
    std::string out;
    if (exponent < 0) {
      out = "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    } else {
      const size_t int_len = static_cast<size_t>(exponent) + 1;
      if (digits.size() <= int_len) {
        out = digits + std::string(int_len - digits.size(), '0') + ".0";
      } else {
        out = digits.substr(0, int_len) + "." + digits.substr(int_len);
      }
    }
    return sign + out;
  }
  std::string out = digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  char exp[16];
  std::snprintf(exp, sizeof exp, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  return sign + out + exp;
}

}  // namespace regula::callbacks
