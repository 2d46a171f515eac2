// regula-bench-seed: the seed model's training and inference throughput, printed as one JSON line
// per measurement in the PyTorch peer's format (../shared/peers/pytorch_seed_model.py), so any
// script can run the two side by side and report ratios.
//
//   regula-bench-seed --threads 2 --batch 128 --steps 30            # synthetic batch, as the peer
//   regula-bench-seed --threads 2 --epochs 2                         # full Fashion-MNIST epochs
//   regula-bench-seed --threads 2 --epochs 1 --augment               # the same through the article's
//                                                                    # ImageDataGenerator (flow, prefetch)
//   regula-bench-seed --augment-throughput                           # augmentation alone, images/s

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "regula/regula.hpp"

namespace rg = regula;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

/// The article's augmentation (its "Data Augmentation" section).
rg::preprocessing::ImageDataGenerator article_augmentation() {
  return rg::preprocessing::ImageDataGenerator({.rotation_range = 10, .width_shift_range = 0.1, .height_shift_range = 0.1,
                                                .zoom_range = 0.2, .horizontal_flip = true});
}

void emit(nlohmann::json line) {
  line["peer"] = "regula";
  line["precision"] = rg::mixed_precision::global_policy().name();
  std::printf("%s\n", line.dump().c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"regula seed-model benchmark (JSON lines in the PyTorch peer's format)"};
  int threads = 2, warmup = 3, epochs = 0;
  int64_t batch = 128, steps = 30;
  uint64_t seed = 0;
  std::string data_dir;
  app.add_option("--threads", threads, "threads")->check(CLI::PositiveNumber);
  app.add_option("--batch", batch, "batch size")->check(CLI::PositiveNumber);
  app.add_option("--steps", steps, "timed training steps")->check(CLI::PositiveNumber);
  app.add_option("--warmup", warmup, "untimed steps first")->check(CLI::NonNegativeNumber);
  app.add_option("--epochs", epochs, "if > 0: full epochs on Fashion-MNIST, reporting test accuracy");
  app.add_option("--data", data_dir, "Fashion-MNIST directory (default: the Debian package's)");
  app.add_option("--seed", seed, "random seed");
  bool augment = false, augment_throughput = false;
  int64_t limit = 0;
  app.add_flag("--augment", augment, "with --epochs: train through the article's ImageDataGenerator");
  bool no_fusion = false;
  app.add_flag("--no-fusion", no_fusion, "run BatchNormalization, ReLU and Dropout as separate layers");
  std::string dtype_policy = "float32";
  app.add_option("--dtype-policy", dtype_policy, "float32 or mixed_bfloat16 (Keras's mixed precision)");
  app.add_flag("--augment-throughput", augment_throughput,
               "measure the article's augmentation alone on the training images (one thread, images/s)");
  app.add_option("--limit", limit, "with --epochs: first N training samples only (0 = all)")->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);

  try {
    rg::set_num_threads(threads);
    rg::set_random_seed(seed);
    rg::mixed_precision::set_global_policy(dtype_policy, {.strict = true});
    auto model = rg::models::seed_model();
    model->set_layer_fusion(!no_fusion);
    model->compile({.optimizer = rg::optimizers::Adam(), .loss = "sparse_categorical_crossentropy", .metrics = {"accuracy"}});

    if (epochs <= 0 && !augment_throughput) {
      rg::Rng rng(seed);
      rg::Tensor x({batch, 28, 28, 1}), y({batch});
      for (float& v : x.values()) v = static_cast<float>(rng.uniform());
      for (float& v : y.values()) v = static_cast<float>(rng.uniform_int(10));
      auto start = std::chrono::steady_clock::now();
      for (int64_t i = 0; i < warmup + steps; ++i) {
        if (i == warmup) start = std::chrono::steady_clock::now();
        model->train_on_batch(x, y);
      }
      const double train_s = seconds_since(start);
      emit({{"what", "train"}, {"threads", threads}, {"batch", batch},
            {"samples_per_s", static_cast<double>(steps * batch) / train_s}, {"params", model->count_trainable_params()}});
      for (int64_t i = 0; i < warmup + steps; ++i) {
        if (i == warmup) start = std::chrono::steady_clock::now();
        model->predict_on_batch(x);
      }
      const double predict_s = seconds_since(start);
      emit({{"what", "predict"}, {"threads", threads}, {"batch", batch},
            {"samples_per_s", static_cast<double>(steps * batch) / predict_s}});
      return 0;
    }

    auto data = rg::datasets::fashion_mnist::load_data({.path = data_dir, .limit = limit});
    if (augment_throughput) {
      // Every training image once through the random transforms, on this thread (workers = 0).
      auto batches = article_augmentation().flow(data.train.x, data.train.y, {.batch_size = batch, .seed = seed, .workers = 0});
      rg::data::Batch b;
      batches.next(b);  // warm-up
      const auto t = std::chrono::steady_clock::now();
      for (int64_t i = 0; i < batches.batches_per_pass(); ++i) batches.next(b);
      emit({{"what", "augment"}, {"threads", 1}, {"batch", batch},
            {"images_per_s", static_cast<double>(batches.samples()) / seconds_since(t)}});
      return 0;
    }
    auto batches = article_augmentation().flow(data.train.x, data.train.y, {.batch_size = batch, .seed = seed});
    const auto start = std::chrono::steady_clock::now();
    for (int epoch = 0; epoch < epochs; ++epoch) {
      const auto t = std::chrono::steady_clock::now();
      const rg::FitOptions options{.batch_size = batch, .epochs = epoch + 1, .verbose = 0, .initial_epoch = epoch};
      if (augment)
        model->fit(batches, options);
      else
        model->fit(data.train.x, data.train.y, options);
      const double train_s = seconds_since(t);
      const double accuracy = rg::metrics::accuracy_score(data.test.y, model->predict(data.test.x, {.batch_size = 500}));
      emit({{"what", "epoch"}, {"epoch", epoch + 1}, {"augment", augment}, {"samples", data.train.x.dim(0)},
            {"train_s", train_s}, {"elapsed_s", seconds_since(start)}, {"test_accuracy", accuracy}});
    }
    return 0;
  } catch (const rg::Error& e) {
    std::fprintf(stderr, "regula-bench-seed: %s\n", e.what());
    return 1;
  }
}
