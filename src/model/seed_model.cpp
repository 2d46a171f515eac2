#include "regula/model/seed_model.hpp"

#include "regula/layers/activation.hpp"
#include "regula/layers/batch_normalization.hpp"
#include "regula/layers/conv2d.hpp"
#include "regula/layers/dense.hpp"
#include "regula/layers/dropout.hpp"
#include "regula/layers/flatten.hpp"
#include "regula/layers/input.hpp"
#include "regula/layers/pooling.hpp"

namespace regula::models {
namespace {

layers::SymbolicTensor conv_block(const layers::SymbolicTensor& x, int64_t filters, const SeedModelOptions& options) {
  auto y = layers::Conv2D(filters, {3, 3}, {.padding = "same"})(x);
  y = layers::BatchNormalization({.momentum = options.bn_momentum})(y);
  y = layers::Activation("relu")(y);
  y = layers::Dropout(options.conv_dropout)(y);
  return layers::MaxPooling2D({2, 2})(y);
}

}  // namespace

std::unique_ptr<Model> seed_model(const SeedModelOptions& options) {
  auto input = layers::Input(options.input_shape);
  auto x = conv_block(input, 64, options);
  x = conv_block(x, 128, options);
  x = layers::Flatten()(x);
  x = layers::Dense(256)(x);
  x = layers::BatchNormalization({.momentum = options.bn_momentum})(x);
  x = layers::Activation("relu")(x);
  x = layers::Dropout(options.dense_dropout)(x);
  auto output = layers::Dense(options.classes,
                              {.activation = "softmax",
                               .activity_regularizer = options.activity_l2 > 0 ? regularizers::l2(options.activity_l2) : nullptr})(x);
  return std::make_unique<Model>(input, output, "seed_model");
}

}  // namespace regula::models
