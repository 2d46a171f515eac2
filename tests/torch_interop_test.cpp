// An independent check of our HDF5 model files: the seed model saved by regula, read with h5py
// (no regula code), loaded into the PyTorch peer's seed model by tests/golden/predict_h5_with_torch.py
// and run there must predict what regula predicts. Round trips through regula's own loader
// (model_file_test.cpp) cannot catch a layout that regula writes and reads back consistently but
// wrongly (a transposed kernel, NCHW rows in the flattened Dense, swapped BN statistics); an
// outside reader with its own layout conventions can.
//
// Needs Debian's python3-torch and python3-h5py for /usr/bin/python3 (scripts/install-deps.sh
// installs them). Without them the test fails rather than skips: a skipped check is easy to miss,
// and this one is the only outside witness of the file layout.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "regula/io/idx.hpp"
#include "regula/model/model.hpp"
#include "regula/model/model_file.hpp"
#include "regula/model/seed_model.hpp"
#include "regula/utils/random.hpp"

namespace rg = regula;
namespace fs = std::filesystem;

namespace {

constexpr const char* kPython = "/usr/bin/python3";

fs::path scratch_dir() {
  fs::path dir = fs::temp_directory_path() / ("regula_torch_interop_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Images in [0, 1) shifted per sample, so that the BatchNormalization batch statistics (and hence
// the moving statistics after training) are far from their initial 0 and 1.
rg::Tensor random_images(int64_t n, uint64_t seed) {
  rg::Rng rng(seed);
  rg::Tensor t({n, 28, 28, 1});
  for (int64_t i = 0; i < t.size(); ++i) t[i] = static_cast<float>(rng.uniform() + 0.5 * rng.normal());
  return t;
}

TEST(TorchInterop, PyTorchPredictsTheSameFromOurH5File) {
  const std::string probe = std::string(kPython) + " -c 'import torch, h5py' > /dev/null 2>&1";
  ASSERT_EQ(std::system(probe.c_str()), 0)
      << kPython << " cannot import torch and h5py; install them with "
      << "`apt-get install python3-torch python3-h5py` (scripts/install-deps.sh installs them for tests)";

  // A few training steps, so that every weight moved from its initializer and the BN moving
  // statistics hold real values: a file whose moving_mean is all zeros and moving_variance all
  // ones would let swapped or misplaced statistics pass unnoticed.
  auto model = rg::models::seed_model();
  model->compile({.optimizer = "adam", .loss = "sparse_categorical_crossentropy"});
  rg::Rng labels_rng(3);
  for (int step = 0; step < 5; ++step) {
    const rg::Tensor x = random_images(16, 100 + static_cast<uint64_t>(step));
    rg::Tensor y({16});
    for (int64_t i = 0; i < 16; ++i) y[i] = static_cast<float>(labels_rng.uniform_int(10));
    model->train_on_batch(x, y);
  }
  // Keras get_weights order: conv2d kernel, bias, then BN gamma, beta, moving_mean (index 4),
  // moving_variance (index 5).
  const auto weights = model->get_weights();
  ASSERT_GE(weights.size(), 6u);
  double mean_abs = 0, var_dev = 0;
  for (int64_t i = 0; i < weights[4].size(); ++i) mean_abs += std::abs(weights[4][i]);
  for (int64_t i = 0; i < weights[5].size(); ++i) var_dev += std::abs(weights[5][i] - 1.0f);
  ASSERT_GT(mean_abs, 1e-3) << "training did not move the BN moving mean; the check would be weak";
  ASSERT_GT(var_dev, 1e-3) << "training did not move the BN moving variance; the check would be weak";

  const fs::path dir = scratch_dir();
  const std::string model_path = (dir / "seed.h5").string();
  const std::string inputs_path = (dir / "inputs.idx").string();
  const std::string outputs_path = (dir / "outputs.idx").string();
  const std::string log_path = (dir / "python.log").string();
  rg::save_model(*model, model_path);
  const rg::Tensor x = random_images(16, 7);
  rg::io::write_idx(inputs_path, x);  // float32: the exact inputs regula predicts on

  const std::string script = std::string(REGULA_SOURCE_DIR) + "/tests/golden/predict_h5_with_torch.py";
  const std::string cmd = std::string(kPython) + " " + quoted(script) + " " + quoted(model_path) + " " +
                          quoted(inputs_path) + " " + quoted(outputs_path) + " > " + quoted(log_path) + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd << "\n" << slurp(log_path);

  const rg::Tensor theirs = rg::io::read_idx(outputs_path);
  const rg::Tensor ours = model->predict(x);
  ASSERT_EQ(theirs.shape(), ours.shape());
  // Tolerance: |ours - theirs| <= 1e-5 + 1e-4 * |theirs|. The peer computes in float64 (the exact
  // answer for our float32 weights and inputs); regula's float32 rounding through two convolutions,
  // three BNs and a 6272-long dot product leaves probabilities within about 1e-6. A layout error
  // (transposed kernel, NCHW-ordered Dense rows, swapped BN statistics) changes them by far more.
  double worst = 0;
  for (int64_t i = 0; i < ours.size(); ++i) {
    const double diff = std::abs(static_cast<double>(ours[i]) - theirs[i]);
    worst = std::max(worst, diff);
    EXPECT_LE(diff, 1e-5 + 1e-4 * std::abs(theirs[i])) << "output " << i << ": regula " << ours[i]
                                                        << ", PyTorch " << theirs[i];
  }
  RecordProperty("max_abs_difference", std::to_string(worst));
  if (!HasFailure()) fs::remove_all(dir);  // kept on failure, for a look at the files
}

}  // namespace
