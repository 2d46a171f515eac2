#include "regula/preprocessing/image_directory.hpp"

#include <stb/stb_image.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <map>

#include "regula/error.hpp"
#include "regula/utils/random.hpp"

namespace regula::preprocessing {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kDatasetFormats = {"bmp", "gif", "jpeg", "jpg", "png"};

std::string join_quoted(const std::vector<std::string>& items) {
  std::string s;
  for (const std::string& item : items) s += (s.empty() ? "'" : ", '") + item + "'";
  return s.empty() ? "(none)" : s;
}

void check_choice(const std::string& caller, const std::string& option, const std::string& value,
                  const std::vector<std::string>& allowed) {
  if (std::find(allowed.begin(), allowed.end(), value) == allowed.end())
    throw ValueError(caller + ": unknown " + option + " '" + value + "'; allowed: " + join_quoted(allowed));
}

void warn(const std::string& message) { std::fprintf(stderr, "regula: warning: %s\n", message.c_str()); }

bool has_allowed_extension(const fs::path& file, const std::vector<std::string>& formats) {
  std::string ext = file.extension().string();
  if (ext.size() < 2) return false;
  for (char& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return std::find(formats.begin(), formats.end(), ext.substr(1)) != formats.end();
}

// The image files of one class folder in Keras's order: folders (the class folder and every
// nested one) sorted by path, files sorted by name within each folder.
std::vector<std::string> class_files(const fs::path& class_dir, const ImageDirectoryOptions& options) {
  std::vector<std::string> folders = {class_dir.string()};
  auto walk_options = fs::directory_options::skip_permission_denied;
  if (options.follow_links) walk_options |= fs::directory_options::follow_directory_symlink;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(class_dir, walk_options, ec), end; !ec && it != end; it.increment(ec)) {
    const bool is_link = it->is_symlink(ec);
    if (it->is_directory(ec) && (options.follow_links || !is_link)) folders.push_back(it->path().string());
  }
  if (ec) throw IOError("cannot list the folder '" + class_dir.string() + "': " + ec.message());
  std::sort(folders.begin(), folders.end());

  std::vector<std::string> files;
  for (const std::string& folder : folders) {
    std::vector<std::string> names;
    for (const fs::directory_entry& entry : fs::directory_iterator(folder, ec)) {
      // Like os.walk, anything that is not a folder (a link to one included) counts as a file.
      if (!entry.is_directory(ec) && has_allowed_extension(entry.path(), options.formats))
        names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) files.push_back((fs::path(folder) / name).string());
  }
  return files;
}

// Whether stb can read the header of `path`; the decoder's reason in `reason` when not.
bool readable_image_header(const std::string& path, std::string& reason) {
  int width = 0, height = 0, channels = 0;
  if (stbi_info(path.c_str(), &width, &height, &channels) != 0) return true;
  const char* why = stbi_failure_reason();
  reason = why != nullptr ? why : "unreadable";
  return false;
}

std::string formats_list(const std::vector<std::string>& formats) {
  std::string s;
  for (const std::string& f : formats) s += (s.empty() ? "." : ", .") + f;
  return s;
}

}  // namespace

ImageDirectoryListing list_image_directory(const std::string& directory, const ImageDirectoryOptions& options) {
  const std::string caller = "list_image_directory('" + directory + "')";
  check_choice(caller, "on_error", options.on_error, {"raise", "skip"});
  std::error_code ec;
  if (!fs::exists(directory, ec)) throw IOError(caller + ": the directory '" + directory + "' does not exist");
  if (!fs::is_directory(directory, ec)) throw IOError(caller + ": '" + directory + "' is not a directory");

  ImageDirectoryListing listing;
  std::vector<std::string> folders;
  for (const fs::directory_entry& entry : fs::directory_iterator(directory, ec))
    if (entry.is_directory(ec)) folders.push_back(entry.path().filename().string());
  std::sort(folders.begin(), folders.end());
  if (options.classes.empty()) {
    listing.class_names = folders;
  } else {
    for (const std::string& name : options.classes) {
      if (!fs::is_directory(fs::path(directory) / name, ec))
        throw IOError(caller + ": class '" + name + "' has no folder '" + (fs::path(directory) / name).string() +
                      "'; the sub-folders are: " + join_quoted(folders));
    }
    listing.class_names = options.classes;
  }

  for (size_t label = 0; label < listing.class_names.size(); ++label) {
    const fs::path class_dir = fs::path(directory) / listing.class_names[label];
    size_t kept = 0;
    for (const std::string& file : class_files(class_dir, options)) {
      std::string reason;
      if (!readable_image_header(file, reason)) {
        if (options.on_error == "raise")
          throw IOError(caller + ": cannot read image file '" + file + "': " + reason +
                        " (on_error = \"skip\" leaves unreadable files out)");
        warn(caller + ": skipping image file '" + file + "', which cannot be read: " + reason);
        continue;
      }
      listing.file_paths.push_back(file);
      listing.labels.push_back(static_cast<int64_t>(label));
      ++kept;
    }
    if (kept == 0)
      warn(caller + ": class folder '" + class_dir.string() + "' holds no images (" +
           formats_list(options.formats) + "); the class is kept with label " + std::to_string(label));
  }
  if (listing.file_paths.empty())
    throw IOError(caller + ": no images found in " + std::to_string(listing.class_names.size()) +
                  " class folder(s) " + join_quoted(listing.class_names) + "; allowed extensions: " +
                  formats_list(options.formats) + " (any case)");
  return listing;
}

std::pair<size_t, size_t> subset_range(size_t files_in_class, double validation_split, const std::string& subset) {
  if (!(validation_split >= 0.0 && validation_split < 1.0))
    throw ValueError("subset_range: validation_split must be in [0, 1), got " + std::to_string(validation_split));
  check_choice("subset_range", "subset", subset, {"training", "validation", ""});
  const auto boundary = static_cast<size_t>(validation_split * static_cast<double>(files_in_class));
  if (subset == "validation") return {0, boundary};
  if (subset == "training") return {boundary, files_in_class};
  return {0, files_in_class};
}

ImageDirectoryListing select_subset(const ImageDirectoryListing& listing, double validation_split,
                                    const std::string& subset) {
  ImageDirectoryListing out;
  out.class_names = listing.class_names;
  size_t begin = 0;
  while (begin < listing.file_paths.size()) {
    size_t end = begin;
    while (end < listing.labels.size() && listing.labels[end] == listing.labels[begin]) ++end;
    const auto [first, last] = subset_range(end - begin, validation_split, subset);
    for (size_t i = begin + first; i < begin + last; ++i) {
      out.file_paths.push_back(listing.file_paths[i]);
      out.labels.push_back(listing.labels[i]);
    }
    begin = end;
  }
  return out;
}

namespace {

void check_dataset_options(const ImageDatasetOptions& o, const std::string& caller) {
  check_choice(caller, "labels", o.labels, {"inferred"});
  check_choice(caller, "label_mode", o.label_mode, {"int", "categorical", "binary", "none"});
  check_choice(caller, "color_mode", o.color_mode, {"rgb", "grayscale", "rgba"});
  check_choice(caller, "interpolation", o.interpolation, {"bilinear", "nearest"});
  check_choice(caller, "subset", o.subset, {"training", "validation", ""});
  if (o.image_size.height < 1 || o.image_size.width < 1)
    throw ValueError(caller + ": image_size (" + std::to_string(o.image_size.height) + ", " +
                     std::to_string(o.image_size.width) + ") must be at least 1 in each dimension");
  if (o.validation_split != 0.0 && !(o.validation_split > 0.0 && o.validation_split < 1.0))
    throw ValueError(caller + ": validation_split must be between 0 and 1, got " + std::to_string(o.validation_split));
  if ((o.validation_split != 0.0) != !o.subset.empty())
    throw ValueError(caller + ": subset and validation_split go together: set both (subset \"training\" or "
                     "\"validation\" with 0 < validation_split < 1) or neither; got subset '" + o.subset +
                     "', validation_split " + std::to_string(o.validation_split));
  if (o.validation_split != 0.0 && o.shuffle && !o.seed)
    throw ValueError(caller + ": with validation_split and shuffle, give a seed so that the \"training\" and "
                     "\"validation\" calls shuffle alike and do not overlap");
}

Tensor make_labels(const std::vector<int64_t>& labels, const std::string& label_mode, size_t num_classes) {
  const auto n = static_cast<int64_t>(labels.size());
  if (label_mode == "none") return Tensor();
  if (label_mode == "categorical") {
    Tensor y(Shape{n, static_cast<int64_t>(num_classes)});
    for (int64_t i = 0; i < n; ++i) y[i * static_cast<int64_t>(num_classes) + labels[i]] = 1.0f;
    return y;
  }
  Tensor y(label_mode == "binary" ? Shape{n, 1} : Shape{n});
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(labels[i]);
  return y;
}

}  // namespace

ImageDataset image_dataset_from_directory(const std::string& directory, const ImageDatasetOptions& options) {
  const std::string caller = "image_dataset_from_directory('" + directory + "')";
  check_dataset_options(options, caller);
  ImageDirectoryListing listing = list_image_directory(
      directory, {.classes = options.class_names, .follow_links = options.follow_links,
                  .on_error = options.on_error, .formats = kDatasetFormats});
  if (options.label_mode == "binary" && listing.class_names.size() != 2)
    throw ValueError(caller + ": label_mode \"binary\" needs exactly 2 classes, found " +
                     std::to_string(listing.class_names.size()) + ": " + join_quoted(listing.class_names));
  if (options.verbose)
    std::printf("Found %zu files belonging to %zu classes.\n", listing.file_paths.size(), listing.class_names.size());

  std::vector<size_t> order(listing.file_paths.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (options.shuffle) {
    Rng rng = options.seed ? Rng(*options.seed) : Rng::from_global_seed();
    const std::vector<int64_t> perm = rng.permutation(static_cast<int64_t>(order.size()));
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<size_t>(perm[i]);
  }
  const size_t num_val = static_cast<size_t>(options.validation_split * static_cast<double>(order.size()));
  if (options.subset == "training") {
    order.resize(order.size() - num_val);
    if (options.verbose) std::printf("Using %zu files for training.\n", order.size());
  } else if (options.subset == "validation") {
    order.erase(order.begin(), order.end() - static_cast<std::ptrdiff_t>(num_val));
    if (options.verbose) std::printf("Using %zu files for validation.\n", order.size());
  }

  const preprocessing::ImageSize size = options.image_size;
  const int channels = options.color_mode == "grayscale" ? 1 : options.color_mode == "rgba" ? 4 : 3;
  const int64_t image_values = size.height * size.width * channels;
  ImageDataset dataset;
  dataset.class_names = listing.class_names;
  dataset.x = Tensor::uninitialized(Shape{static_cast<int64_t>(order.size()), size.height, size.width, channels});
  std::vector<int64_t> labels;
  for (size_t index : order) {
    const std::string& path = listing.file_paths[index];
    Tensor image;
    try {
      image = preprocessing::img_to_array(preprocessing::load_img(path, {.color_mode = options.color_mode}));
    } catch (const IOError& e) {
      if (options.on_error == "raise") throw;
      warn(caller + ": skipping an image that cannot be decoded: " + e.what());
      continue;
    }
    if (image.dim(0) != size.height || image.dim(1) != size.width)
      image = options.crop_to_aspect_ratio ? preprocessing::smart_resize(image, size, options.interpolation)
                                           : preprocessing::resize_array(image, size, options.interpolation);
    std::copy(image.data(), image.data() + image_values,
              dataset.x.data() + static_cast<int64_t>(labels.size()) * image_values);
    labels.push_back(listing.labels[index]);
    dataset.file_paths.push_back(path);
  }
  if (labels.size() < order.size()) dataset.x = dataset.x.slice_rows(0, static_cast<int64_t>(labels.size())).clone();
  dataset.y = make_labels(labels, options.label_mode, listing.class_names.size());
  return dataset;
}

}  // namespace regula::preprocessing
