#include "regula/callbacks/reduce_lr_on_plateau.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "regula/error.hpp"
#include "regula/model/model.hpp"

namespace regula::callbacks {

namespace {

ReduceLROnPlateauOptions validated(ReduceLROnPlateauOptions o) {
  const std::string who = "ReduceLROnPlateau: ";
  if (!(o.factor < 1.0))
    throw ValueError(who + "factor=" + python_float(o.factor) +
                     " is not allowed (ReduceLROnPlateau does not support a "
                     "factor >= 1.0); allowed: 0 <= factor < 1");
  if (!(o.factor >= 0.0))
    throw ValueError(who + "factor=" + python_float(o.factor) + " is not allowed; allowed: 0 <= factor < 1");
  if (o.patience < 0)
    throw ValueError(who + "patience=" + std::to_string(o.patience) + " is not allowed; allowed: >= 0");
  if (o.cooldown < 0)
    throw ValueError(who + "cooldown=" + std::to_string(o.cooldown) + " is not allowed; allowed: >= 0");
  if (!std::isfinite(o.min_lr) || o.min_lr < 0.0)
    throw ValueError(who + "min_lr=" + python_float(o.min_lr) + " is not allowed; allowed: finite and >= 0");
  if (!std::isfinite(o.min_delta))
    throw ValueError(who + "min_delta=" + python_float(o.min_delta) + " is not allowed; allowed: finite");
  return o;
}

}  // namespace

ReduceLROnPlateau::ReduceLROnPlateau(ReduceLROnPlateauOptions options)
    : options_(validated(std::move(options))),
      monitor_("ReduceLROnPlateau", "Learning rate reduction is", options_.monitor, options_.mode),
      best_(monitor_.worst()) {}

void ReduceLROnPlateau::on_train_begin(Logs&) {
  // Keras fails at the first reduction; failing before the first epoch loses no training.
  if (has_model() && model().compiled() && model().optimizer().learning_rate_schedule())
    throw ValueError("ReduceLROnPlateau: the optimizer's learning rate follows a " +
                     model().optimizer().learning_rate_schedule()->class_name() +
                     " schedule and cannot be reduced; give the optimizer a number as learning_rate, or drop "
                     "ReduceLROnPlateau");
  // Keras's _reset(): each fit starts with fresh counters and no best.
  best_ = monitor_.worst();
  cooldown_counter_ = 0;
  wait_ = 0;
}

SavedState ReduceLROnPlateau::state() const {
  SavedState s;
  s.numbers = {{"wait", wait_}, {"cooldown_counter", cooldown_counter_}, {"best", best_}, {"warned", monitor_.warned() ? 1.0 : 0.0}};
  return s;
}

void ReduceLROnPlateau::set_state(const SavedState& s) {
  const char* owner = "ReduceLROnPlateau::set_state";
  const int wait = static_cast<int>(s.number(owner, "wait"));
  const int cooldown = static_cast<int>(s.number(owner, "cooldown_counter"));
  const double best = s.number(owner, "best");
  const bool warned = s.number(owner, "warned") != 0.0;
  wait_ = wait;
  cooldown_counter_ = cooldown;
  best_ = best;
  monitor_.set_warned(warned);
}

void ReduceLROnPlateau::on_epoch_end(int epoch, Logs& logs) {
  optimizers::Optimizer& optimizer = model().optimizer();
  // Written before any reduction, so History shows the rate the epoch was trained with.
  logs.set("learning_rate", optimizer.learning_rate());
  const std::optional<double> current = monitor_.value(logs);
  if (!current) return;
  if (in_cooldown()) {
    --cooldown_counter_;
    wait_ = 0;
  }
  // Keras 3's MonitorCallback rule: an improvement by more than |min_delta|.
  const bool improved = monitor_.is_improvement(*current, best_, options_.min_delta);
  if (improved) {
    best_ = *current;
    wait_ = 0;
  } else if (!in_cooldown()) {
    ++wait_;
    if (wait_ >= options_.patience) {
      // Keras reads the rate from the optimizer's float32 variable and compares it with
      // float32(min_lr); the new rate (and the message) come from that float32 value.
      const double old_lr = static_cast<double>(static_cast<float>(optimizer.learning_rate()));
      if (old_lr > static_cast<double>(static_cast<float>(options_.min_lr))) {
        const double new_lr = std::max(old_lr * options_.factor, options_.min_lr);
        optimizer.set_learning_rate(new_lr);
        if (options_.verbose > 0) {
          std::printf("Epoch %d: ReduceLROnPlateau reducing learning rate to %s.\n", epoch + 1,
                      python_float(new_lr).c_str());
          std::fflush(stdout);
        }
        cooldown_counter_ = options_.cooldown;
        wait_ = 0;
      }
    }
  }
}

}  // namespace regula::callbacks
