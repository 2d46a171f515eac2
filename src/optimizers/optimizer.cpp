#include "regula/optimizers/optimizer.hpp"

#include <cmath>
#include <set>
#include <string>

#include <fmt/format.h>

#include "regula/config/config_reader.hpp"
#include "regula/config/registry.hpp"
#include "regula/error.hpp"
#include "regula/optimizers/adamw.hpp"

namespace regula::optimizers {

Optimizer::Optimizer(double learning_rate) : learning_rate_(learning_rate) {
  // The factories validate with the optimizer's name first; this guards direct subclasses.
  if (!(std::isfinite(learning_rate) && learning_rate >= 0.0))
    throw ValueError(fmt::format("Optimizer: learning_rate={} is out of range; allowed: finite and >= 0", learning_rate));
}

void Optimizer::set_learning_rate(double learning_rate) {
  if (schedule_)
    throw StateError(fmt::format("{}: the learning rate follows a {} schedule of the iterations and is not settable "
                                 "(as in Keras); give a number as learning_rate to change it during training",
                                 name(), schedule_->class_name()));
  if (!(std::isfinite(learning_rate) && learning_rate >= 0.0))
    throw ValueError(fmt::format("{}: learning_rate={} is out of range; allowed: finite and >= 0", name(),
                                 learning_rate));
  learning_rate_ = learning_rate;
}

void Optimizer::set_learning_rate_schedule(LearningRateSchedulePtr schedule) {
  schedule_ = std::move(schedule);
  if (schedule_) learning_rate_ = (*schedule_)(iterations_);
}

void Optimizer::set_iterations(int64_t iterations) {
  iterations_ = iterations;
  if (schedule_) learning_rate_ = (*schedule_)(iterations_);
}

void Optimizer::build_for(const std::vector<layers::Weight*>& weights) {
  if (built_) return;
  for (size_t i = 0; i < weights.size(); ++i)
    if (weights[i] == nullptr) throw ValueError(fmt::format("{}: weight {} of the list is null", name(), i));
  slots_.clear();
  num_weights_ = weights.size();
  build(weights);
  built_ = true;
}

void Optimizer::apply(const std::vector<layers::Weight*>& weights) {
  build_for(weights);
  if (weights.size() != num_weights_)
    throw StateError(fmt::format("{}: apply got {} weights but was built for {}; the list of weights must stay the "
                                 "same from step to step",
                                 name(), weights.size(), num_weights_));
  // Check every weight before touching any, so that a bad gradient leaves no half-applied step.
  for (size_t i = 0; i < weights.size(); ++i) {
    const layers::Weight* w = weights[i];
    if (w == nullptr) throw ValueError(fmt::format("{}: weight {} of the list is null", name(), i));
    if (!w->trainable) continue;
    if (w->gradient.size() != w->value.size() || w->gradient.empty() != w->value.empty())
      throw ShapeError(fmt::format("{}: weight '{}' of shape {} has a gradient of shape {}", name(), w->name,
                                   w->value.shape().to_string(), w->gradient.shape().to_string()));
  }
  if (schedule_) learning_rate_ = (*schedule_)(iterations_);
  const int64_t step = iterations_ + 1;
  for (size_t i = 0; i < weights.size(); ++i)
    if (weights[i]->trainable && weights[i]->value.size() > 0) update(i, *weights[i], step);
  // Keras applies constraints right after the update step.
  for (layers::Weight* w : weights)
    if (w->trainable && w->constraint) w->constraint->apply(w->value);
  ++iterations_;
}

std::vector<Tensor*> Optimizer::variables() {
  std::vector<Tensor*> out;
  out.reserve(slots_.size());
  for (Tensor& t : slots_) out.push_back(&t);
  return out;
}

nlohmann::json Optimizer::get_config() const {
  return {{"name", name()}, {"learning_rate", schedule_ ? schedule_to_config(*schedule_) : nlohmann::json(learning_rate_)}};
}

Tensor& Optimizer::add_slot(const Tensor& like) {
  slots_.emplace_back(like.shape());
  return slots_.back();
}

Tensor& Optimizer::slot(size_t index, size_t slots_per_weight, size_t slot) {
  (void)slots_per_weight;  // the kind-major layout needs the weight count, not the slots per weight
  return slots_[slot * num_weights_ + index];
}

namespace {

// Reads the options of one optimizer from a JSON object and rejects what it does not know.
/// Keras's base optimizer options are accepted at their "off" value only (null, or false), so a
/// config saved by Keras loads when it uses none of them.
void refuse_base_options(config::ConfigReader& r, bool weight_decay_is_own = false) {
  for (const char* key : {"weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "ema_overwrite_frequency",
                          "loss_scale_factor", "gradient_accumulation_steps"})
    if (const auto value = r.get_json(key); value && !(weight_decay_is_own && std::string(key) == "weight_decay"))
      throw ValueError(fmt::format("{}: option '{}' = {} is not supported by regula (only null)", r.where(), key,
                                   value->dump()));
  for (const char* key : {"use_ema", "is_legacy_optimizer"})
    if (r.get_bool(key, false))
      throw ValueError(fmt::format("{}: option '{}' = true is not supported by regula (only false)", r.where(), key));
  r.ignore({"name", "ema_momentum"});
}

/// Reads learning_rate into `rate`: a number, or a schedule's config, which is returned (and
/// `rate` becomes its value at step 0).
LearningRateSchedulePtr read_learning_rate(config::ConfigReader& r, double& rate) {
  if (const auto v = r.get_json("learning_rate"); v && v->is_object()) {
    LearningRateSchedulePtr schedule = schedule_from_config(*v, r.where() + ": learning_rate");
    rate = (*schedule)(0);
    return schedule;
  }
  rate = r.get_double("learning_rate", rate);
  return nullptr;
}

/// The optimizer, following `schedule` when there is one.
OptimizerPtr with_schedule(OptimizerPtr optimizer, LearningRateSchedulePtr schedule) {
  if (schedule) optimizer->set_learning_rate_schedule(std::move(schedule));
  return optimizer;
}

/// The Adam family's moment options (Adam, AdamW); returns the learning-rate schedule, if any.
template <class Options>
LearningRateSchedulePtr read_moment_options(config::ConfigReader& r, Options& o) {
  LearningRateSchedulePtr schedule = read_learning_rate(r, o.learning_rate);
  o.beta_1 = r.get_double("beta_1", o.beta_1);
  o.beta_2 = r.get_double("beta_2", o.beta_2);
  o.epsilon = r.get_double("epsilon", o.epsilon);
  o.amsgrad = r.get_bool("amsgrad", o.amsgrad);
  return schedule;
}


using Reader = config::ConfigReader;

const config::Registry<OptimizerPtr>& registry() {
  static const config::Registry<OptimizerPtr> table(
      {.kind = "optimizer", .example = "{class_name: Adam, learning_rate: 0.001}", .any_case = true},
      {{"SGD",
        [](Reader& r) {
          SGDOptions o;
          LearningRateSchedulePtr schedule = read_learning_rate(r, o.learning_rate);
          o.momentum = r.get_double("momentum", o.momentum);
          o.nesterov = r.get_bool("nesterov", o.nesterov);
          refuse_base_options(r);
          return with_schedule(SGD(o), std::move(schedule));
        }},
       {"Adam",
        [](Reader& r) {
          AdamOptions o;
          LearningRateSchedulePtr schedule = read_moment_options(r, o);
          refuse_base_options(r);
          return with_schedule(Adam(o), std::move(schedule));
        }},
       {"AdamW",
        [](Reader& r) {
          AdamWOptions o;
          LearningRateSchedulePtr schedule = read_moment_options(r, o);
          o.weight_decay = r.get_double("weight_decay", o.weight_decay);
          refuse_base_options(r, /*weight_decay_is_own=*/true);
          return with_schedule(AdamW(o), std::move(schedule));
        }},
       {"RMSprop", [](Reader& r) {
          RMSpropOptions o;
          LearningRateSchedulePtr schedule = read_learning_rate(r, o.learning_rate);
          o.rho = r.get_double("rho", o.rho);
          o.momentum = r.get_double("momentum", o.momentum);
          o.epsilon = r.get_double("epsilon", o.epsilon);
          o.centered = r.get_bool("centered", o.centered);
          refuse_base_options(r);
          return with_schedule(RMSprop(o), std::move(schedule));
        }}});
  return table;
}

}  // namespace

OptimizerPtr get(const std::string& name) { return from_config(nlohmann::json::object({{"class_name", name}}), "optimizers::get"); }

OptimizerPtr from_config(const nlohmann::json& config, const std::string& where) {
  if (config.is_string()) return get(config.get<std::string>());
  if (!config.is_object())
    throw ValueError(fmt::format("{}: expected a name or an object such as {{\"class_name\": \"Adam\", "
                                 "\"config\": {{\"learning_rate\": 0.001}}}}, got {}",
                                 where, config.dump()));
  // get_config's form names the class by "name" alone.
  if (!config.contains("class_name") && config.contains("name") && config["name"].is_string()) {
    nlohmann::json named = config;
    named["class_name"] = config["name"];
    return registry().make(named, where);
  }
  return registry().make(config, where);
}

OptimizerPtr fresh_copy(const Optimizer& optimizer) { return from_config(optimizer.get_config(), "optimizers::fresh_copy"); }

}  // namespace regula::optimizers
