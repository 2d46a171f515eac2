#include "regula/data/batch_source.hpp"

#include "regula/error.hpp"

namespace regula::data {

SavedState BatchSource::state() const {
  throw StateError("BatchSource::state: this batch source cannot save its position, so training on it cannot be resumed "
                   "exactly; regula's arrays and ImageDataGenerator iterators can");
}

void BatchSource::set_state(const SavedState&) {
  throw StateError("BatchSource::set_state: this batch source cannot restore a position, so training on it cannot be "
                   "resumed exactly; regula's arrays and ImageDataGenerator iterators can");
}

}  // namespace regula::data
