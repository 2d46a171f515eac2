#pragma once
/// @file
/// NumpyArrayIterator (Keras `keras.preprocessing.image.NumpyArrayIterator`): batches of augmented,
/// standardized images from arrays, made by `ImageDataGenerator::flow`.
///
/// ```cpp
/// auto batches = datagen.flow(x_train, y_train, {.batch_size = 128, .seed = 7});
/// model.fit(batches, {.epochs = 20, .validation_data = rg::ValidationData{x_val, y_val}});
/// ```
///
/// Keras's rules: x is (N, H, W, C); y and sample_weight have N rows; with `subset`, the first
/// int(N · validation_split) samples are "validation" and the rest "training", and both parts must
/// hold the same label values (shuffle sorted data first). Each batch is (x, y[, sample_weight]).
/// The iterator shares x's storage rather than copying it (Keras copies): do not change x while
/// it is in use.

#include "regula/preprocessing/image_data_generator.hpp"
#include "regula/preprocessing/image_iterator.hpp"

namespace regula::preprocessing {

class NumpyArrayIterator : public ImageIterator {
 public:
  /// See `ImageDataGenerator::flow`. `y` may be empty (batches of x only). The generator is copied.
  NumpyArrayIterator(const Tensor& x, const Tensor& y, const ImageDataGenerator& generator, FlowOptions options);
};

}  // namespace regula::preprocessing
