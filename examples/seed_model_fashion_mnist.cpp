// The seed model on Fashion-MNIST with the Functional API: the C++ form of the article's Keras
// program, as far as this version of regula builds it (see README, "Not built yet").
//
//   ./build/examples/seed_model_fashion_mnist [epochs]

#include <cstdio>
#include <cstdlib>

#include "regula/regula.hpp"

namespace rg = regula;

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 2;
  try {
    rg::set_random_seed(1);
    auto [train, test] = rg::datasets::fashion_mnist::load_data();

    auto input = rg::layers::Input({28, 28, 1});
    auto x = rg::layers::Conv2D(64, {3, 3}, {.padding = "same"})(input);
    x = rg::layers::BatchNormalization()(x);
    x = rg::layers::Activation("relu")(x);
    x = rg::layers::Dropout(0.25)(x);
    x = rg::layers::MaxPooling2D({2, 2})(x);
    x = rg::layers::Conv2D(128, {3, 3}, {.padding = "same"})(x);
    x = rg::layers::BatchNormalization()(x);
    x = rg::layers::Activation("relu")(x);
    x = rg::layers::Dropout(0.25)(x);
    x = rg::layers::MaxPooling2D({2, 2})(x);
    x = rg::layers::Flatten()(x);
    x = rg::layers::Dense(256)(x);
    x = rg::layers::BatchNormalization()(x);
    x = rg::layers::Activation("relu")(x);
    x = rg::layers::Dropout(0.5)(x);
    auto out = rg::layers::Dense(10, {.activation = "softmax", .activity_regularizer = rg::regularizers::l2(0.001)})(x);

    rg::Model model(input, out);
    model.compile({.optimizer = rg::optimizers::Adam(), .loss = "sparse_categorical_crossentropy", .metrics = {"accuracy"}});
    model.summary();

    model.fit(train.x, train.y, {.batch_size = 128, .epochs = epochs, .validation_split = 0.2});
    const rg::Tensor pred = model.predict(test.x, {.batch_size = 256});
    std::printf("test accuracy %.4f\n", rg::metrics::accuracy_score(test.y, pred));
    return 0;
  } catch (const rg::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
