#pragma once
/// @file
/// Sequential (Keras `keras.Sequential`): a linear stack of layers, each fed by the previous one.
///
/// ```cpp
/// Sequential model;
/// model.add(layers::Input({28, 28, 1}));
/// model.add(layers::Conv2D(64, {3, 3}, {.padding = "same"}));
/// model.add(layers::Flatten());
/// model.add(layers::Dense(10, {.activation = "softmax"}));
/// ```
/// The first thing added must be `Input(shape)`; each layer is built as it is added, so a
/// shape mismatch is reported at the `add` that causes it.

#include <memory>
#include <string>
#include <type_traits>

#include "regula/model/model.hpp"

namespace regula {

class Sequential : public Model {
 public:
  explicit Sequential(std::string name = "sequential");

  /// Sets the input (must come first, once).
  Sequential& add(const layers::SymbolicTensor& input);
  /// Appends a layer already in shared ownership.
  Sequential& add(std::shared_ptr<layers::Layer> layer);
  /// Appends a layer given by value: `model.add(layers::Dense(10))`.
  template <class L, class = std::enable_if_t<std::is_base_of_v<layers::Layer, std::remove_cvref_t<L>> &&
                                              !std::is_lvalue_reference_v<L>>>
  Sequential& add(L&& layer) {
    return add(std::move(layer).into_shared());
  }

 private:
  layers::SymbolicTensor input_;
  layers::SymbolicTensor output_;
};

}  // namespace regula
