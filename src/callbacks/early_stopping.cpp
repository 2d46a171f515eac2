#include "regula/callbacks/early_stopping.hpp"

#include <cmath>
#include <cstdio>

#include "regula/error.hpp"
#include "regula/model/model.hpp"

namespace regula::callbacks {

namespace {

EarlyStoppingOptions validated(EarlyStoppingOptions o) {
  if (o.patience < 0)
    throw ValueError("EarlyStopping: patience=" + std::to_string(o.patience) + " is not allowed; allowed: >= 0");
  if (o.start_from_epoch < 0)
    throw ValueError("EarlyStopping: start_from_epoch=" + std::to_string(o.start_from_epoch) +
                     " is not allowed; allowed: >= 0");
  if (!std::isfinite(o.min_delta))
    throw ValueError("EarlyStopping: min_delta=" + python_float(o.min_delta) + " is not allowed; allowed: finite");
  if (o.baseline && !std::isfinite(*o.baseline))
    throw ValueError("EarlyStopping: baseline=" + python_float(*o.baseline) +
                     " is not allowed; allowed: finite or not given");
  return o;
}

}  // namespace

EarlyStopping::EarlyStopping(EarlyStoppingOptions options)
    : options_(validated(std::move(options))),
      monitor_("EarlyStopping", "Early stopping", options_.monitor, options_.mode),
      best_(monitor_.worst()) {}

void EarlyStopping::on_train_begin(Logs&) {
  // Keras resets these so an instance can be reused; `best` is reset too so a second fit does
  // not have to beat the first fit's best (Keras 3 keeps it, which the reuse comment contradicts).
  wait_ = 0;
  stopped_epoch_ = 0;
  best_epoch_ = 0;
  best_ = monitor_.worst();
  best_weights_.clear();
  has_best_weights_ = false;
}

void EarlyStopping::on_epoch_end(int epoch, Logs& logs) {
  // Keras reads (and warns about) the value before checking the warm-up.
  const std::optional<double> current = monitor_.value(logs);
  if (!current || epoch < options_.start_from_epoch) return;
  if (options_.restore_best_weights && !has_best_weights_) {
    // Before any improvement the first monitored epoch is the best there is.
    best_weights_ = model().get_weights();
    has_best_weights_ = true;
    best_epoch_ = epoch;
  }
  ++wait_;
  if (monitor_.is_improvement(*current, best_, options_.min_delta)) {
    best_ = *current;
    best_epoch_ = epoch;
    if (options_.restore_best_weights) best_weights_ = model().get_weights();
    // Keras 3: the patience restarts only when the value also beats the baseline.
    if (!options_.baseline || monitor_.is_improvement(*current, *options_.baseline, options_.min_delta)) wait_ = 0;
    return;
  }
  // `epoch > 0`: Keras never stops on the first epoch of a run.
  if (wait_ >= options_.patience && epoch > 0) {
    stopped_epoch_ = epoch;
    model().stop_training = true;
  }
}

SavedState EarlyStopping::state() const {
  SavedState s;
  s.numbers = {{"wait", wait_}, {"stopped_epoch", stopped_epoch_}, {"best_epoch", best_epoch_}, {"best", best_},
               {"warned", monitor_.warned() ? 1.0 : 0.0}, {"best_weights", has_best_weights_ ? static_cast<double>(best_weights_.size()) : -1.0}};
  for (size_t i = 0; i < best_weights_.size(); ++i) s.tensors["best_weights/" + std::to_string(i)] = best_weights_[i].clone();
  return s;
}

void EarlyStopping::set_state(const SavedState& s) {
  const char* owner = "EarlyStopping::set_state";
  const double kept = s.number(owner, "best_weights");
  std::vector<Tensor> weights;
  for (int64_t i = 0; i < static_cast<int64_t>(kept); ++i) weights.push_back(s.tensor(owner, "best_weights/" + std::to_string(i)).clone());
  const int wait = static_cast<int>(s.number(owner, "wait"));
  const int stopped = static_cast<int>(s.number(owner, "stopped_epoch"));
  const int best_epoch = static_cast<int>(s.number(owner, "best_epoch"));
  const double best = s.number(owner, "best");
  const bool warned = s.number(owner, "warned") != 0.0;
  wait_ = wait;
  stopped_epoch_ = stopped;
  best_epoch_ = best_epoch;
  best_ = best;
  monitor_.set_warned(warned);
  has_best_weights_ = kept >= 0.0;
  best_weights_ = std::move(weights);
}

void EarlyStopping::on_train_end(Logs&) {
  if (stopped_epoch_ > 0 && options_.verbose > 0) std::printf("Epoch %d: early stopping\n", stopped_epoch_ + 1);
  // Keras 3 restores at train end whenever best weights were kept, stopped early or not.
  if (options_.restore_best_weights && has_best_weights_) {
    if (options_.verbose > 0)
      std::printf("Restoring model weights from the end of the best epoch: %d.\n", best_epoch_ + 1);
    model().set_weights(best_weights_);
  }
  std::fflush(stdout);
}

}  // namespace regula::callbacks
