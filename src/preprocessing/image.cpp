#include "regula/preprocessing/image.hpp"

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <span>

#include "regula/error.hpp"
#include "regula/io/file_bytes.hpp"

namespace regula::preprocessing {
namespace {

namespace fs = std::filesystem;

enum class Interpolation { nearest, bilinear };

constexpr const char* kColorModes = "'rgb', 'grayscale', 'rgba'";
constexpr const char* kInterpolations = "'nearest', 'bilinear'";
constexpr const char* kFileFormats = "'png', 'jpeg' (or 'jpg'), 'bmp'";

std::string lowercase(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

int channels_of_color_mode(const std::string& mode, const std::string& caller) {
  if (mode == "grayscale") return 1;
  if (mode == "rgb") return 3;
  if (mode == "rgba") return 4;
  throw ValueError(caller + ": unknown color_mode '" + mode + "'; allowed: " + kColorModes);
}

Interpolation parse_interpolation(const std::string& name, const std::string& caller) {
  if (name == "nearest") return Interpolation::nearest;
  if (name == "bilinear") return Interpolation::bilinear;
  throw ValueError(caller + ": unknown interpolation '" + name + "'; allowed: " + kInterpolations);
}

void check_size(ImageSize size, const std::string& caller) {
  if (size.height < 1 || size.width < 1)
    throw ValueError(caller + ": the target size (height " + std::to_string(size.height) + ", width " +
                     std::to_string(size.width) + ") must be at least 1 in each dimension");
}

void check_hwc(const Tensor& x, const std::string& caller) {
  if (x.rank() != 3)
    throw ShapeError(caller + ": expected an image array of rank 3 (height, width, channels), got shape " +
                     x.shape().to_string());
}

// The centred window of an image with the aspect ratio of `target` (Keras's crop for
// keep_aspect_ratio and smart_resize).
struct CropBox {
  int64_t top, left, height, width;
};

CropBox aspect_ratio_crop(int64_t height, int64_t width, ImageSize target) {
  const int64_t crop_height = std::min(height, width * target.height / target.width);
  const int64_t crop_width = std::min(width, height * target.width / target.height);
  return {(height - crop_height) / 2, (width - crop_width) / 2, crop_height, crop_width};
}

// The input positions and weights each output position along one axis reads (PIL's
// precompute_coeffs for the triangle filter; one tap of weight 1 for nearest).
struct Taps {
  int64_t out_size = 0;
  int64_t max_taps = 0;
  std::vector<int64_t> first;
  std::vector<int64_t> count;
  std::vector<double> weight;  // out_size × max_taps
};

Taps make_taps(int64_t in_size, double box_start, double box_size, int64_t out_size, Interpolation interpolation,
               bool antialias) {
  Taps t;
  t.out_size = out_size;
  const double scale = box_size / static_cast<double>(out_size);
  if (interpolation == Interpolation::nearest) {
    t.max_taps = 1;
    for (int64_t o = 0; o < out_size; ++o) {
      const auto src = static_cast<int64_t>(std::floor(box_start + (static_cast<double>(o) + 0.5) * scale));
      t.first.push_back(std::clamp<int64_t>(src, 0, in_size - 1));
      t.count.push_back(1);
      t.weight.push_back(1.0);
    }
    return t;
  }
  const double filter_scale = antialias ? std::max(scale, 1.0) : 1.0;
  const double support = filter_scale;
  t.max_taps = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  t.weight.assign(static_cast<size_t>(out_size * t.max_taps), 0.0);
  for (int64_t o = 0; o < out_size; ++o) {
    const double center = box_start + (static_cast<double>(o) + 0.5) * scale;
    // C's truncation towards zero, as PIL computes the window.
    const int64_t lo = std::max<int64_t>(static_cast<int64_t>(center - support + 0.5), 0);
    const int64_t hi = std::min<int64_t>(static_cast<int64_t>(center + support + 0.5), in_size);
    const int64_t n = std::min(hi - lo, t.max_taps);
    double* w = &t.weight[static_cast<size_t>(o * t.max_taps)];
    double total = 0.0;
    for (int64_t k = 0; k < n; ++k) {
      const double d = std::abs((static_cast<double>(k + lo) - center + 0.5) / filter_scale);
      w[k] = d < 1.0 ? 1.0 - d : 0.0;
      total += w[k];
    }
    for (int64_t k = 0; k < n && total != 0.0; ++k) w[k] /= total;
    t.first.push_back(lo);
    t.count.push_back(n);
  }
  return t;
}

// Resamples the middle axis of an (outer, in_len, inner) array to taps.out_size, optionally
// rounding every result to an 8-bit value as PIL does after each pass.
std::vector<float> resample_axis(std::span<const float> src, int64_t outer, int64_t in_len, int64_t inner,
                                 const Taps& taps, bool round_to_byte) {
  std::vector<float> out(static_cast<size_t>(outer * taps.out_size * inner));
  for (int64_t a = 0; a < outer; ++a) {
    for (int64_t o = 0; o < taps.out_size; ++o) {
      const double* w = &taps.weight[static_cast<size_t>(o * taps.max_taps)];
      float* dst = &out[static_cast<size_t>((a * taps.out_size + o) * inner)];
      for (int64_t i = 0; i < inner; ++i) {
        double sum = 0.0;
        for (int64_t k = 0; k < taps.count[o]; ++k)
          sum += w[k] * src[static_cast<size_t>((a * in_len + taps.first[o] + k) * inner + i)];
        dst[i] = round_to_byte ? static_cast<float>(std::clamp(std::floor(sum + 0.5), 0.0, 255.0))
                               : static_cast<float>(sum);
      }
    }
  }
  return out;
}

// Resizes an (height, width, channels) array, reading the window `box` of the input: horizontal
// pass first, then vertical, as PIL does.
std::vector<float> resize_hwc(std::span<const float> src, int64_t height, int64_t width, int64_t channels,
                              const CropBox& box, ImageSize size, Interpolation interpolation, bool pil_style) {
  const Taps horizontal = make_taps(width, static_cast<double>(box.left), static_cast<double>(box.width), size.width,
                                    interpolation, pil_style);
  const Taps vertical = make_taps(height, static_cast<double>(box.top), static_cast<double>(box.height), size.height,
                                  interpolation, pil_style);
  std::vector<float> rows = resample_axis(src, height, width, channels, horizontal, pil_style);
  return resample_axis(rows, 1, height, size.width * channels, vertical, pil_style);
}

// Resizes the window `box` of an 8-bit image to `size` as PIL does.
Image resize_image_window(const Image& image, const CropBox& box, ImageSize size, Interpolation interpolation) {
  const std::vector<float> src(image.pixels.begin(), image.pixels.end());
  const std::vector<float> out =
      resize_hwc(src, image.height, image.width, image.channels, box, size, interpolation, /*pil_style=*/true);
  return Image{size.width, size.height, image.channels, std::vector<uint8_t>(out.begin(), out.end())};
}

struct StbImageFree {
  void operator()(stbi_uc* p) const { stbi_image_free(p); }
};

Image decode_image_file(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw IOError("cannot open image file '" + path + "': no such file");
  if (fs::is_directory(path, ec))
    throw IOError("cannot read image file '" + path + "': it is a directory, not a file");
  int width = 0, height = 0, channels = 0;
  std::unique_ptr<stbi_uc, StbImageFree> data(stbi_load(path.c_str(), &width, &height, &channels, 0));
  if (!data) {
    const char* reason = stbi_failure_reason();
    throw IOError("cannot decode image file '" + path + "': " + (reason ? reason : "unknown error") +
                  " (readable formats: PNG, JPEG, BMP, GIF, TGA, PSD, PNM, HDR)");
  }
  Image image{width, height, channels == 2 ? 4 : channels, {}};
  const size_t pixels = static_cast<size_t>(width) * static_cast<size_t>(height);
  if (channels == 2) {  // grey + alpha is held as RGBA
    image.pixels.resize(pixels * 4);
    for (size_t p = 0; p < pixels; ++p) {
      const stbi_uc grey = data.get()[2 * p], alpha = data.get()[2 * p + 1];
      std::fill_n(&image.pixels[4 * p], 3, grey);
      image.pixels[4 * p + 3] = alpha;
    }
  } else {
    image.pixels.assign(data.get(), data.get() + pixels * static_cast<size_t>(channels));
  }
  return image;
}

uint8_t pil_luma(const uint8_t* rgb) {
  return static_cast<uint8_t>((rgb[0] * 19595u + rgb[1] * 38470u + rgb[2] * 7471u + 0x8000u) >> 16);
}

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  const auto* bytes = static_cast<const uint8_t*>(data);
  out->insert(out->end(), bytes, bytes + size);
}

std::string resolve_file_format(const std::string& path, const std::string& file_format) {
  std::string format = lowercase(file_format);
  if (format.empty()) {
    format = lowercase(fs::path(path).extension().string());
    if (!format.empty()) format.erase(0, 1);
    if (format.empty())
      throw ValueError("save_img('" + path + "'): cannot tell the image format: the file name has no extension and "
                       "file_format is empty; allowed: " + kFileFormats);
  }
  if (format == "jpg") format = "jpeg";
  if (format != "png" && format != "jpeg" && format != "bmp")
    throw ValueError("save_img('" + path + "'): unsupported image format '" + format + "'" +
                     (file_format.empty() ? " (from the file name's extension)" : "") + "; allowed: " + kFileFormats);
  return format;
}

}  // namespace

Image convert_color_mode(const Image& image, const std::string& color_mode) {
  const int channels = channels_of_color_mode(color_mode, "convert_color_mode");
  if (channels == image.channels) return image;
  const size_t pixels = static_cast<size_t>(image.width * image.height);
  Image out{image.width, image.height, channels, std::vector<uint8_t>(pixels * static_cast<size_t>(channels))};
  for (size_t p = 0; p < pixels; ++p) {
    const uint8_t* in = &image.pixels[p * static_cast<size_t>(image.channels)];
    uint8_t* dst = &out.pixels[p * static_cast<size_t>(channels)];
    const uint8_t rgb[3] = {in[0], image.channels == 1 ? in[0] : in[1], image.channels == 1 ? in[0] : in[2]};
    if (channels == 1) {
      dst[0] = image.channels == 1 ? in[0] : pil_luma(rgb);
    } else {
      std::copy_n(rgb, 3, dst);
      if (channels == 4) dst[3] = image.channels == 4 ? in[3] : 255;
    }
  }
  return out;
}

Image resize_img(const Image& image, ImageSize size, const std::string& interpolation) {
  const Interpolation method = parse_interpolation(interpolation, "resize_img");
  check_size(size, "resize_img");
  return resize_image_window(image, CropBox{0, 0, image.height, image.width}, size, method);
}

Image load_img(const std::string& path, const LoadImgOptions& options) {
  const std::string caller = "load_img('" + path + "')";
  channels_of_color_mode(options.color_mode, caller);
  const Interpolation method = parse_interpolation(options.interpolation, caller);
  if (options.target_size) check_size(*options.target_size, caller);
  Image image = convert_color_mode(decode_image_file(path), options.color_mode);
  if (!options.target_size) return image;
  const ImageSize size = *options.target_size;
  if (image.height == size.height && image.width == size.width) return image;
  const CropBox box = options.keep_aspect_ratio ? aspect_ratio_crop(image.height, image.width, size)
                                                : CropBox{0, 0, image.height, image.width};
  return resize_image_window(image, box, size, method);
}

Tensor img_to_array(const Image& image) {
  Tensor x = Tensor::uninitialized(Shape{image.height, image.width, image.channels});
  std::copy(image.pixels.begin(), image.pixels.end(), x.data());
  return x;
}

Image array_to_img(const Tensor& x, const ArrayToImgOptions& options) {
  check_hwc(x, "array_to_img");
  const int64_t channels = x.dim(2);
  if (channels != 1 && channels != 3 && channels != 4)
    throw ShapeError("array_to_img: unsupported channel count " + std::to_string(channels) + " in shape " +
                     x.shape().to_string() + "; allowed: 1 (grayscale), 3 (RGB), 4 (RGBA)");
  std::vector<float> v(x.values().begin(), x.values().end());
  if (options.scale && !v.empty()) {
    const float lowest = *std::min_element(v.begin(), v.end());
    for (float& f : v) f -= lowest;
    const float highest = *std::max_element(v.begin(), v.end());
    for (float& f : v) {
      if (highest != 0.0f) f /= highest;
      f *= 255.0f;
    }
  }
  Image image{x.dim(1), x.dim(0), static_cast<int>(channels), std::vector<uint8_t>(v.size())};
  for (size_t i = 0; i < v.size(); ++i)
    image.pixels[i] = std::isnan(v[i]) ? 0 : static_cast<uint8_t>(std::clamp(v[i], 0.0f, 255.0f));
  return image;
}

void save_img(const std::string& path, const Tensor& x, const SaveImgOptions& options) {
  save_img(path, array_to_img(x, {.scale = options.scale}), options);
}

void save_img(const std::string& path, const Image& image, const SaveImgOptions& options) {
  const std::string format = resolve_file_format(path, options.file_format);
  if (image.channels != 1 && image.channels != 3 && image.channels != 4)
    throw ShapeError("save_img('" + path + "'): the image has " + std::to_string(image.channels) +
                     " channels; allowed: 1, 3, 4");
  if (options.quality < 1 || options.quality > 100)
    throw ValueError("save_img('" + path + "'): quality must be in 1..100, got " + std::to_string(options.quality));
  const Image* source = &image;
  Image rgb;
  if (format == "jpeg" && image.channels == 4) {
    std::fprintf(stderr, "regula: warning: save_img('%s'): JPEG does not support RGBA images, converting to RGB\n",
                 path.c_str());
    rgb = convert_color_mode(image, "rgb");
    source = &rgb;
  }
  const int w = static_cast<int>(source->width), h = static_cast<int>(source->height), c = source->channels;
  std::vector<uint8_t> bytes;
  int ok = 0;
  if (format == "png")
    ok = stbi_write_png_to_func(append_bytes, &bytes, w, h, c, source->pixels.data(), w * c);
  else if (format == "jpeg")
    ok = stbi_write_jpg_to_func(append_bytes, &bytes, w, h, c, source->pixels.data(), options.quality);
  else
    ok = stbi_write_bmp_to_func(append_bytes, &bytes, w, h, c, source->pixels.data());
  if (!ok)
    throw IOError("save_img('" + path + "'): the " + format + " encoder failed for a " + std::to_string(w) + "x" +
                  std::to_string(h) + " image with " + std::to_string(c) + " channels");
  io::write_file_bytes(path, bytes);
}

Tensor resize_array(const Tensor& x, ImageSize size, const std::string& interpolation) {
  check_hwc(x, "resize_array");
  const Interpolation method = parse_interpolation(interpolation, "resize_array");
  check_size(size, "resize_array");
  const CropBox whole{0, 0, x.dim(0), x.dim(1)};
  const std::vector<float> out = resize_hwc(x.values(), x.dim(0), x.dim(1), x.dim(2), whole, size, method, false);
  return Tensor(Shape{size.height, size.width, x.dim(2)}, out);
}

Tensor smart_resize(const Tensor& x, ImageSize size, const std::string& interpolation) {
  check_hwc(x, "smart_resize");
  const Interpolation method = parse_interpolation(interpolation, "smart_resize");
  check_size(size, "smart_resize");
  const CropBox box = aspect_ratio_crop(x.dim(0), x.dim(1), size);
  // Crop first so that the filter never reads outside the window, as tf's crop-then-resize.
  const int64_t width = x.dim(1), channels = x.dim(2);
  std::vector<float> cropped;
  cropped.reserve(static_cast<size_t>(box.height * box.width * channels));
  for (int64_t r = box.top; r < box.top + box.height; ++r) {
    const float* row = x.data() + (r * width + box.left) * channels;
    cropped.insert(cropped.end(), row, row + box.width * channels);
  }
  const CropBox whole{0, 0, box.height, box.width};
  const std::vector<float> out = resize_hwc(cropped, box.height, box.width, channels, whole, size, method, false);
  return Tensor(Shape{size.height, size.width, channels}, out);
}

}  // namespace regula::preprocessing
