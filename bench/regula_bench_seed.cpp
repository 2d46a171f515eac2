// regula-bench-seed: the seed model's training and inference throughput, printed as one JSON line
// per measurement in the PyTorch peer's format (../shared/peers/pytorch_seed_model.py), so any
// script can run the two side by side and report ratios.
//
//   regula-bench-seed --threads 2 --batch 128 --steps 30            # synthetic batch, as the peer
//   regula-bench-seed --threads 2 --epochs 2                         # full Fashion-MNIST epochs

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

void emit(nlohmann::json line) {
  line["peer"] = "regula";
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
  CLI11_PARSE(app, argc, argv);

  try {
    rg::set_num_threads(threads);
    rg::set_random_seed(seed);
    auto model = rg::models::seed_model();
    model->compile({.optimizer = rg::optimizers::Adam(), .loss = "sparse_categorical_crossentropy", .metrics = {"accuracy"}});

    if (epochs <= 0) {
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

    auto data = rg::datasets::fashion_mnist::load_data({.path = data_dir});
    const auto start = std::chrono::steady_clock::now();
    for (int epoch = 0; epoch < epochs; ++epoch) {
      const auto t = std::chrono::steady_clock::now();
      model->fit(data.train.x, data.train.y, {.batch_size = batch, .epochs = epoch + 1, .verbose = 0, .initial_epoch = epoch});
      const double train_s = seconds_since(t);
      const double accuracy = rg::metrics::accuracy_score(data.test.y, model->predict(data.test.x, {.batch_size = 500}));
      emit({{"what", "epoch"}, {"epoch", epoch + 1}, {"train_s", train_s}, {"elapsed_s", seconds_since(start)},
            {"test_accuracy", accuracy}});
    }
    return 0;
  } catch (const rg::Error& e) {
    std::fprintf(stderr, "regula-bench-seed: %s\n", e.what());
    return 1;
  }
}
