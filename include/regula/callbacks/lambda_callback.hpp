#pragma once
/// @file
/// LambdaCallback (Keras `keras.callbacks.LambdaCallback`): a callback made of functions.
///
/// Keras rule: each given function is called at its hook with the hook's arguments (epoch or
/// batch, and logs); functions not given are skipped.
///
/// ```cpp
/// callbacks::LambdaCallback print_loss({
///     .on_epoch_end = [](int epoch, callbacks::Logs& logs) { std::printf("%d %g\n", epoch, logs.at("loss")); }});
/// ```

#include <cstdint>
#include <functional>

#include "regula/model/callback.hpp"

namespace regula::callbacks {

/// The hooks in Keras's argument order.
struct LambdaCallbackOptions {
  std::function<void(int epoch, Logs& logs)> on_epoch_begin = nullptr;
  std::function<void(int epoch, Logs& logs)> on_epoch_end = nullptr;
  std::function<void(Logs& logs)> on_train_begin = nullptr;
  std::function<void(Logs& logs)> on_train_end = nullptr;
  std::function<void(int64_t batch, Logs& logs)> on_train_batch_begin = nullptr;
  std::function<void(int64_t batch, Logs& logs)> on_train_batch_end = nullptr;
};

class LambdaCallback final : public Callback {
 public:
  explicit LambdaCallback(LambdaCallbackOptions functions = {}) : functions_(std::move(functions)) {}

  void on_epoch_begin(int epoch, Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_begin(Logs& logs) override;
  void on_train_end(Logs& logs) override;
  void on_train_batch_begin(int64_t batch, Logs& logs) override;
  void on_train_batch_end(int64_t batch, Logs& logs) override;

 private:
  LambdaCallbackOptions functions_;
};

}  // namespace regula::callbacks
