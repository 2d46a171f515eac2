// regula-bench-layers: where the seed model's training step spends its time, layer by layer
// (Google Benchmark).
//
// For every layer of the seed model (regula::models::seed_model(), in the model's topological
// order) on a batch of 128 images of 28x28x1 float32, it times the layer's forward pass in
// training mode and its backward pass separately, through the layer's own forward/backward. The
// layers' inputs are the real activations of one forward pass of the model on a random batch;
// the gradients fed to backward are random. It also times:
//   gemm        the cpu backend's sgemm at the largest convolution GEMM of the seed model
//               (M = batch·Ho·Wo, N = filters, K = kh·kw·in_channels): the ceiling that the
//               convolutions' GFLOP/s are compared against;
//   train_step  one whole Model::train_on_batch (Adam, sparse categorical crossentropy).
//
// Counters: items_per_second = samples per second; GFLOP (a rate: GFLOP/s) for gemm, Conv2D, Dense and the
// training step (multiply-adds counted as 2 FLOPs; bias, activations and optimizer not counted).
//
//   regula-bench-layers                                   # 2 threads
//   regula-bench-layers --threads=4 --benchmark_min_time=2
//   REGULA_NUM_THREADS=1 regula-bench-layers --benchmark_filter='conv2d'
//
// Threads: --threads=N (or --threads N) wins; otherwise REGULA_NUM_THREADS; otherwise 2.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "regula/regula.hpp"

namespace rg = regula;

namespace {

constexpr int64_t kBatch = 128;
constexpr int kDefaultThreads = 2;
constexpr uint64_t kSeed = 0;

/// One layer of the model with everything its forward and backward passes need.
struct LayerCase {
  rg::layers::Layer* layer = nullptr;
  std::vector<const rg::Tensor*> inputs;
  rg::Tensor* output = nullptr;
  rg::Tensor grad_output;
  std::vector<rg::Tensor> grad_input_storage;
  /// Null where the model skips the gradient (an input that needs none, e.g. the images).
  std::vector<rg::Tensor*> grad_inputs;
  /// Multiply-add FLOPs of one pass; 0 for layers without a GEMM (no GFLOP/s counter then).
  double forward_flops = 0.0;
  double backward_flops = 0.0;
};

/// The seed model's layers with their real inputs, and the model itself for the training step.
struct SeedModelBench {
  std::unique_ptr<rg::Model> model;
  rg::Tensor images;
  rg::Tensor labels;
  std::vector<rg::Tensor> activations;
  std::vector<LayerCase> cases;
  /// The largest convolution GEMM (M×K by K×N) of the model.
  int64_t gemm_m = 0, gemm_n = 0, gemm_k = 0;
  /// Conv2D and Dense FLOPs of one training step (forward + backward).
  double train_step_flops = 0.0;
};

void fill_uniform(rg::Tensor& t, rg::Rng& rng, double low, double high) {
  for (float& v : t.values()) v = static_cast<float>(rng.uniform(low, high));
}

/// Forward FLOPs of a Conv2D or Dense layer at batch `batch`; 0 for any other layer.
double forward_flops(const rg::layers::Layer& layer, int64_t batch) {
  const std::string kind = layer.class_name();
  if (kind != "Conv2D" && kind != "Dense") return 0.0;
  const rg::Shape& kernel = layer.weights().front().value.shape();
  double kernel_size = 1.0;  // Conv2D: kh·kw·cin·cout; Dense: in·out
  for (int axis = 0; axis < kernel.rank(); ++axis) kernel_size *= static_cast<double>(kernel[axis]);
  double positions = 1.0;  // Conv2D: Ho·Wo; Dense: 1
  const rg::Shape& out = layer.output_shape();
  for (int axis = 0; axis + 1 < out.rank(); ++axis) positions *= static_cast<double>(out[axis]);
  return 2.0 * static_cast<double>(batch) * positions * kernel_size;
}

SeedModelBench make_seed_model_bench() {
  SeedModelBench bench;
  rg::layers::reset_layer_names();
  rg::set_random_seed(kSeed);
  bench.model = rg::models::seed_model();
  bench.model->compile({.optimizer = rg::optimizers::Adam(), .loss = "sparse_categorical_crossentropy",
                        .metrics = {"accuracy"}});

  rg::Rng rng(kSeed);
  bench.images = rg::Tensor(bench.model->input_shape().with_batch(kBatch));
  fill_uniform(bench.images, rng, 0.0, 1.0);
  bench.labels = rg::Tensor({kBatch});
  for (float& v : bench.labels.values()) v = static_cast<float>(rng.uniform_int(10));

  const std::vector<rg::layers::Layer*> layers = bench.model->layers();
  const std::vector<std::vector<rg::layers::Layer*>> inbound = bench.model->inbound_layers();
  std::unordered_map<const rg::layers::Layer*, size_t> index;
  for (size_t i = 0; i < layers.size(); ++i) index[layers[i]] = i;

  // One forward pass in training mode, layer by layer, as Model::train_on_batch runs it; an input
  // needs a gradient when a trainable weight lies upstream of it (the model's own rule).
  bench.activations.resize(layers.size());
  std::vector<bool> needs_grad(layers.size(), false);
  for (size_t i = 0; i < layers.size(); ++i) {
    rg::layers::Layer& layer = *layers[i];
    if (inbound[i].empty()) {
      bench.activations[i] = bench.images;
      continue;
    }
    LayerCase c;
    c.layer = &layer;
    bool needs = layer.count_trainable_params() > 0;
    for (rg::layers::Layer* source : inbound[i]) {
      const size_t j = index.at(source);
      c.inputs.push_back(&bench.activations[j]);
      needs = needs || needs_grad[j];
    }
    needs_grad[i] = needs;
    bench.activations[i] = rg::Tensor(layer.output_shape().with_batch(kBatch));
    c.output = &bench.activations[i];
    layer.forward(c.inputs, *c.output, {.training = true, .step = 0});
    bench.cases.push_back(std::move(c));
  }

  for (LayerCase& c : bench.cases) {
    c.grad_output = rg::Tensor(c.output->shape());
    fill_uniform(c.grad_output, rng, -1.0 / kBatch, 1.0 / kBatch);
    c.grad_input_storage.reserve(c.inputs.size());
    for (size_t k = 0; k < c.inputs.size(); ++k) c.grad_input_storage.emplace_back(c.inputs[k]->shape());
    const bool weight_gradient = c.layer->count_trainable_params() > 0;
    size_t input_gradients = 0;
    for (size_t k = 0; k < c.inputs.size(); ++k) {
      const bool needed = needs_grad[index.at(inbound[index.at(c.layer)][k])];
      c.grad_inputs.push_back(needed ? &c.grad_input_storage[k] : nullptr);
      input_gradients += needed ? 1 : 0;
    }
    c.forward_flops = forward_flops(*c.layer, kBatch);
    // Backward: one GEMM for the input gradient (when needed) and one for the weight gradient.
    c.backward_flops = c.forward_flops * static_cast<double>(input_gradients + (weight_gradient ? 1 : 0));
    bench.train_step_flops += c.forward_flops + c.backward_flops;

    if (c.layer->class_name() == "Conv2D") {
      const rg::Shape& kernel = c.layer->weights().front().value.shape();  // (kh, kw, cin, cout)
      const rg::Shape& out = c.layer->output_shape();                       // (Ho, Wo, cout)
      const int64_t m = kBatch * out[0] * out[1], n = kernel[3], k = kernel[0] * kernel[1] * kernel[2];
      if (m * n * k > bench.gemm_m * bench.gemm_n * bench.gemm_k) {
        bench.gemm_m = m;
        bench.gemm_n = n;
        bench.gemm_k = k;
      }
    }
  }
  return bench;
}

void report(benchmark::State& state, double flops_per_iteration, int64_t samples_per_iteration) {
  state.SetItemsProcessed(state.iterations() * samples_per_iteration);
  if (flops_per_iteration > 0.0)
    state.counters["GFLOP"] =
        benchmark::Counter(flops_per_iteration / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void bench_gemm(benchmark::State& state, int64_t m, int64_t n, int64_t k, rg::backend::ComputeDtype compute) {
  rg::backend::Backend& cpu = rg::backend::get(rg::backend::BackendKind::cpu);
  rg::Rng rng(kSeed);
  rg::Tensor a({m, k}), b({k, n}), c({m, n});
  fill_uniform(a, rng, -1.0, 1.0);
  fill_uniform(b, rng, -1.0, 1.0);
  for (auto _ : state) {
    cpu.gemm(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), n, compute);
    benchmark::ClobberMemory();
  }
  state.SetLabel("M=" + std::to_string(m) + " N=" + std::to_string(n) + " K=" + std::to_string(k));
  report(state, 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k), kBatch);
}

void bench_layer_forward(benchmark::State& state, LayerCase& c) {
  uint64_t step = 0;
  for (auto _ : state) {
    c.layer->forward(c.inputs, *c.output, {.training = true, .step = step++});
    benchmark::ClobberMemory();
  }
  report(state, c.forward_flops, kBatch);
}

void bench_layer_backward(benchmark::State& state, LayerCase& c) {
  // Backward uses what the last forward pass left (masks, batch statistics, argmax).
  c.layer->forward(c.inputs, *c.output, {.training = true, .step = 0});
  for (auto _ : state) {
    c.layer->backward(c.inputs, *c.output, c.grad_output, c.grad_inputs);
    benchmark::ClobberMemory();
  }
  report(state, c.backward_flops, kBatch);
}

void bench_train_step(benchmark::State& state, SeedModelBench& bench) {
  for (auto _ : state) {
    const double loss = bench.model->train_on_batch(bench.images, bench.labels);
    benchmark::DoNotOptimize(loss);
  }
  report(state, bench.train_step_flops, kBatch);
}

/// Takes --NAME=VALUE or --NAME VALUE out of argv (Google Benchmark refuses flags it does not
/// know); returns VALUE, or "" when absent.
std::string take_flag(int& argc, char** argv, const std::string& name) {
  std::string value;
  const std::string prefix = "--" + name + "=";
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind(prefix, 0) == 0) {
      value = arg.substr(prefix.size());
    } else if (arg == "--" + name && i + 1 < argc) {
      value = argv[++i];
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  argv[argc] = nullptr;
  return value;
}

/// --threads N: a positive number, or 0 when absent.
int take_threads_flag(int& argc, char** argv) {
  const std::string value = take_flag(argc, argv, "threads");
  if (value.empty()) return 0;
  const int threads = std::atoi(value.c_str());
  if (threads <= 0) {
    std::fprintf(stderr, "regula-bench-layers: --threads wants a positive number, not '%s'\n", value.c_str());
    std::exit(2);
  }
  return threads;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads_flag = take_threads_flag(argc, argv);
  // --dtype-policy float32 | mixed_bfloat16: the seed model's layers under that policy.
  const std::string dtype_policy = take_flag(argc, argv, "dtype-policy");
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  try {
    const char* env_threads = std::getenv("REGULA_NUM_THREADS");
    if (threads_flag > 0)
      rg::set_num_threads(threads_flag);
    else if (env_threads == nullptr || *env_threads == '\0')
      rg::set_num_threads(kDefaultThreads);
    benchmark::AddCustomContext("regula_threads", std::to_string(rg::num_threads()));
    benchmark::AddCustomContext("batch", std::to_string(kBatch));

    rg::mixed_precision::set_global_policy(dtype_policy.empty() ? "float32" : dtype_policy, {.strict = true});
    benchmark::AddCustomContext("dtype_policy", rg::mixed_precision::global_policy().name());
    SeedModelBench bench = make_seed_model_bench();

    benchmark::RegisterBenchmark("gemm", bench_gemm, bench.gemm_m, bench.gemm_n, bench.gemm_k,
                                 rg::backend::ComputeDtype::float32)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    if (rg::backend::cpu_has_bfloat16())
      benchmark::RegisterBenchmark("gemm_bfloat16", bench_gemm, bench.gemm_m, bench.gemm_n, bench.gemm_k,
                                   rg::backend::ComputeDtype::bfloat16)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    for (LayerCase& c : bench.cases) {
      const std::string& name = c.layer->name();
      benchmark::RegisterBenchmark((name + "/forward").c_str(), bench_layer_forward, std::ref(c))
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
      benchmark::RegisterBenchmark((name + "/backward").c_str(), bench_layer_backward, std::ref(c))
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
    benchmark::RegisterBenchmark("train_step", bench_train_step, std::ref(bench))
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();

    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
  } catch (const rg::Error& e) {
    std::fprintf(stderr, "regula-bench-layers: %s\n", e.what());
    return 1;
  }
}
