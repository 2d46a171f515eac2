#pragma once
/// @file
/// Image files and image arrays: Keras's image utilities (`keras.utils.load_img`,
/// `img_to_array`, `array_to_img`, `save_img`, `smart_resize`), decoding and encoding with stb.
///
/// ```cpp
/// auto img = preprocessing::load_img("cat.jpg", {.target_size = preprocessing::ImageSize{224, 224}});
/// Tensor x = preprocessing::img_to_array(img);        // (224, 224, 3), values 0..255
/// preprocessing::save_img("out.png", x);              // scaled to 0..255 first (Keras's scale=True)
/// ```
///
/// Decoding reads PNG (8 and 16 bit, 16-bit reduced to 8), JPEG (baseline and progressive), BMP,
/// GIF (first frame), TGA, PSD, PNM and HDR; encoding writes PNG, JPEG and BMP.
///
/// Colour modes follow PIL, which Keras uses: "grayscale" is PIL's "L" conversion (ITU-R 601-2
/// luma, L = R·299/1000 + G·587/1000 + B·114/1000, computed in PIL's fixed point
/// (R·19595 + G·38470 + B·7471 + 2¹⁵) >> 16, so values agree with PIL exactly; alpha is dropped);
/// "rgb" replicates a grey channel and drops alpha (no compositing); "rgba" adds an opaque alpha.
///
/// Resizing follows PIL's `Image.resize` for `load_img`: "nearest" takes the source pixel under
/// each output pixel's centre; "bilinear" is PIL's separable triangle filter, widened by the
/// scale factor when shrinking (antialiasing), horizontal pass first, rounding to 8 bits after
/// each pass. `resize_array` / `smart_resize` work on float arrays like `tf.image.resize`
/// (half-pixel centres, no antialiasing, no rounding).
///
/// Errors: a missing file, or a file stb cannot decode, throws `IOError` naming the file and the
/// decoder's reason; an unknown colour mode, interpolation or file format throws `ValueError`
/// listing the allowed values; a tensor of the wrong rank or channel count throws `ShapeError`.
///
/// Differences from Keras: images are always 8 bits per channel (PIL's 16-bit "I;16" and
/// 32-bit "I" grayscale modes are not kept: 16-bit files are reduced to 8 bits, and
/// `array_to_img` clips to 0..255 instead of choosing mode "I"); values outside 0..255 are
/// clipped rather than wrapped modulo 256 as NumPy's `astype("uint8")` does; only "nearest" and
/// "bilinear" interpolation exist; `data_format` is always channels_last.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "regula/tensor/tensor.hpp"

namespace regula::preprocessing {

/// An image size, height first as in Keras's `target_size` / `image_size`.
struct ImageSize {
  int64_t height = 0;
  int64_t width = 0;
  friend bool operator==(const ImageSize&, const ImageSize&) = default;
};

/// An 8-bit image: `channels` (1 grey, 3 RGB or 4 RGBA) interleaved values per pixel, rows top
/// to bottom (the layout of a PIL image's `np.asarray`).
struct Image {
  int64_t width = 0;
  int64_t height = 0;
  int channels = 0;
  /// height · width · channels values, row-major, channels last.
  std::vector<uint8_t> pixels;

  /// The value of channel `c` of the pixel in row `y`, column `x`.
  uint8_t at(int64_t y, int64_t x, int c) const { return pixels[static_cast<size_t>((y * width + x) * channels + c)]; }
};

/// Options of `load_img`, in Keras's order and with Keras's defaults.
struct LoadImgOptions {
  /// "rgb", "grayscale" or "rgba": the channels of the result (3, 1 or 4).
  std::string color_mode = "rgb";
  /// Resize to this (height, width); none keeps the file's size.
  std::optional<ImageSize> target_size = std::nullopt;
  /// "nearest" or "bilinear" (used only with `target_size`).
  std::string interpolation = "nearest";
  /// Crop the centre of the image to the target aspect ratio before resizing (Keras's
  /// `keep_aspect_ratio`), instead of stretching it.
  bool keep_aspect_ratio = false;
};

/// Loads an image file (`keras.utils.load_img`). Throws `IOError` naming the file for a missing
/// or undecodable file, `ValueError` for an unknown option value or a target size < 1.
Image load_img(const std::string& path, const LoadImgOptions& options = {});

/// The image as a float32 (height, width, channels) tensor with values 0..255
/// (`keras.utils.img_to_array`).
Tensor img_to_array(const Image& image);

/// Options of `array_to_img`.
struct ArrayToImgOptions {
  /// Rescale to 0..255 first: x − min(x), divided by max when that max is not 0, times 255.
  bool scale = true;
};

/// Converts a float (height, width, channels) tensor with 1, 3 or 4 channels to an image
/// (`keras.utils.array_to_img`). Values are truncated towards zero like NumPy's
/// `astype("uint8")` after clipping to 0..255. Throws `ShapeError` for another rank or channel
/// count.
Image array_to_img(const Tensor& x, const ArrayToImgOptions& options = {});

/// Options of `save_img`, in Keras's order.
struct SaveImgOptions {
  /// As `ArrayToImgOptions::scale` (ignored when saving an `Image`).
  bool scale = true;
  /// "png", "jpeg"/"jpg" or "bmp"; empty: from the file name's extension (case-insensitive).
  std::string file_format = "";
  /// JPEG quality 1..100 (PIL's default, 75).
  int quality = 75;
};

/// Saves a float (height, width, channels) tensor as an image file (`keras.utils.save_img`):
/// `array_to_img` and then `save_img` of the image. Throws as `array_to_img` and as the
/// `Image` overload.
void save_img(const std::string& path, const Tensor& x, const SaveImgOptions& options = {});

/// Saves an image as PNG, JPEG or BMP. An RGBA image saved as JPEG loses its alpha channel (a
/// warning on stderr, as Keras warns). Throws `ValueError` for an unknown or missing format (the
/// message lists the allowed ones) and `IOError` naming the file when it cannot be written.
void save_img(const std::string& path, const Image& image, const SaveImgOptions& options = {});

/// Converts an image to "grayscale", "rgb" or "rgba" (PIL's `Image.convert("L" / "RGB" /
/// "RGBA")`). Throws `ValueError` listing the allowed modes.
Image convert_color_mode(const Image& image, const std::string& color_mode);

/// Resizes an image as PIL's `Image.resize` does with NEAREST or BILINEAR. Throws `ValueError`
/// for an unknown interpolation or a size < 1.
Image resize_img(const Image& image, ImageSize size, const std::string& interpolation = "nearest");

/// Resizes a float (height, width, channels) array like `tf.image.resize(x, size, method)` with
/// "nearest" or "bilinear" (half-pixel centres, no antialiasing). Throws `ShapeError` for a tensor
/// that is not rank 3, `ValueError` for an unknown interpolation or a size < 1.
Tensor resize_array(const Tensor& x, ImageSize size, const std::string& interpolation = "bilinear");

/// Crops the centre of a float (height, width, channels) array to the aspect ratio of `size` and
/// resizes it to `size` (`keras.preprocessing.image.smart_resize`). Throws as `resize_array`.
Tensor smart_resize(const Tensor& x, ImageSize size, const std::string& interpolation = "bilinear");

}  // namespace regula::preprocessing
