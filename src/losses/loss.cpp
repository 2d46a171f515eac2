#include "regula/losses/loss.hpp"

#include <fmt/format.h>

#include "regula/error.hpp"

namespace regula::losses {

void Loss::gradient_wrt_logits(const Tensor&, const Tensor&, const float*, float, Tensor&) const {
  // Reaching this is a bug in the caller (the trainer must ask fuses_with_softmax() first), not
  // bad user input, but it must still not abort the process.
  throw StateError(fmt::format("{}: gradient_wrt_logits called on a loss that does not fuse with a softmax "
                               "(fuses_with_softmax() is false)",
                               name()));
}

LossPtr get(const std::string& name) {
  // Keras resolves both the function names and the class names (plus the legacy aliases
  // mse / MSE); accepting all of them lets a Keras config or script be used as written.
  if (name == "categorical_crossentropy" || name == "CategoricalCrossentropy") return categorical_crossentropy();
  if (name == "sparse_categorical_crossentropy" || name == "SparseCategoricalCrossentropy")
    return sparse_categorical_crossentropy();
  if (name == "binary_crossentropy" || name == "BinaryCrossentropy") return binary_crossentropy();
  if (name == "mean_squared_error" || name == "MeanSquaredError" || name == "mse" || name == "MSE")
    return mean_squared_error();
  throw ValueError(fmt::format("losses::get: unknown loss '{}'; known losses: categorical_crossentropy, "
                               "sparse_categorical_crossentropy, binary_crossentropy, mean_squared_error "
                               "(alias mse), or their Keras class names",
                               name));
}

}  // namespace regula::losses
