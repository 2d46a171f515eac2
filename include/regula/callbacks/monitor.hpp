#pragma once
/// @file
/// The "monitor" logic shared by EarlyStopping and ReduceLROnPlateau: which direction of a
/// logged quantity counts as better, and the warning Keras gives when the quantity is absent.
///
/// Keras rules:
/// - mode "min" / "max" choose the direction; "auto" follows Keras 3's MonitorCallback: `loss`
///   and `val_loss` are minimized, a compiled metric (e.g. "accuracy", "val_acc") goes its own
///   direction (metrics::improvement_direction), and any other name is a ValueError asking for
///   "min" or "max" — raised when the callback is made, where Keras raises at the first epoch end.
///   Any other mode is a ValueError here (Keras warns and falls back to "auto").
/// - When the monitored key is absent from the epoch logs Keras warns (it does not raise) and the
///   callback does nothing that epoch; the warning here goes to stderr, once per Monitor.

#include <optional>
#include <string>

#include "regula/model/logs.hpp"
#include "regula/utils/direction.hpp"

namespace regula::callbacks {

/// A callback's resolved mode: the direction in which the monitored quantity improves.
using MonitorMode = Direction;

/// The direction for `mode` ("auto", "min", "max") and the monitored name `monitor`. Throws
/// ValueError naming `owner` (the callback), the option, the value and what is allowed.
MonitorMode resolve_monitor_mode(const std::string& owner, const std::string& mode, const std::string& monitor);

/// A monitored quantity: its name, direction and the absent-key warning.
class Monitor {
 public:
  /// `subject` starts the absent-key warning as in Keras (e.g. "Early stopping"), `owner` names
  /// the callback in errors. Throws ValueError for an empty `monitor` or an unknown `mode`.
  Monitor(std::string owner, std::string subject, std::string monitor, const std::string& mode);

  const std::string& name() const { return monitor_; }
  MonitorMode mode() const { return mode_; }
  /// The starting "best": +inf when minimizing, -inf when maximizing.
  double worst() const;
  /// Keras EarlyStopping's `_is_improvement`: `monitor_op(current - signed_delta, reference)`
  /// where signed_delta is -|min_delta| when minimizing and +|min_delta| when maximizing.
  bool is_improvement(double current, double reference, double min_delta) const;
  /// The monitored value in `logs`; when absent, prints Keras's warning (listing the available
  /// names) to stderr the first time and returns nothing.
  std::optional<double> value(const Logs& logs);
  /// Whether the absent-key warning has been printed.
  bool warned() const { return warned_; }
  /// Restores the warning flag (a resumed run does not warn twice).
  void set_warned(bool warned) { warned_ = warned; }

 private:
  std::string owner_;
  std::string subject_;
  std::string monitor_;
  MonitorMode mode_;
  bool warned_ = false;
};

/// `value` as Python's `str(float)` writes it (shortest round-trip digits; "0.001", "1e-05",
/// "1.0", "nan", "inf"), for messages and CSV cells that should read as Keras's.
std::string python_float(double value);

}  // namespace regula::callbacks
