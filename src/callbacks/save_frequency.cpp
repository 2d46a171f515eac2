#include "regula/callbacks/save_frequency.hpp"

#include "regula/error.hpp"

namespace regula::callbacks {

void SaveFrequency::check(const std::string& owner) const {
  if (per_epoch() || (name.empty() && batches >= 1)) return;
  throw ValueError(owner + ": save_freq=" + (name.empty() ? std::to_string(batches) : "'" + name + "'") +
                   " is not allowed; allowed: 'epoch' or a number of training batches >= 1");
}

}  // namespace regula::callbacks
