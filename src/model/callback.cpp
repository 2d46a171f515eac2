#include "regula/model/callback.hpp"

#include "regula/error.hpp"

namespace regula::callbacks {

Model& Callback::model() const {
  if (model_ == nullptr) throw StateError("Callback: not attached to a model; pass it to fit/evaluate/predict first");
  return *model_;
}

void Callback::set_state(const SavedState& state) {
  if (!state.empty())
    throw ValueError("Callback::set_state: this callback keeps no state, but the saved state has entries; "
                     "were the callbacks given in another order than when the state was saved?");
}

}  // namespace regula::callbacks
