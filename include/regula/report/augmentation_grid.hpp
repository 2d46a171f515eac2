#pragma once
/// @file
/// The report's picture of an experiment's augmentation: its first training images, each followed
/// by random augmentations of it (preprocessing/augmentation_preview.hpp), written by
/// `experiment::run` as `RUN_DIR/augmentation.png`.

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "regula/tensor/tensor.hpp"

namespace regula::report {

/// Writes the grid of the first `samples` images of `x_train` (N, H, W, C), each followed by 7
/// augmentations drawn with the experiment's `augmentation` section (ImageDataGenerator options),
/// to `path` as PNG. Returns false and writes nothing when the section is absent, null or empty,
/// or the images are not (N >= 1, H, W, C) with 1, 3 or 4 channels; throws as the generator's options (ValueError) and
/// the image writer (IOError).
bool write_augmentation_grid(const std::string& path, const nlohmann::json& augmentation, const Tensor& x_train,
                             int64_t samples = 6);

}  // namespace regula::report
