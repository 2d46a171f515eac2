#pragma once
/// @file
/// The geometric part of ImageDataGenerator: Keras's affine transform matrix about the image
/// centre (`apply_affine_transform`, `transform_matrix_offset_center`) and a bilinear warp with
/// scipy.ndimage.affine_transform's output→input mapping and Keras's four fill modes.

#include <cstdint>
#include <optional>
#include <string>

namespace regula::preprocessing::detail {

/// Values outside the input image, as Keras's documentation draws them for input abcd:
/// nearest aaaa|abcd|dddd, constant kkkk|abcd|kkkk (k = cval), reflect dcba|abcd|dcba
/// (half-sample symmetric), wrap abcd|abcd|abcd (periodic, period = the image size).
enum class FillMode { nearest, constant, reflect, wrap };

/// The fill mode named `name`, or nullopt for a name that is none of the four.
std::optional<FillMode> parse_fill_mode(const std::string& name);

/// An output→input map in array index coordinates (row, column): the output pixel (r, c) takes
/// the input value at (row_per_row·r + row_per_col·c + row_offset,
/// col_per_row·r + col_per_col·c + col_offset).
struct AffineMap {
  float row_per_row;
  float row_per_col;
  float row_offset;
  float col_per_row;
  float col_per_col;
  float col_offset;
};

/// Keras's composed transform rotation · shift · shear · zoom applied about the true centre of
/// the pixel grid ((height − 1)/2, (width − 1)/2), as an output→input map. Rotation and shear
/// are in degrees; positive theta turns the content counter-clockwise on screen (rows down).
/// tx shifts along the rows (the content moves up by tx), ty along the columns (the content
/// moves left by ty); zx scales the row coordinate and zy the column coordinate (a factor below
/// 1 enlarges the content). Returns nullopt for the identity (no warp needed). Throws
/// ValueError when a parameter is not finite.
std::optional<AffineMap> keras_affine_map(double theta, double tx, double ty, double shear, double zx, double zy,
                                          int64_t height, int64_t width);

/// How `warp_image` samples and lays out its output.
struct WarpOptions {
  FillMode fill_mode = FillMode::nearest;
  float cval = 0.0f;
  /// Reverse the output's columns / rows after the warp (folded into the same pass).
  bool flip_horizontal = false;
  bool flip_vertical = false;
};

/// Writes to `destination` the (height, width, channels) image `source` warped by `map` with
/// bilinear interpolation (scipy order 1), then flipped as `options` says; a null `map` only
/// copies (and flips). Allocates nothing; `destination` must not overlap `source`.
void warp_image(const float* source, float* destination, int64_t height, int64_t width, int64_t channels,
                const AffineMap* map, const WarpOptions& options);

}  // namespace regula::preprocessing::detail
