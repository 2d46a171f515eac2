// Trains a small classifier with an installed regula: proof that find_package(regula) and
// regula::regula give a working build.

#include <cstdio>

#include "regula/regula.hpp"

namespace rg = regula;

int main() {
  rg::set_random_seed(7);
  rg::Sequential model;
  model.add(rg::layers::Input({2}));
  model.add(rg::layers::Dense(8, {.activation = "tanh"}));
  model.add(rg::layers::Dense(2, {.activation = "softmax"}));
  model.compile({.optimizer = rg::optimizers::Adam({.learning_rate = 0.05}), .loss = "sparse_categorical_crossentropy",
                 .metrics = {"accuracy"}});
  // XOR-like quadrants: class = (x > 0) != (y > 0).
  rg::Rng rng(1);
  rg::Tensor x({256, 2}), y({256});
  for (int64_t i = 0; i < 256; ++i) {
    x[2 * i] = static_cast<float>(rng.uniform(-1, 1));
    x[2 * i + 1] = static_cast<float>(rng.uniform(-1, 1));
    y[i] = static_cast<float>((x[2 * i] > 0) != (x[2 * i + 1] > 0));
  }
  model.fit(x, y, {.batch_size = 16, .epochs = 60, .verbose = 0});
  const double accuracy = model.evaluate(x, y, {.verbose = 0}).at("accuracy");
  std::printf("consumer: accuracy %.3f\n", accuracy);
  return accuracy > 0.9 ? 0 : 1;
}
