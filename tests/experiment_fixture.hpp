#pragma once
// A test fixture for experiment files: a fresh temporary directory per test, text files written
// into it, and small two-class image data sets as IDX files.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "regula/io/idx.hpp"
#include "regula/tensor/tensor.hpp"
#include "regula/utils/random.hpp"

namespace regula::testing_support {

namespace rg = regula;
namespace fs = std::filesystem;

class ExperimentDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("regula_experiment_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }

  /// Two classes of 6x6 images: class 1 has a bright left half. Written as uint8 IDX files.
  void write_images(const std::string& prefix, int64_t n, uint64_t seed) {
    rg::Rng rng(seed);
    rg::Tensor x({n, 6, 6}), y({n});
    for (int64_t i = 0; i < n; ++i) {
      const int64_t label = i % 2;
      y[i] = static_cast<float>(label);
      for (int64_t p = 0; p < 36; ++p) {
        const bool left = p % 6 < 3;
        x[i * 36 + p] = static_cast<float>(std::round((label == 1 && left ? 180.0 : 40.0) + 30.0 * rng.uniform()));
      }
    }
    rg::io::write_idx((dir_ / (prefix + "-x.idx")).string(), x, {.type = rg::io::IdxType::uint8});
    rg::io::write_idx((dir_ / (prefix + "-y.idx")).string(), y, {.type = rg::io::IdxType::uint8, .gzip = true});
  }

  /// Writes two-class IDX sets (200 training images, 60 test images) and an experiment file on
  /// them, e.yaml: seed 3, the images rescaled to 0..1 (validation_split from the default
  /// experiment), a softmax layer on the flattened images, Adam at 0.05, then `sections`.
  /// Returns the file's path.
  std::string small_experiment(const std::string& sections) {
    write_images("train", 200, 1);
    write_images("test", 60, 2);
    auto files = [&](const std::string& prefix) {
      return "{x: " + (dir_ / (prefix + "-x.idx")).string() + ", y: " + (dir_ / (prefix + "-y.idx")).string() + "}";
    };
    return write("e.yaml", "seed: 3\ndata:\n  dataset: " + files("train") + "\n  test: " + files("test") +
                               "\n  rescale: 0.00392156862745098\n"
                               "model: {layers: [{class_name: Flatten}, {class_name: Dense, units: 2, activation: softmax}]}\n"
                               "compile: {optimizer: {class_name: Adam, learning_rate: 0.05}}\n" +
                               sections);
  }

  fs::path dir_;
};

}  // namespace regula::testing_support
