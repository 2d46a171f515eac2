#include "regula/layers/random_translation.hpp"

namespace regula::layers {

RandomTranslation::RandomTranslation(AugmentationFactor height_factor, AugmentationFactor width_factor,
                                     AffineAugmentationOptions options)
    : LayerBase(std::move(options), "random_translation", "RandomTranslation"),
      height_factor_(height_factor),
      width_factor_(width_factor),
      height_range_(resolve_factor_each(height_factor, -1.0, 1.0, where(), "height_factor")),
      width_range_(resolve_factor_each(width_factor, -1.0, 1.0, where(), "width_factor")) {}

imaging::AffineMap RandomTranslation::draw_map(const CounterRng& step, uint64_t first_counter, int64_t height,
                                               int64_t width) const {
  const double shift_down = uniform_in(step, first_counter, height_range_[0], height_range_[1]) * height;
  const double shift_right = uniform_in(step, first_counter + 1, width_range_[0], width_range_[1]) * width;
  // The output pixel (r, c) shows the input at (r − shift_down, c − shift_right).
  return imaging::AffineMap{.row_per_row = 1.0f,
                            .row_per_col = 0.0f,
                            .row_offset = static_cast<float>(-shift_down),
                            .col_per_row = 0.0f,
                            .col_per_col = 1.0f,
                            .col_offset = static_cast<float>(-shift_right)};
}

nlohmann::json RandomTranslation::get_config() const {
  nlohmann::json config = AffineAugmentation::get_config();
  config["height_factor"] = height_factor_.to_json();
  config["width_factor"] = width_factor_.to_json();
  return config;
}

}  // namespace regula::layers
