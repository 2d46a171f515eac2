// A small, fast run for the report's browser test: three classes of 8×8 images with noisy labels,
// a model large enough to overfit them, the article's callbacks and augmentation, and a test set.
//
//   regula_report_sample RUN_DIR [plain|dropout]
//
// writes RUN_DIR as `regula fit` does (experiment.yaml, history, test.json, evaluation.json,
// augmentation.png, report.html). "dropout" adds a Dropout layer, for comparing two runs.

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "regula/error.hpp"
#include "regula/experiment/experiment.hpp"
#include "regula/io/idx.hpp"
#include "regula/utils/random.hpp"

namespace rg = regula;
namespace fs = std::filesystem;

namespace {

/// Class k has a bright band in rows 3k..3k+2 (k < 3), with noise; a share of the labels is wrong.
void write_images(const fs::path& dir, const std::string& prefix, int64_t n, uint64_t seed, double label_noise) {
  rg::Rng rng(seed);
  rg::Tensor x({n, 8, 8}), y({n});
  for (int64_t i = 0; i < n; ++i) {
    const int64_t label = i % 3;
    const bool flipped = rng.uniform() < label_noise;
    y[i] = static_cast<float>(flipped ? (label + 1 + static_cast<int64_t>(rng.uniform() * 2)) % 3 : label);
    for (int64_t p = 0; p < 64; ++p) {
      const int64_t row = p / 8;
      const bool band = row >= 3 * label - 1 && row <= 3 * label + 1;
      x[i * 64 + p] = static_cast<float>(std::round((band ? 75.0 : 40.0) + 120.0 * rng.uniform()));
    }
  }
  rg::io::write_idx((dir / (prefix + "-x.idx")).string(), x, {.type = rg::io::IdxType::uint8});
  rg::io::write_idx((dir / (prefix + "-y.idx")).string(), y, {.type = rg::io::IdxType::uint8});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s RUN_DIR [plain|dropout]\n", argv[0]);
    return 2;
  }
  const fs::path run_dir(argv[1]);
  const std::string variant = argc == 3 ? argv[2] : "plain";
  if (variant != "plain" && variant != "dropout") {
    std::fprintf(stderr, "variant '%s' is not one of: plain, dropout\n", variant.c_str());
    return 2;
  }
  try {
    const fs::path data = run_dir.parent_path() / "sample-data";
    fs::create_directories(data);
    write_images(data, "train", 150, 1, 0.1);
    write_images(data, "test", 90, 2, 0.0);
    const std::string dropout = variant == "dropout" ? "    - {class_name: Dropout, rate: 0.5}\n" : "";
    const std::string yaml =
        "seed: 5\n"
        "data:\n"
        "  dataset: {x: " + (data / "train-x.idx").string() + ", y: " + (data / "train-y.idx").string() + "}\n"
        "  test: {x: " + (data / "test-x.idx").string() + ", y: " + (data / "test-y.idx").string() + "}\n"
        "  rescale: 0.00392156862745098\n"
        "  validation_split: 0.3\n"
        "model:\n"
        "  layers:\n"
        "    - {class_name: Flatten}\n"
        "    - {class_name: Dense, units: 128, activation: relu}\n" + dropout +
        "    - {class_name: Dense, units: 3, activation: softmax}\n"
        "compile: {optimizer: {class_name: Adam, learning_rate: 0.01}}\n"
        "fit: {epochs: 40, batch_size: 16}\n"
        "augmentation: {rotation_range: 10, width_shift_range: 0.1, height_shift_range: 0.1}\n"
        "callbacks:\n"
        "  - {class_name: EarlyStopping, monitor: val_loss, patience: 8, restore_best_weights: true}\n"
        "  - {class_name: ReduceLROnPlateau, monitor: val_loss, factor: 0.5, patience: 3}\n"
        "  - {class_name: ModelCheckpoint, filepath: best.h5, monitor: val_accuracy, save_best_only: true, mode: max}\n"
        "  - {class_name: CSVLogger, filename: log.csv}\n";
    fs::create_directories(run_dir);
    const fs::path file = run_dir.parent_path() / ("sample-" + variant + ".yaml");
    std::ofstream(file) << yaml;
    rg::experiment::run(rg::experiment::load(file.string()),
                        {.run_dir = run_dir.string(), .existing = rg::experiment::ExistingRun::overwrite, .verbose = 0});
    return 0;
  } catch (const rg::Error& e) {
    std::fprintf(stderr, "regula_report_sample: error: %s\n", e.what());
    return 1;
  }
}
