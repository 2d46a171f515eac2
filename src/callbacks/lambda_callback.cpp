#include "regula/callbacks/lambda_callback.hpp"

namespace regula::callbacks {

// Each hook forwards to its function when one was given (Keras installs only the given ones).
void LambdaCallback::on_epoch_begin(int epoch, Logs& logs) {
  if (functions_.on_epoch_begin) functions_.on_epoch_begin(epoch, logs);
}
void LambdaCallback::on_epoch_end(int epoch, Logs& logs) {
  if (functions_.on_epoch_end) functions_.on_epoch_end(epoch, logs);
}
void LambdaCallback::on_train_begin(Logs& logs) {
  if (functions_.on_train_begin) functions_.on_train_begin(logs);
}
void LambdaCallback::on_train_end(Logs& logs) {
  if (functions_.on_train_end) functions_.on_train_end(logs);
}
void LambdaCallback::on_train_batch_begin(int64_t batch, Logs& logs) {
  if (functions_.on_train_batch_begin) functions_.on_train_batch_begin(batch, logs);
}
void LambdaCallback::on_train_batch_end(int64_t batch, Logs& logs) {
  if (functions_.on_train_batch_end) functions_.on_train_batch_end(batch, logs);
}

}  // namespace regula::callbacks
