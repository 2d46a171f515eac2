// Image directories (regula/preprocessing/image_directory.hpp): Keras's listing order with nested
// folders, labels, skip versus raise for a corrupt file, the per-class validation split of
// flow_from_directory, and image_dataset_from_directory's shapes, labels, label modes and split.

#include "regula/preprocessing/image_directory.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "regula/error.hpp"
#include "regula/preprocessing/image.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
namespace pp = regula::preprocessing;
using regula::Shape;
using regula::Tensor;
using regula::preprocessing::image_dataset_from_directory;
using regula::preprocessing::list_image_directory;
using regula::testing_support::expect_error;
using regula::testing_support::TemporaryDirectory;

// root/
//   apple/   a1.png a2.PNG b.jpg notes.txt  sub/c.png  sub/deeper/d.bmp  sub-x/e.png
//   banana/  (empty)
//   cherry/  bad.png (not an image)  good.png  z.jpeg
//   top.png  (not in a class folder: ignored)
// apple's images are 4×6 of colour (10, 20, 30); cherry's are 2×2 of (200, 100, 0).
class ImageDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* folder : {"apple/sub/deeper", "apple/sub-x", "banana", "cherry"})
      fs::create_directories(root_.path() / folder);
    for (const char* file : {"apple/a1.png", "apple/a2.PNG", "apple/b.jpg", "apple/sub/c.png",
                             "apple/sub/deeper/d.bmp", "apple/sub-x/e.png", "top.png"})
      write_image(file, 4, 6, {10, 20, 30});
    for (const char* file : {"cherry/good.png", "cherry/z.jpeg"}) write_image(file, 2, 2, {200, 100, 0});
    std::ofstream(root_.path() / "apple/notes.txt") << "not an image";
    std::ofstream(root_.path() / "cherry/bad.png") << "random bytes that are not a PNG at all";
  }

  void write_image(const std::string& name, int64_t height, int64_t width, std::vector<float> rgb) const {
    Tensor x(Shape{height, width, 3});
    for (int64_t i = 0; i < x.size(); ++i) x[i] = rgb[static_cast<size_t>(i % 3)];
    pp::save_img(root_.file(name), x, {.scale = false, .quality = 100});
  }
  std::string path(const std::string& name) const { return root_.file(name); }
  std::string root() const { return root_.path().string(); }

  TemporaryDirectory root_;
};

TEST_F(ImageDirectoryTest, ListsInKerasOrderAndSkipsCorruptFilesWithWarnings) {
  testing::internal::CaptureStderr();
  const auto listing = list_image_directory(root(), {.on_error = "skip"});
  const std::string warnings = testing::internal::GetCapturedStderr();
  EXPECT_EQ(listing.class_names, (std::vector<std::string>{"apple", "banana", "cherry"}));
  // Folders in sorted order of their paths ("apple/sub-x" < "apple/sub/deeper" as Python sorts
  // os.walk's roots), files sorted by name in each.
  EXPECT_EQ(listing.file_paths,
            (std::vector<std::string>{path("apple/a1.png"), path("apple/a2.PNG"), path("apple/b.jpg"),
                                      path("apple/sub/c.png"), path("apple/sub-x/e.png"),
                                      path("apple/sub/deeper/d.bmp"), path("cherry/good.png"),
                                      path("cherry/z.jpeg")}));
  EXPECT_EQ(listing.labels, (std::vector<int64_t>{0, 0, 0, 0, 0, 0, 2, 2}));
  EXPECT_NE(warnings.find(path("cherry/bad.png")), std::string::npos) << warnings;
  EXPECT_NE(warnings.find(path("banana")), std::string::npos) << warnings;
}

TEST_F(ImageDirectoryTest, RaisesForACorruptFileNamingIt) {
  testing::internal::CaptureStderr();
  expect_error<regula::IOError>([&] { list_image_directory(root()); }, {path("cherry/bad.png"), "on_error"});
  testing::internal::GetCapturedStderr();
}

TEST_F(ImageDirectoryTest, NamedClassesSetTheOrderAndMustExist) {
  testing::internal::CaptureStderr();
  const auto listing = list_image_directory(root(), {.classes = {"cherry", "apple"}, .on_error = "skip"});
  testing::internal::GetCapturedStderr();
  EXPECT_EQ(listing.class_names, (std::vector<std::string>{"cherry", "apple"}));
  EXPECT_EQ(listing.labels, (std::vector<int64_t>{0, 0, 1, 1, 1, 1, 1, 1}));
  expect_error<regula::IOError>([&] { list_image_directory(root(), {.classes = {"apple", "durian"}}); },
                                {"'durian'", "'apple', 'banana', 'cherry'"});
}

TEST_F(ImageDirectoryTest, BadDirectoriesAndOptions) {
  expect_error<regula::IOError>([&] { list_image_directory(path("nowhere")); }, {path("nowhere"), "does not exist"});
  expect_error<regula::IOError>([&] { list_image_directory(path("top.png")); }, {path("top.png"), "not a directory"});
  testing::internal::CaptureStderr();
  expect_error<regula::IOError>([&] { list_image_directory(root(), {.classes = {"banana"}}); },
                                {"no images found", "'banana'", ".png, .jpg, .jpeg, .bmp"});
  testing::internal::GetCapturedStderr();
  expect_error<regula::ValueError>([&] { list_image_directory(root(), {.on_error = "ignore"}); },
                                   {"'ignore'", "'raise', 'skip'"});
}

TEST_F(ImageDirectoryTest, SubsetRangeIsKerasPerClassSplit) {
  using regula::preprocessing::subset_range;
  EXPECT_EQ(subset_range(10, 0.2, "validation"), (std::pair<size_t, size_t>{0, 2}));
  EXPECT_EQ(subset_range(10, 0.2, "training"), (std::pair<size_t, size_t>{2, 10}));
  EXPECT_EQ(subset_range(10, 0.2, ""), (std::pair<size_t, size_t>{0, 10}));
  EXPECT_EQ(subset_range(7, 0.3, "validation"), (std::pair<size_t, size_t>{0, 2}));  // int(2.1)
  EXPECT_EQ(subset_range(7, 0.3, "training"), (std::pair<size_t, size_t>{2, 7}));
  expect_error<regula::ValueError>([] { subset_range(10, 1.0, "training"); }, {"validation_split"});
  expect_error<regula::ValueError>([] { subset_range(10, 0.2, "test"); }, {"'test'", "'training', 'validation'"});

  testing::internal::CaptureStderr();
  const auto listing = list_image_directory(root(), {.on_error = "skip"});
  testing::internal::GetCapturedStderr();
  const auto validation = regula::preprocessing::select_subset(listing, 0.5, "validation");
  EXPECT_EQ(validation.file_paths, (std::vector<std::string>{path("apple/a1.png"), path("apple/a2.PNG"),
                                                             path("apple/b.jpg"), path("cherry/good.png")}));
  EXPECT_EQ(validation.labels, (std::vector<int64_t>{0, 0, 0, 2}));
  EXPECT_EQ(regula::preprocessing::select_subset(listing, 0.5, "training").file_paths.size(), 4u);
}

TEST_F(ImageDirectoryTest, DatasetShapesLabelsAndPixels) {
  fs::remove(path("cherry/bad.png"));
  testing::internal::CaptureStderr();
  const auto ds = image_dataset_from_directory(root(), {.image_size = {5, 3}, .shuffle = false, .verbose = false});
  EXPECT_EQ(ds.x.shape(), (Shape{8, 5, 3, 3}));
  EXPECT_EQ(ds.y.shape(), (Shape{8}));
  EXPECT_EQ(ds.class_names, (std::vector<std::string>{"apple", "banana", "cherry"}));
  ASSERT_EQ(ds.file_paths.size(), 8u);
  for (int64_t i = 0; i < 8; ++i) {
    const bool apple = ds.y[i] == 0.0f;
    EXPECT_EQ(ds.y[i], i < 6 ? 0.0f : 2.0f);
    // Resizing a flat colour keeps it (JPEG within a few levels).
    EXPECT_NEAR(ds.x[i * 45 + 44], apple ? 30.0f : 0.0f, 4.0f) << ds.file_paths[static_cast<size_t>(i)];
    EXPECT_NEAR(ds.x[i * 45], apple ? 10.0f : 200.0f, 4.0f) << ds.file_paths[static_cast<size_t>(i)];
  }

  const auto categorical = image_dataset_from_directory(
      root(), {.label_mode = "categorical", .color_mode = "grayscale", .image_size = {4, 4}, .shuffle = false,
               .verbose = false});
  EXPECT_EQ(categorical.x.shape(), (Shape{8, 4, 4, 1}));
  ASSERT_EQ(categorical.y.shape(), (Shape{8, 3}));
  EXPECT_EQ(categorical.y[0], 1.0f);
  EXPECT_EQ(categorical.y[7 * 3 + 2], 1.0f);
  EXPECT_EQ(categorical.y[7 * 3 + 0], 0.0f);

  const auto binary = image_dataset_from_directory(
      root(), {.label_mode = "binary", .class_names = {"cherry", "apple"}, .image_size = {2, 2}, .shuffle = false,
               .verbose = false});
  ASSERT_EQ(binary.y.shape(), (Shape{8, 1}));
  EXPECT_EQ(binary.y[0], 0.0f);
  EXPECT_EQ(binary.y[7], 1.0f);

  const auto unlabeled = image_dataset_from_directory(
      root(), {.label_mode = "none", .color_mode = "rgba", .image_size = {2, 2}, .verbose = false});
  EXPECT_TRUE(unlabeled.y.empty());
  EXPECT_EQ(unlabeled.x.shape(), (Shape{8, 2, 2, 4}));
  testing::internal::GetCapturedStderr();
}

TEST_F(ImageDirectoryTest, DatasetValidationSplitIsTheTailOfOneSeededShuffle) {
  testing::internal::CaptureStderr();
  const regula::preprocessing::ImageDatasetOptions base{.image_size = {2, 2}, .seed = 7, .validation_split = 0.25,
                                               .on_error = "skip", .verbose = false};
  auto training_options = base, validation_options = base, all_options = base;
  training_options.subset = "training";
  validation_options.subset = "validation";
  const auto training = image_dataset_from_directory(root(), training_options);
  const auto validation = image_dataset_from_directory(root(), validation_options);
  all_options.validation_split = 0.0;
  const auto all = image_dataset_from_directory(root(), all_options);
  testing::internal::GetCapturedStderr();
  EXPECT_EQ(training.x.dim(0), 6);    // 8 − int(0.25 · 8)
  EXPECT_EQ(validation.x.dim(0), 2);
  std::vector<std::string> joined = training.file_paths;
  joined.insert(joined.end(), validation.file_paths.begin(), validation.file_paths.end());
  EXPECT_EQ(joined, all.file_paths);  // same seed: the same shuffle, split at 6
  EXPECT_EQ(std::set<std::string>(joined.begin(), joined.end()).size(), 8u);
  EXPECT_NE(all.file_paths.front(), path("apple/a1.png"));  // shuffled (fixed seed)
}

TEST_F(ImageDirectoryTest, DatasetRefusesInconsistentOptions) {
  expect_error<regula::ValueError>(
      [&] { image_dataset_from_directory(root(), {.subset = "training", .verbose = false}); },
      {"subset and validation_split go together"});
  expect_error<regula::ValueError>(
      [&] {
        image_dataset_from_directory(root(), {.validation_split = 0.2, .subset = "training", .verbose = false});
      },
      {"seed"});
  expect_error<regula::ValueError>([&] { image_dataset_from_directory(root(), {.label_mode = "sparse"}); },
                                   {"'sparse'", "'int', 'categorical', 'binary', 'none'"});
  expect_error<regula::ValueError>([&] { image_dataset_from_directory(root(), {.interpolation = "bicubic"}); },
                                   {"'bicubic'", "'bilinear', 'nearest'"});
  testing::internal::CaptureStderr();
  expect_error<regula::ValueError>(
      [&] { image_dataset_from_directory(root(), {.label_mode = "binary", .on_error = "skip", .verbose = false}); },
      {"exactly 2 classes", "'apple', 'banana', 'cherry'"});
  testing::internal::GetCapturedStderr();
}

}  // namespace
