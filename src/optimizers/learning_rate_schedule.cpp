#include "regula/optimizers/learning_rate_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "regula/config/registry.hpp"
#include "regula/error.hpp"

namespace regula::optimizers {
namespace {

CosineDecayOptions validated(CosineDecayOptions o) {
  auto rate_ok = [](double v) { return std::isfinite(v) && v >= 0.0; };
  if (!rate_ok(o.initial_learning_rate))
    throw ValueError(fmt::format("CosineDecay: initial_learning_rate={} is out of range; allowed: finite and >= 0",
                                 o.initial_learning_rate));
  if (o.decay_steps < 1)
    throw ValueError(fmt::format("CosineDecay: decay_steps={} is out of range; allowed: >= 1", o.decay_steps));
  if (!(o.alpha >= 0.0 && o.alpha <= 1.0))
    throw ValueError(fmt::format("CosineDecay: alpha={} is out of range; allowed: [0, 1]", o.alpha));
  if (o.warmup_steps < 0 || (o.warmup_target && o.warmup_steps < 1))
    throw ValueError(fmt::format("CosineDecay: warmup_steps={} is out of range; allowed: >= 0, and >= 1 with a "
                                 "warmup_target",
                                 o.warmup_steps));
  if (o.warmup_target && !rate_ok(*o.warmup_target))
    throw ValueError(fmt::format("CosineDecay: warmup_target={} is out of range; allowed: finite and >= 0", *o.warmup_target));
  return o;
}

}  // namespace

CosineDecay::CosineDecay(CosineDecayOptions options) : options_(validated(options)) {}

double CosineDecay::operator()(int64_t step) const {
  const CosineDecayOptions& o = options_;
  const auto decay_steps = static_cast<double>(o.decay_steps);
  auto decayed = [&](double s, double from) {
    const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * s / decay_steps));
    return from * ((1.0 - o.alpha) * cosine + o.alpha);
  };
  double s = static_cast<double>(std::max<int64_t>(step, 0));
  if (!o.warmup_target) return decayed(std::min(s, decay_steps), o.initial_learning_rate);
  const auto warmup_steps = static_cast<double>(o.warmup_steps);
  s = std::min(s, decay_steps + warmup_steps);
  if (s < warmup_steps) return o.initial_learning_rate + (*o.warmup_target - o.initial_learning_rate) * s / warmup_steps;
  return decayed(s - warmup_steps, *o.warmup_target);
}

nlohmann::json CosineDecay::get_config() const {
  return {{"initial_learning_rate", options_.initial_learning_rate},
          {"decay_steps", options_.decay_steps},
          {"alpha", options_.alpha},
          {"name", "CosineDecay"},
          {"warmup_target", options_.warmup_target ? nlohmann::json(*options_.warmup_target) : nlohmann::json()},
          {"warmup_steps", options_.warmup_steps}};
}

nlohmann::json schedule_to_config(const LearningRateSchedule& schedule) {
  return {{"class_name", schedule.class_name()}, {"config", schedule.get_config()}};
}

LearningRateSchedulePtr schedule_from_config(const nlohmann::json& config, const std::string& where) {
  using Reader = config::ConfigReader;
  static const config::Registry<LearningRateSchedulePtr> registry(
      {.kind = "learning-rate schedule", .example = "{class_name: CosineDecay, initial_learning_rate: 0.001, decay_steps: 1000}"},
      {{"CosineDecay", [](Reader& r) -> LearningRateSchedulePtr {
          CosineDecayOptions o;
          o.initial_learning_rate = r.get_double("initial_learning_rate", o.initial_learning_rate);
          o.decay_steps = r.get_int("decay_steps", 0);
          o.alpha = r.get_double("alpha", o.alpha);
          if (const auto target = r.get_json("warmup_target")) {
            if (!target->is_number())
              throw ValueError(r.where() + ": warmup_target=" + target->dump() + " must be a number or null");
            o.warmup_target = target->get<double>();
          }
          o.warmup_steps = r.get_int("warmup_steps", o.warmup_steps);
          r.ignore({"name"});
          return std::make_shared<CosineDecay>(o);
        }}});
  return registry.make(config, where);
}

}  // namespace regula::optimizers
