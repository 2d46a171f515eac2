#pragma once
/// @file
/// SavedState: what a stateful component (a callback, a batch source) hands to a TrainingState
/// so that training can later go on exactly where it was.
///
/// Five kinds of named entries, so that every value round-trips bit for bit through a file:
/// - `numbers`: counters and best values (double; integers are exact up to 2⁵³; ±inf and NaN
///   are kept);
/// - `number_arrays`: series of doubles (e.g. History's per-epoch values);
/// - `integers`: integer arrays (generator words, sample orders);
/// - `texts`: strings (e.g. the last checkpoint written);
/// - `tensors`: float32 arrays (e.g. EarlyStopping's best weights).
///
/// A component writes what it needs in `state()` and reads it back in `set_state()`; the
/// accessors below throw ValueError naming the component and the missing entry, so a state saved
/// by another component (or an older format) is refused with a message, not misread.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "regula/tensor/tensor.hpp"

namespace regula {

struct SavedState {
  std::map<std::string, double> numbers;
  std::map<std::string, std::vector<double>> number_arrays;
  std::map<std::string, std::vector<int64_t>> integers;
  std::map<std::string, std::string> texts;
  std::map<std::string, Tensor> tensors;

  bool empty() const {
    return numbers.empty() && number_arrays.empty() && integers.empty() && texts.empty() && tensors.empty();
  }

  /// The entry `key`; throws ValueError "`owner`: the saved state has no number 'key'" when absent.
  double number(const std::string& owner, const std::string& key) const;
  const std::vector<double>& number_array(const std::string& owner, const std::string& key) const;
  const std::vector<int64_t>& integer_array(const std::string& owner, const std::string& key) const;
  const std::string& text(const std::string& owner, const std::string& key) const;
  const Tensor& tensor(const std::string& owner, const std::string& key) const;
};

}  // namespace regula
