#pragma once
/// @file
/// Learning-rate schedules (Keras 3 `keras.optimizers.schedules`): the learning rate as a function
/// of the optimizer's iteration count, given to an optimizer in place of a number
/// (`Optimizer::set_learning_rate_schedule`, or `learning_rate: {class_name: CosineDecay, …}` in a
/// configuration). As in Keras, an optimizer with a schedule has no settable learning rate
/// (ReduceLROnPlateau and LearningRateScheduler refuse it).
///
/// CosineDecay(initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None,
/// warmup_steps=0), Keras 3's rule, at step s (the optimizer's iterations before the update):
/// - without warmup: s' = min(s, decay_steps); lr = initial · ((1 − α) · ½(1 + cos(π s'/decay_steps)) + α);
/// - with warmup_target: s' = min(s, decay_steps + warmup_steps); while s' < warmup_steps,
///   lr = initial + (warmup_target − initial) · s'/warmup_steps; after it the cosine above runs from
///   warmup_target over s' − warmup_steps.
/// Allowed: initial_learning_rate and warmup_target finite and >= 0; decay_steps >= 1;
/// warmup_steps >= 0 (>= 1 with a warmup_target); alpha in [0, 1].

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace regula::optimizers {

class LearningRateSchedule {
 public:
  virtual ~LearningRateSchedule() = default;
  /// The learning rate of the update made at iteration count `step` (0 for the first update).
  virtual double operator()(int64_t step) const = 0;
  virtual std::string class_name() const = 0;
  /// Keras's config of the schedule (its constructor arguments).
  virtual nlohmann::json get_config() const = 0;
  /// The step from which the rate stays constant, when there is one (CosineDecay: warmup_steps +
  /// decay_steps), so that a training longer than the schedule can be pointed out.
  virtual std::optional<int64_t> final_step() const { return std::nullopt; }
};

using LearningRateSchedulePtr = std::shared_ptr<const LearningRateSchedule>;

struct CosineDecayOptions {
  double initial_learning_rate = 0.001;
  int64_t decay_steps = 1;
  double alpha = 0.0;
  std::optional<double> warmup_target = std::nullopt;
  int64_t warmup_steps = 0;
};

class CosineDecay final : public LearningRateSchedule {
 public:
  /// Throws ValueError naming the option out of its range (see the file comment).
  explicit CosineDecay(CosineDecayOptions options);
  double operator()(int64_t step) const override;
  std::string class_name() const override { return "CosineDecay"; }
  nlohmann::json get_config() const override;
  std::optional<int64_t> final_step() const override { return options_.warmup_steps + options_.decay_steps; }
  const CosineDecayOptions& options() const { return options_; }

 private:
  CosineDecayOptions options_;
};

/// Keras's serialized form {"class_name": "CosineDecay", "config": {…}}.
nlohmann::json schedule_to_config(const LearningRateSchedule& schedule);
/// A schedule from Keras's serialized form (nested or flat, config/registry.hpp's rules); ValueError
/// naming `where` for an unknown class (known: CosineDecay) or option.
LearningRateSchedulePtr schedule_from_config(const nlohmann::json& config, const std::string& where);

}  // namespace regula::optimizers
