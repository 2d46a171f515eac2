#include "regula/layers/random_zoom.hpp"

namespace regula::layers {

RandomZoom::RandomZoom(AugmentationFactor height_factor, std::optional<AugmentationFactor> width_factor,
                       AffineAugmentationOptions options)
    : LayerBase(std::move(options), "random_zoom", "RandomZoom"),
      height_factor_(height_factor),
      width_factor_(width_factor),
      height_range_(resolve_factor_each(height_factor, -1.0, 1.0, where(), "height_factor")) {
  if (width_factor_) width_range_ = resolve_factor_each(*width_factor_, -1.0, 1.0, where(), "width_factor");
}

imaging::AffineMap RandomZoom::draw_map(const CounterRng& step, uint64_t first_counter, int64_t height,
                                        int64_t width) const {
  const double zoom_rows = 1.0 + uniform_in(step, first_counter, height_range_[0], height_range_[1]);
  const double zoom_cols =
      width_range_ ? 1.0 + uniform_in(step, first_counter + 1, (*width_range_)[0], (*width_range_)[1]) : zoom_rows;
  const double centre_row = (static_cast<double>(height) - 1.0) / 2.0;
  const double centre_col = (static_cast<double>(width) - 1.0) / 2.0;
  return imaging::AffineMap{.row_per_row = static_cast<float>(zoom_rows),
                            .row_per_col = 0.0f,
                            .row_offset = static_cast<float>(centre_row * (1.0 - zoom_rows)),
                            .col_per_row = 0.0f,
                            .col_per_col = static_cast<float>(zoom_cols),
                            .col_offset = static_cast<float>(centre_col * (1.0 - zoom_cols))};
}

nlohmann::json RandomZoom::get_config() const {
  nlohmann::json config = AffineAugmentation::get_config();
  config["height_factor"] = height_factor_.to_json();
  config["width_factor"] = width_factor_ ? width_factor_->to_json() : nlohmann::json();
  return config;
}

}  // namespace regula::layers
