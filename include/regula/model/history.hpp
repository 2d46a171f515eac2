#pragma once
/// @file
/// History (Keras `keras.callbacks.History`): the per-epoch logs of a `fit`, returned by it.

#include <string>
#include <vector>

#include "regula/model/callback.hpp"

namespace regula::callbacks {

class History final : public Callback {
 public:
  /// The epochs recorded (0-based, as Keras's `history.epoch`).
  const std::vector<int>& epoch() const { return epoch_; }
  /// The values of `name` per recorded epoch (Keras's `history.history[name]`); throws
  /// ValueError listing the recorded names when absent.
  const std::vector<double>& operator[](const std::string& name) const;
  bool contains(const std::string& name) const;
  /// Recorded names in first-seen order.
  std::vector<std::string> names() const;
  /// Epochs recorded.
  size_t size() const { return epoch_.size(); }

  void on_train_begin(Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  /// Resuming: the epochs recorded so far and their values, in first-seen order.
  SavedState state() const override;
  void set_state(const SavedState& state) override;

 private:
  std::vector<int> epoch_;
  std::vector<std::pair<std::string, std::vector<double>>> series_;
};

}  // namespace regula::callbacks
