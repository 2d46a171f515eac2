#include "regula/report/augmentation_grid.hpp"

#include <algorithm>

#include "regula/preprocessing/augmentation_preview.hpp"
#include "regula/preprocessing/image_data_generator_config.hpp"

namespace regula::report {

bool write_augmentation_grid(const std::string& path, const nlohmann::json& augmentation, const Tensor& x_train,
                             int64_t samples) {
  if (augmentation.is_null() || (augmentation.is_object() && augmentation.empty())) return false;
  if (x_train.rank() != 4 || x_train.dim(0) < 1 || samples < 1) return false;
  const int64_t channels = x_train.dim(3);
  if (channels != 1 && channels != 3 && channels != 4) return false;  // not an image an image file can hold
  const preprocessing::ImageDataGenerator generator(
      preprocessing::image_data_generator_options_from_config(augmentation, "experiment: augmentation"));
  // Small images get larger pixels, so a 28×28 tile reads at a glance and a 6×6 one is not a dot.
  const int64_t side = std::max(x_train.dim(1), x_train.dim(2));
  const int64_t scale = std::clamp<int64_t>(84 / std::max<int64_t>(side, 1), 1, 8);
  preprocessing::save_augmentation_preview(path, generator, x_train.slice_rows(0, std::min(samples, x_train.dim(0))),
                                           {.variants = 7, .seed = 0, .scale = scale, .padding = 4});
  return true;
}

}  // namespace regula::report
