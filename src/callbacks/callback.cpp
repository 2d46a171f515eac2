#include "regula/callbacks/callback.hpp"

#include "regula/error.hpp"

namespace regula::callbacks {

Model& Callback::model() const {
  if (model_ == nullptr) throw StateError("Callback: not attached to a model; pass it to fit/evaluate/predict first");
  return *model_;
}

}  // namespace regula::callbacks
