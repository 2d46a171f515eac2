#pragma once
// What the data-parallel tests share (tests/distributed_test.cpp with ranks as threads,
// tests/mpi/mpi_world_check.cpp with MPI processes): ranks as threads of one process, small
// tabular data and a small model.

#include <exception>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "regula/regula.hpp"

namespace regula::testing_support {

/// Runs `body(rank)` on one thread per rank and rethrows the first failure.
inline void on_every_rank(int ranks, const std::function<void(int)>& body) {
  std::vector<std::exception_ptr> errors(static_cast<size_t>(ranks));
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      try {
        body(r);
      } catch (...) {
        errors[static_cast<size_t>(r)] = std::current_exception();
      }
    });
  for (std::thread& t : threads) t.join();
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
}

struct TabularData {
  Tensor x, y;
};

/// `n` rows of 4 normal features, labels i % 3.
inline TabularData tabular_data(int64_t n, uint64_t seed) {
  Rng rng(seed);
  TabularData d{Tensor({n, 4}), Tensor({n})};
  for (int64_t i = 0; i < n * 4; ++i) d.x[i] = static_cast<float>(rng.normal());
  for (int64_t i = 0; i < n; ++i) d.y[i] = static_cast<float>(i % 3);
  return d;
}

/// Dense → (BatchNormalization, synchronized or not) → Dense softmax with weight and activity
/// regularizers, under SGD with momentum; the same initial weights every call.
inline std::unique_ptr<Model> small_model(bool batch_norm, bool synchronized = false) {
  set_random_seed(5);
  layers::reset_layer_names();
  auto input = layers::Input({4});
  auto x = layers::Dense(8, {.activation = "relu", .kernel_regularizer = regularizers::l2(0.01)})(input);
  if (batch_norm) x = layers::BatchNormalization({.synchronized = synchronized})(x);
  auto out = layers::Dense(3, {.activation = "softmax", .activity_regularizer = regularizers::l2(0.001)})(x);
  auto model = std::make_unique<Model>(input, out);
  model->compile({.optimizer = optimizers::SGD({.learning_rate = 0.1, .momentum = 0.9}),
                  .loss = "sparse_categorical_crossentropy", .metrics = {"accuracy"}});
  return model;
}

}  // namespace regula::testing_support
