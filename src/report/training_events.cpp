// Replays the callbacks' rules over a recorded history to find where the learning rate changed,
// where EarlyStopping fired and which epoch's weights were kept.

#include "regula/report/training_events.hpp"

#include <cmath>
#include <limits>

#include "regula/callbacks/monitor.hpp"
#include "regula/config/registry.hpp"
#include "regula/error.hpp"

namespace regula::report {
namespace {

using nlohmann::json;

double number(const json& options, const char* key, double fallback) {
  return options.contains(key) && options[key].is_number() ? options[key].get<double>() : fallback;
}

std::optional<callbacks::MonitorMode> mode_of(const json& options, const std::string& monitor) {
  try {
    return callbacks::resolve_monitor_mode("report", options.value("mode", "auto"), monitor);
  } catch (const ValueError&) {
    return std::nullopt;  // the run itself would have refused it; nothing to replay
  }
}

struct EarlyStoppingReplay {
  std::optional<int> stopped_index;
  std::optional<int> best_index;
};

/// callbacks::EarlyStopping::on_epoch_end over the series, as indices into the history.
EarlyStoppingReplay replay_early_stopping(const HistoryData& h, const std::vector<double>& values,
                                          const callbacks::Monitor& monitor, const json& o) {
  const double min_delta = number(o, "min_delta", 0.0);
  const int patience = static_cast<int>(number(o, "patience", 0));
  const int start_from_epoch = static_cast<int>(number(o, "start_from_epoch", 0));
  const bool restore = o.value("restore_best_weights", false);
  const std::optional<double> baseline =
      o.contains("baseline") && o["baseline"].is_number() ? std::optional<double>(o["baseline"].get<double>()) : std::nullopt;
  EarlyStoppingReplay r;
  double best = monitor.worst();
  int wait = 0;
  for (size_t i = 0; i < h.size(); ++i) {
    const int epoch = h.epoch[i];  // as fit numbers it (from initial_epoch)
    if (epoch < start_from_epoch) continue;
    const double current = values[i];
    if (restore && !r.best_index) r.best_index = static_cast<int>(i);
    ++wait;
    if (monitor.is_improvement(current, best, min_delta)) {
      best = current;
      r.best_index = static_cast<int>(i);
      if (!baseline || monitor.is_improvement(current, *baseline, min_delta)) wait = 0;
      continue;
    }
    if (wait >= patience && epoch > 0) {
      r.stopped_index = static_cast<int>(i);
      break;
    }
  }
  return r;
}

/// The last epoch ModelCheckpoint(save_best_only) saved: strict improvements on its monitor.
std::optional<int> replay_checkpoint(const std::vector<double>& values, const callbacks::Monitor& monitor, const json& o) {
  double best = number(o, "initial_value_threshold", monitor.worst());
  std::optional<int> saved;
  for (size_t i = 0; i < values.size(); ++i) {
    if (monitor.is_improvement(values[i], best, 0.0)) {
      best = values[i];
      saved = static_cast<int>(i);
    }
  }
  return saved;
}

/// The events of one callback configuration; a malformed one (the run would have refused it)
/// adds none.
void add_callback_events(TrainingEvents& events, const HistoryData& h, const json& spec) try {
  // The flat experiment-file form or Keras's {class_name, config}, read as the run read it.
  const config::ClassConfig callback = config::read_class_config(spec, {.kind = "callback"}, "report");
  const std::string& name = callback.class_name;
  const json& o = callback.options;
  const std::string monitored = o.value("monitor", "val_loss");
  const auto* values = h.find(monitored);
  const auto mode = mode_of(o, monitored);
  if (!values || !mode || monitored.empty()) return;
  const callbacks::Monitor monitor("report", "report", monitored, direction_name(*mode));
  if (name == "EarlyStopping") {
    const EarlyStoppingReplay r = replay_early_stopping(h, *values, monitor, o);
    if (r.stopped_index && *r.stopped_index + 1 == static_cast<int>(h.size()))
      events.early_stopping_epoch = h.epoch[static_cast<size_t>(*r.stopped_index)];
    if (o.value("restore_best_weights", false) && r.best_index)
      events.kept.push_back({h.epoch[static_cast<size_t>(*r.best_index)], "EarlyStopping", "", monitored,
                             *mode, (*values)[static_cast<size_t>(*r.best_index)]});
  } else if (name == "ModelCheckpoint" && o.value("save_best_only", false)) {
    if (const auto saved = replay_checkpoint(*values, monitor, o))
      events.kept.push_back({h.epoch[static_cast<size_t>(*saved)], "ModelCheckpoint", o.value("filepath", ""),
                             monitored, *mode, (*values)[static_cast<size_t>(*saved)]});
  }
} catch (const json::exception&) {
} catch (const ValueError&) {
  // not a callback the run could have read; nothing to replay
}

}  // namespace

TrainingEvents find_training_events(const HistoryData& h, const json& callback_list, int planned_epochs,
                                    int initial_epoch) {
  TrainingEvents events;
  if (const auto* lr = h.find("learning_rate")) {
    for (size_t i = 0; i + 1 < lr->size(); ++i)
      if (std::isfinite((*lr)[i]) && std::isfinite((*lr)[i + 1]) && (*lr)[i + 1] != (*lr)[i])
        events.learning_rate_changes.push_back({h.epoch[i], (*lr)[i], (*lr)[i + 1]});
  }
  if (callback_list.is_array() && h.size() > 0) {
    for (const json& spec : callback_list) {
      if (spec.is_object()) add_callback_events(events, h, spec);
    }
  }
  const int expected = planned_epochs - initial_epoch;
  events.incomplete = planned_epochs > 0 && static_cast<int>(h.size()) < expected && !events.early_stopping_epoch;
  return events;
}

}  // namespace regula::report
