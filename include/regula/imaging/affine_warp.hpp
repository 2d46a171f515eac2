#pragma once
/// @file
/// Image geometry on raw float arrays (height, width, channels), shared by ImageDataGenerator and
/// the augmentation layers: Keras's affine transform matrix about the image centre
/// (`apply_affine_transform`, `transform_matrix_offset_center`), a bilinear or nearest warp with
/// scipy.ndimage.affine_transform's output→input mapping and Keras's four fill modes, and the
/// warp's transpose (its gradient with respect to the input image).

#include <cstdint>
#include <optional>
#include <string>

namespace regula::imaging {

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

/// How a warp reads between pixels: "bilinear" (scipy order 1) or "nearest" (the nearer pixel,
/// ties to the larger index).
enum class Interpolation { bilinear, nearest };

/// How `warp_image` samples and lays out its output.
struct WarpOptions {
  FillMode fill_mode = FillMode::nearest;
  float cval = 0.0f;
  Interpolation interpolation = Interpolation::bilinear;
  /// Reverse the output's columns / rows after the warp (folded into the same pass).
  bool flip_horizontal = false;
  bool flip_vertical = false;
};

/// Writes to `destination` the (height, width, channels) image `source` warped by `map` with
/// `options.interpolation`, then flipped as `options` says; a null `map` only copies (and flips).
/// Allocates nothing; `destination` must not overlap `source`. Throws ValueError for an image of
/// 2³¹ values or more.
void warp_image(const float* source, float* destination, int64_t height, int64_t width, int64_t channels,
                const AffineMap* map, const WarpOptions& options);

/// The transpose of `warp_image` with the same map and options, which is the gradient of the
/// warp with respect to its input: `grad_input` (overwritten) receives each output pixel's
/// `grad_output` times the interpolation weight with which that pixel read each input pixel;
/// pixels filled with cval pass nothing back. Allocates nothing; the two must not overlap.
void warp_image_transpose(const float* grad_output, float* grad_input, int64_t height, int64_t width,
                          int64_t channels, const AffineMap* map, const WarpOptions& options);

}  // namespace regula::imaging
