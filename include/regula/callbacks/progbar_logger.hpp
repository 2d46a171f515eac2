#pragma once
/// @file
/// ProgbarLogger (Keras `keras.callbacks.ProgbarLogger`): the progress lines of `fit`.
///
/// ```
/// Epoch 3/50
/// 375/375 [==============================] - 12s 31ms/step - loss: 0.3120 - accuracy: 0.8871 - val_loss: 0.2950 - val_accuracy: 0.8937
/// ```
/// verbose 1: a live bar with ETA on a terminal, redrawn in place; when the output is not a
/// terminal (CI logs, pipes), only the final line of each epoch. verbose 2: one line per epoch
/// without the bar (`375/375 - 12s - loss: … - 12s/epoch - 31ms/step`). Values are printed as
/// Keras's Progbar does: `%.4f`, or `%.4e` when |value| ≤ 1e-3.

#include <chrono>
#include <cstdio>
#include <string>

#include "regula/model/callback.hpp"

namespace regula::callbacks {

class ProgbarLogger final : public Callback {
 public:
  /// `steps`: batches per epoch; `out`: where to print (stdout by default).
  ProgbarLogger(int verbose, int epochs, int64_t steps, std::FILE* out = stdout);

  void on_epoch_begin(int epoch, Logs& logs) override;
  void on_train_batch_end(int64_t batch, Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;

  /// Keras's value format: "%.4f", or "%.4e" when |value| <= 1e-3.
  static std::string format_value(double value);
  /// Keras's time-per-step format: "2s/step", "31ms/step" or "250us/step".
  static std::string format_time_per_step(double seconds);

 private:
  std::string bar(int64_t current) const;
  std::string values(const Logs& logs) const;

  int verbose_;
  int epochs_;
  int64_t steps_;
  std::FILE* out_;
  bool live_;
  std::chrono::steady_clock::time_point epoch_start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace regula::callbacks
