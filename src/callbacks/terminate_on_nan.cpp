#include "regula/callbacks/terminate_on_nan.hpp"

#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "regula/model/model.hpp"

namespace regula::callbacks {

void TerminateOnNaN::on_train_batch_end(int64_t batch, Logs& logs) {
  const std::optional<double> loss = logs.get("loss");
  // Keras tests isnan and isinf: an overflowed loss is as unusable as a NaN one.
  if (loss && (std::isnan(*loss) || std::isinf(*loss))) {
    std::printf("Batch %" PRId64 ": Invalid loss, terminating training\n", batch);
    std::fflush(stdout);
    model().stop_training = true;
    terminated_ = true;
  }
}

SavedState TerminateOnNaN::state() const {
  SavedState s;
  s.numbers = {{"terminated", terminated_ ? 1.0 : 0.0}};
  return s;
}

void TerminateOnNaN::set_state(const SavedState& s) { terminated_ = s.number("TerminateOnNaN::set_state", "terminated") != 0.0; }

}  // namespace regula::callbacks
