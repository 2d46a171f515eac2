#pragma once
// One sample through an ImageDataGenerator: the random transform drawn from its seed, then
// standardization, as Keras's iterators do for every sample of a batch.

#include <cstdint>

#include "regula/preprocessing/image_data_generator.hpp"

namespace regula::preprocessing {

/// Writes the augmented, standardized (H, W, C) image `source` to `destination`.
inline void augment_sample(const ImageDataGenerator& generator, const float* source, float* destination,
                           const Shape& image_shape, uint64_t seed) {
  generator.apply_transform(source, destination, image_shape, generator.get_random_transform(image_shape, seed));
  generator.standardize(destination, image_shape);
}

}  // namespace regula::preprocessing
