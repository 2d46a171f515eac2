// ImageDataGenerator::flow_from_directory: Keras's DirectoryIterator rules (classes from sorted
// sub-folders, class_mode, per-class validation split, resizing) and training on it end to end.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "regula/preprocessing/directory_iterator.hpp"
#include "regula/preprocessing/image.hpp"
#include "regula/regula.hpp"

namespace rg = regula;
namespace pp = regula::preprocessing;
namespace fs = std::filesystem;

namespace {

class FlowFromDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("regula_flow_dir_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                                        "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    // Two classes: "dark" images (value 20 + i) and "light" images (value 200 + i), 5 of each, 8x6 RGB.
    for (const auto& [name, base] : {std::pair{"light", 200}, std::pair{"dark", 20}}) {
      fs::create_directories(dir_ / name);
      for (int i = 0; i < 5; ++i) {
        rg::Tensor image({8, 6, 3}, static_cast<float>(base + i));
        pp::save_img((dir_ / name / ("img" + std::to_string(i) + ".png")).string(), image, {.scale = false});
      }
    }
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

}  // namespace

TEST_F(FlowFromDirectoryTest, ClassesAreTheSortedSubFoldersAndYFollowsClassMode) {
  // Keras: classes = sorted sub-folder names; label i = class i; "categorical" y is one-hot,
  // "sparse"/"binary" the index, "input" a copy of x.
  const pp::ImageDataGenerator generator;
  auto it = generator.flow_from_directory(dir_.string(), {.target_size = {8, 6}, .batch_size = 10, .shuffle = false});
  EXPECT_EQ(it.class_names(), (std::vector<std::string>{"dark", "light"}));
  EXPECT_EQ(it.samples(), 10);
  EXPECT_EQ(it.sample_shape(), (rg::Shape{8, 6, 3}));
  const rg::data::Batch b = it.batch_at(0);
  ASSERT_EQ(b.y.shape(), (rg::Shape{10, 2}));
  for (int64_t k = 0; k < 10; ++k) {
    const bool light = k >= 5;  // unshuffled: class 0 (dark) first
    EXPECT_EQ(b.y[k * 2 + (light ? 1 : 0)], 1.0f);
    EXPECT_EQ(b.y[k * 2 + (light ? 0 : 1)], 0.0f);
    EXPECT_EQ(b.x[k * 8 * 6 * 3], static_cast<float>((light ? 200 : 20) + k % 5)) << k;  // pixels 0..255, unscaled
  }
  auto sparse = generator.flow_from_directory(dir_.string(), {.target_size = {8, 6}, .class_mode = "sparse", .batch_size = 10, .shuffle = false});
  EXPECT_EQ(sparse.batch_at(0).y.shape(), (rg::Shape{10}));
  EXPECT_EQ(sparse.batch_at(0).y[7], 1.0f);
  auto input = generator.flow_from_directory(dir_.string(), {.target_size = {8, 6}, .class_mode = "input", .batch_size = 4});
  const rg::data::Batch ib = input.batch_at(0);
  EXPECT_EQ(std::vector<float>(ib.x.data(), ib.x.data() + ib.x.size()), std::vector<float>(ib.y.data(), ib.y.data() + ib.y.size()));
  auto none = generator.flow_from_directory(dir_.string(), {.target_size = {8, 6}, .class_mode = "none"});
  EXPECT_TRUE(none.batch_at(0).y.empty());
}

TEST_F(FlowFromDirectoryTest, TargetSizeAndColorModeShapeTheImages) {
  auto it = pp::ImageDataGenerator({.rescale = 1.0 / 255}).flow_from_directory(
      dir_.string(), {.target_size = {4, 3}, .color_mode = "grayscale", .batch_size = 3, .shuffle = false});
  const rg::data::Batch b = it.batch_at(0);
  EXPECT_EQ(b.x.shape(), (rg::Shape{3, 4, 3, 1}));
  // A uniform RGB image of value v is grey v; rescale 1/255 then applies (standardize).
  EXPECT_NEAR(b.x[0], 20.0f / 255.0f, 1e-6f);
}

TEST_F(FlowFromDirectoryTest, ValidationSubsetTakesTheFirstFilesOfEachClass) {
  // Keras: per class, "validation" is the first int(validation_split · n) files, "training" the rest.
  const pp::ImageDataGenerator generator({.validation_split = 0.4});
  auto validation = generator.flow_from_directory(dir_.string(), {.target_size = {8, 6}, .subset = "validation"});
  auto training = generator.flow_from_directory(dir_.string(), {.target_size = {8, 6}, .subset = "training"});
  EXPECT_EQ(validation.samples(), 4);  // 2 per class
  EXPECT_EQ(training.samples(), 6);
  EXPECT_EQ(fs::path(validation.file_paths()[0]).filename(), "img0.png");
  EXPECT_EQ(fs::path(validation.file_paths()[1]).filename(), "img1.png");
  EXPECT_EQ(fs::path(training.file_paths()[0]).filename(), "img2.png");
  EXPECT_THROW((void)pp::ImageDataGenerator().flow_from_directory(dir_.string(), {.subset = "validation"}), rg::ValueError);
}

TEST_F(FlowFromDirectoryTest, CorruptImagesAreReportedByNameOrSkipped) {
  { std::ofstream(dir_ / "dark" / "broken.png") << "not an image at all"; }
  const pp::ImageDataGenerator generator;
  try {
    (void)generator.flow_from_directory(dir_.string(), {.target_size = {8, 6}});
    FAIL() << "expected IOError";
  } catch (const rg::IOError& e) {
    EXPECT_NE(std::string(e.what()).find("broken.png"), std::string::npos) << e.what();
  }
  auto skipping = generator.flow_from_directory(dir_.string(), {.target_size = {8, 6}, .on_error = "skip"});
  EXPECT_EQ(skipping.samples(), 10);
}

TEST_F(FlowFromDirectoryTest, BadOptionsAreClearErrors) {
  const pp::ImageDataGenerator generator;
  EXPECT_THROW((void)generator.flow_from_directory(dir_.string(), {.color_mode = "cmyk"}), rg::ValueError);
  EXPECT_THROW((void)generator.flow_from_directory(dir_.string(), {.class_mode = "multi"}), rg::ValueError);
  EXPECT_THROW((void)generator.flow_from_directory(dir_.string(), {.target_size = {0, 5}}), rg::ValueError);
  EXPECT_THROW((void)generator.flow_from_directory((dir_ / "missing").string()), rg::IOError);
}

TEST_F(FlowFromDirectoryTest, AModelTrainsOnTheFolderWithAValidationSubset) {
  // The whole Keras recipe on a folder: flow_from_directory for training and validation, fit.
  rg::set_random_seed(2);
  const pp::ImageDataGenerator generator({.horizontal_flip = true, .rescale = 1.0 / 255, .validation_split = 0.4});
  auto training = generator.flow_from_directory(dir_.string(), {.target_size = {8, 6}, .batch_size = 3, .seed = 1});
  auto validation = generator.flow_from_directory(dir_.string(), {.target_size = {8, 6}, .subset = "validation"});
  auto input = rg::layers::Input({8, 6, 3});
  auto out = rg::layers::Dense(2, {.activation = "softmax"})(rg::layers::GlobalAveragePooling2D()(input));
  rg::Model model(input, out);
  model.compile({.optimizer = rg::optimizers::Adam({.learning_rate = 0.1}), .loss = "categorical_crossentropy",
                 .metrics = {"accuracy"}});
  const auto history = model.fit(training, {.epochs = 30, .verbose = 0,
                                            .validation_data = rg::ValidationData{.source = &validation}});
  EXPECT_EQ(history["val_accuracy"].back(), 1.0);  // dark vs light is separable by mean brightness
}
