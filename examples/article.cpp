// The "prevent overfitting" article in C++: the seed model trained on augmented batches
// (ImageDataGenerator.flow) with class weights, early stopping, learning-rate reduction on plateau
// and best-model checkpoints, validated on a stratified held-out part, then tested once.
//
//   ./build/examples/article [epochs] [training samples]      (defaults: 50 epochs, all 60,000)

#include <cstdio>
#include <cstdlib>

#include "regula/regula.hpp"

namespace rg = regula;

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 50;
  const int64_t limit = argc > 2 ? std::atoll(argv[2]) : 0;
  try {
    rg::set_random_seed(1);
    auto [train, test] = rg::datasets::fashion_mnist::load_data({.limit = limit});
    // Train / validation / test: 20 % of the training set validates, every class in proportion.
    auto [x_train, x_val, y_train, y_val] = rg::data::train_test_split(train.x, train.y, {.test_size = 0.2, .seed = 1, .stratify = true});

    auto model = rg::models::seed_model();  // Conv-BN-ReLU-Dropout blocks, l2(0.001) activity regularizer
    model->compile({.optimizer = rg::optimizers::Adam(), .loss = "sparse_categorical_crossentropy", .metrics = {"acc"}});
    model->summary();

    rg::callbacks::EarlyStopping early_stopping({.monitor = "val_acc", .patience = 10, .verbose = 0, .mode = "max"});
    rg::callbacks::ReduceLROnPlateau reduce_lr_acc(
        {.monitor = "val_acc", .factor = 0.1, .patience = 7, .verbose = 1, .mode = "max", .min_delta = 1e-4});
    rg::callbacks::ModelCheckpoint mcp_save("model.hdf5", {.monitor = "val_acc", .save_best_only = true, .mode = "max"});

    // The article's augmentation: a random rotation, shift, zoom and flip of every training image.
    rg::preprocessing::ImageDataGenerator datagen({.rotation_range = 10, .width_shift_range = 0.1,
                                                   .height_shift_range = 0.1, .zoom_range = 0.2, .horizontal_flip = true});
    model->fit(datagen.flow(x_train, y_train, {.batch_size = 128}),
               {.epochs = epochs,
                .callbacks = {&early_stopping, &reduce_lr_acc, &mcp_save},
                .validation_data = rg::ValidationData{x_val, y_val},
                .class_weight = rg::utils::compute_class_weight("balanced", y_train)});

    auto best = rg::load_model("model.hdf5");
    const rg::Tensor pred = best->predict(test.x, {.batch_size = 256});
    std::printf("test accuracy of the best model: %.4f\n", rg::metrics::accuracy_score(test.y, pred));
    return 0;
  } catch (const rg::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
