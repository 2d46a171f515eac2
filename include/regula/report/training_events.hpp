#pragma once
/// @file
/// The moments a learning-curve report marks on its curves, found from the history and the
/// callbacks' configurations alone (so a run directory is enough):
/// - learning-rate changes: epochs whose `learning_rate` (logged by ReduceLROnPlateau, the rate the
///   epoch trained with) differs from the next epoch's; the change happened at the end of the
///   earlier epoch.
/// - early stopping: EarlyStopping's rule (callbacks/early_stopping.hpp: min_delta, patience,
///   baseline, start_from_epoch, mode) replayed over its monitored series; it fired where the
///   replay stops, when that is the last recorded epoch.
/// - kept weights: the epoch EarlyStopping(restore_best_weights) restores (its replayed best
///   epoch), and the epoch whose weights ModelCheckpoint(save_best_only) saved last (strict
///   improvement on its monitor, from initial_value_threshold when given).
/// Monitor directions follow callbacks/monitor.hpp ("auto": names with "acc"/"auc" are maximized).
/// NaN values never improve, as in Keras.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "regula/report/run_data.hpp"
#include "regula/utils/direction.hpp"

namespace regula::report {

struct LearningRateChange {
  /// The 0-based epoch at whose end the rate changed (the new rate applies from the next one).
  int epoch = 0;
  double from = 0.0, to = 0.0;
};

/// An epoch whose weights a callback kept.
struct KeptEpoch {
  /// 0-based.
  int epoch = 0;
  /// "EarlyStopping" or "ModelCheckpoint".
  std::string by;
  /// ModelCheckpoint's filepath; empty for EarlyStopping.
  std::string file;
  std::string monitor;
  /// The monitor's mode, resolved.
  Direction mode = Direction::kMin;
  /// The monitored value at that epoch.
  double value = 0.0;
};

struct TrainingEvents {
  std::vector<LearningRateChange> learning_rate_changes;
  /// The 0-based epoch at which EarlyStopping stopped training.
  std::optional<int> early_stopping_epoch;
  std::vector<KeptEpoch> kept;
  /// Fewer epochs than planned and no early stopping: the run was interrupted (or stopped by
  /// another callback, e.g. on NaN).
  bool incomplete = false;
};

/// The events of a history trained with `callbacks` (a list of Keras-style callback configs;
/// unknown classes are ignored) for `planned_epochs` epochs from `initial_epoch` (0 planned:
/// unknown, never incomplete).
TrainingEvents find_training_events(const HistoryData& history, const nlohmann::json& callbacks, int planned_epochs,
                                    int initial_epoch = 0);

}  // namespace regula::report
