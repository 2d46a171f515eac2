#pragma once
/// @file
/// SaveFrequency: Keras's `save_freq` of ModelCheckpoint and BackupAndRestore — "epoch" (at every
/// epoch end) or a number of training batches (every N batches, counted across epochs).

#include <cstdint>
#include <string>

namespace regula::callbacks {

struct SaveFrequency {
  SaveFrequency(const char* name) : name(name) {}
  SaveFrequency(std::string name) : name(std::move(name)) {}
  SaveFrequency(int batches) : batches(batches) {}
  SaveFrequency(int64_t batches) : batches(batches) {}

  /// "epoch", or empty for a number of batches.
  std::string name;
  int64_t batches = 0;

  bool per_epoch() const { return name == "epoch"; }
  /// Throws ValueError "`owner`: save_freq=… is not allowed; allowed: 'epoch' or a number of
  /// training batches >= 1" for anything else.
  void check(const std::string& owner) const;
};

}  // namespace regula::callbacks
