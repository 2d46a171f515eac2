#pragma once
/// @file
/// The seed model: the reference network of the "prevent overfitting" recipe (the article's
/// block repeated once), used by the CLI's default experiment, the examples and the benchmarks.
///
/// ```
/// Input(28, 28, 1)
/// Conv2D(64, 3, same)  → BatchNormalization → ReLU → Dropout(0.25) → MaxPooling2D(2)
/// Conv2D(128, 3, same) → BatchNormalization → ReLU → Dropout(0.25) → MaxPooling2D(2)
/// Flatten → Dense(256) → BatchNormalization → ReLU → Dropout(0.5)
/// Dense(10, softmax, activity_regularizer = l2(0.001))
/// ```
/// Keras counts 1,684,746 parameters: 1,683,850 trainable, 896 not (the moving statistics).

#include <memory>

#include "regula/model/model.hpp"

namespace regula::models {

struct SeedModelOptions {
  Shape input_shape = {28, 28, 1};
  int64_t classes = 10;
  /// Dropout rates after the two convolution blocks and after the hidden Dense layer.
  double conv_dropout = 0.25;
  double dense_dropout = 0.5;
  /// The l2 factor of the output's activity regularizer (0 = none).
  double activity_l2 = 0.001;
  /// The momentum of the three BatchNormalization layers' moving statistics (Keras's default).
  double bn_momentum = 0.99;
};

/// Builds the seed model (not compiled).
std::unique_ptr<Model> seed_model(const SeedModelOptions& options = {});

}  // namespace regula::models
