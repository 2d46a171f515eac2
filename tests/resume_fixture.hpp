#pragma once
// What the resume tests share: small image data, a model whose every step carries state
// (weights, BatchNormalization's moving statistics, Adam's slots, dropout draws), and a bitwise
// comparison of weights.

#include <cstring>
#include <memory>
#include <vector>

#include "regula/regula.hpp"

namespace regula::testing_support {

struct ImageData {
  Tensor x, y;
};

/// `n` random 8×8 one-channel images in 3 classes (i % 3).
inline ImageData small_images(int64_t n) {
  Rng rng(11);
  ImageData d{Tensor({n, 8, 8, 1}), Tensor({n})};
  for (int64_t i = 0; i < d.x.size(); ++i) d.x[i] = static_cast<float>(rng.uniform());
  for (int64_t i = 0; i < n; ++i) d.y[i] = static_cast<float>(i % 3);
  return d;
}

/// Conv → BatchNormalization → ReLU → Dropout → Dense softmax under Adam (learning rate 0.01),
/// built from `seed` with fresh layer names, as a process that starts again would build it.
inline std::unique_ptr<Model> stateful_model(uint64_t seed) {
  set_random_seed(seed);
  layers::reset_layer_names();
  auto input = layers::Input({8, 8, 1});
  auto x = layers::Conv2D(4, {3, 3}, {.padding = "same"})(input);
  x = layers::BatchNormalization()(x);
  x = layers::Activation("relu")(x);
  x = layers::Dropout(0.3)(x);
  x = layers::Flatten()(x);
  auto out = layers::Dense(3, {.activation = "softmax"})(x);
  auto model = std::make_unique<Model>(input, out);
  model->compile({.optimizer = optimizers::Adam({.learning_rate = 0.01}), .loss = "sparse_categorical_crossentropy",
                  .metrics = {"accuracy"}});
  return model;
}

inline bool same_bits(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t w = 0; w < a.size(); ++w)
    if (a[w].shape() != b[w].shape() ||
        std::memcmp(a[w].data(), b[w].data(), static_cast<size_t>(a[w].size()) * sizeof(float)) != 0)
      return false;
  return true;
}

}  // namespace regula::testing_support
