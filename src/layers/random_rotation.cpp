#include "regula/layers/random_rotation.hpp"

#include <cmath>
#include <numbers>

namespace regula::layers {

RandomRotation::RandomRotation(AugmentationFactor factor, AffineAugmentationOptions options)
    : LayerBase(std::move(options), "random_rotation", "RandomRotation"), range_(resolve_factor(factor, -1.0, 1.0, where(), "factor")) {}

imaging::AffineMap RandomRotation::draw_map(const CounterRng& step, uint64_t first_counter, int64_t height,
                                            int64_t width) const {
  const double angle = 2.0 * std::numbers::pi * uniform_in(step, first_counter, range_[0], range_[1]);
  const double cos_a = std::cos(angle);
  const double sin_a = std::sin(angle);
  const double centre_row = (static_cast<double>(height) - 1.0) / 2.0;
  const double centre_col = (static_cast<double>(width) - 1.0) / 2.0;
  // Keras's output→input map in (x, y) = (column, row): input = R(angle)·(output − centre) + centre
  // with R = [[cos, −sin], [sin, cos]].
  imaging::AffineMap map;
  map.col_per_col = static_cast<float>(cos_a);
  map.col_per_row = static_cast<float>(-sin_a);
  map.col_offset = static_cast<float>(centre_col - cos_a * centre_col + sin_a * centre_row);
  map.row_per_col = static_cast<float>(sin_a);
  map.row_per_row = static_cast<float>(cos_a);
  map.row_offset = static_cast<float>(centre_row - sin_a * centre_col - cos_a * centre_row);
  return map;
}

nlohmann::json RandomRotation::get_config() const {
  nlohmann::json config = AffineAugmentation::get_config();
  config["factor"] = {range_[0], range_[1]};
  return config;
}

}  // namespace regula::layers
