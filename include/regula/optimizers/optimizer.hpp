#pragma once
/// @file
/// Optimizers with Keras 3's update rules and defaults (`keras.optimizers`).
///
/// The learning rate is readable and settable between steps (callbacks such as
/// ReduceLROnPlateau use it). `iterations` counts applied steps, as Keras's `optimizer.iterations`.
///
/// Update rules are those of Keras 3's `update_step` (keras/src/optimizers/sgd.py, adam.py,
/// rmsprop.py), computed in float32 like Keras's variables; scalar factors that depend only on
/// the step (Adam's bias correction) are computed in double first. Constructors validate every
/// option and throw ValueError naming the optimizer, the option, the value and the allowed range.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "regula/layers/layer.hpp"
#include "regula/optimizers/learning_rate_schedule.hpp"

namespace regula::optimizers {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;

  /// Applies one update to every weight from its `gradient`, then increments `iterations()`.
  /// The list and its order must stay the same from step to step (slot variables follow it);
  /// a list of another length throws StateError. Non-trainable weights are skipped (they keep
  /// their slots, which stay zero); a trainable weight whose gradient does not match its value
  /// throws ShapeError naming the weight.
  void apply(const std::vector<layers::Weight*>& weights);

  /// The learning rate of the next step (with a schedule: its value at `iterations()`).
  double learning_rate() const { return learning_rate_; }
  /// Sets the learning rate for the next steps; must be finite and >= 0. Throws StateError when
  /// the optimizer follows a schedule (Keras: "its learning rate is not settable").
  void set_learning_rate(double learning_rate);
  /// Makes the learning rate follow `schedule` of the iteration count (null: back to a number,
  /// the schedule's current value). See learning_rate_schedule.hpp.
  void set_learning_rate_schedule(LearningRateSchedulePtr schedule);
  const LearningRateSchedulePtr& learning_rate_schedule() const { return schedule_; }
  int64_t iterations() const { return iterations_; }

  /// Slot variables (momentum, moments) in creation order, for saving and restoring. The order
  /// is Keras's `optimizer.variables` order without `iteration`/`learning_rate`: grouped by kind,
  /// then by weight (Adam: m for every weight, then v for every weight, then v̂ with amsgrad).
  /// Empty until the optimizer is built (first `apply`, or `build_for`).
  std::vector<Tensor*> variables();
  /// Creates the slot variables for `weights` now, if not yet built (Keras's
  /// `optimizer.build(var_list)`), so that saved slot values can be restored before the first
  /// step; `apply` calls it. `weights` is the list later passed to `apply`.
  void build_for(const std::vector<layers::Weight*>& weights);
  void set_iterations(int64_t iterations);

  /// Keras-style config: {"name": name(), "learning_rate": …, …options with Keras's names}; with a
  /// schedule, learning_rate is the schedule's {"class_name": …, "config": …}.
  virtual nlohmann::json get_config() const;

 protected:
  explicit Optimizer(double learning_rate);
  /// Creates the slot variables for `weights` (called on the first step).
  virtual void build(const std::vector<layers::Weight*>& weights) = 0;
  /// Updates weight `index` with iteration count `step` (1 for the first update).
  virtual void update(size_t index, layers::Weight& weight, int64_t step) = 0;
  /// A zero slot variable shaped like `like`, owned by the optimizer. `build` adds slots kind by
  /// kind (all of the first kind for every weight, then the next kind), as Keras orders them.
  /// The reference is valid until the next `add_slot`.
  Tensor& add_slot(const Tensor& like);
  /// Slot `slot` of weight `index` where each weight has `slots_per_weight` slots, laid out kind
  /// by kind: slots_[slot · (number of weights) + index].
  Tensor& slot(size_t index, size_t slots_per_weight, size_t slot);

 private:
  double learning_rate_;
  LearningRateSchedulePtr schedule_;
  int64_t iterations_ = 0;
  bool built_ = false;
  /// The length of the weight list `build` saw (later lists must match it).
  size_t num_weights_ = 0;
  std::vector<Tensor> slots_;
};

using OptimizerPtr = std::shared_ptr<Optimizer>;

/// Keras SGD(learning_rate=0.01, momentum=0.0, nesterov=False), Keras name "SGD":
/// plain (momentum = 0, no slot): w ← w − lr·g;
/// momentum: v ← momentum·v − lr·g; w ← w + v;
/// nesterov: v ← momentum·v − lr·g; w ← w + momentum·v − lr·g (with the updated v).
/// One slot (v, "momentum") per weight only when momentum ≠ 0.
/// Allowed: learning_rate finite and >= 0; momentum in [0, 1].
struct SGDOptions {
  double learning_rate = 0.01;
  double momentum = 0.0;
  bool nesterov = false;
};
OptimizerPtr SGD(SGDOptions options = {});

/// Keras Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False),
/// Keras name "adam". With t the step (1 for the first):
/// α = lr·√(1−β₂ᵗ)/(1−β₁ᵗ); m ← m + (g−m)(1−β₁); v ← v + (g²−v)(1−β₂);
/// amsgrad: v̂ ← max(v̂, v), and v̂ replaces v below;
/// w ← w − α·m/(√v + ε)   (Keras's ε placement: ε is added after the bias correction of α, so it
/// is the paper's "ε hat").
/// Slots: m ("momentum"), v ("velocity"), and v̂ ("velocity_hat") with amsgrad.
/// Allowed: learning_rate finite and >= 0; beta_1, beta_2 in [0, 1); epsilon finite and > 0.
struct AdamOptions {
  double learning_rate = 0.001;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  bool amsgrad = false;
};
OptimizerPtr Adam(AdamOptions options = {});

/// Keras RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False),
/// Keras name "rmsprop". Keras 3 puts ε inside the square root:
/// v ← ρ·v + (1−ρ)·g²;
/// centered: ḡ ← ρ·ḡ + (1−ρ)·g; Δ = lr·g / √(v − ḡ² + ε);  otherwise Δ = lr·g / √(v + ε);
/// momentum > 0: μ ← momentum·μ + Δ; w ← w − μ;  otherwise w ← w − Δ.
/// Slots: v ("velocity") for every weight, then μ ("momentum") when momentum > 0, then ḡ
/// ("average_gradient") when centered.
/// Allowed: learning_rate finite and >= 0; rho in [0, 1); momentum in [0, 1]; epsilon finite and
/// > 0.
struct RMSpropOptions {
  double learning_rate = 0.001;
  double rho = 0.9;
  double momentum = 0.0;
  double epsilon = 1e-7;
  bool centered = false;
};
OptimizerPtr RMSprop(RMSpropOptions options = {});

/// An optimizer by Keras name ("sgd", "adam", "rmsprop", any case) with Keras's defaults.
/// Throws ValueError listing the known names.
OptimizerPtr get(const std::string& name);
/// An optimizer from a Keras-style config, accepted in these forms:
/// - {"class_name": "Adam", "config": {"learning_rate": …, …}} (Keras's serialization; "module"
///   and "registered_name" are ignored);
/// - {"class_name": "Adam", "learning_rate": …} (the flat form of the experiment file);
/// - {"name": "adam", "learning_rate": …} (what `get_config` returns);
/// - learning_rate may be a schedule's config ({"class_name": "CosineDecay", "config": {…}});
/// - a string, as `get`.
/// Options take Keras's names; Keras's base options (weight_decay, clipnorm, clipvalue,
/// global_clipnorm, use_ema, ema_momentum, ema_overwrite_frequency, loss_scale_factor,
/// gradient_accumulation_steps) are accepted at their "off" value (null / false) and rejected
/// otherwise. Unknown names or options throw ValueError naming `where` and listing what is known
/// (the class-name rules are config::Registry's, config/registry.hpp).
OptimizerPtr from_config(const nlohmann::json& config, const std::string& where = "optimizer config");
/// A new optimizer of the same class and options as `optimizer`, with no slots and iteration 0
/// (Keras's `optimizer.from_config(optimizer.get_config())`): what each training of a plan that
/// names one optimizer starts from.
OptimizerPtr fresh_copy(const Optimizer& optimizer);

}  // namespace regula::optimizers
