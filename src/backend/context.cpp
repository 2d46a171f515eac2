#include "regula/backend/context.hpp"

#include <omp.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "regula/error.hpp"
#include "src/backend/cpu_backend.hpp"
#include "src/backend/reference_backend.hpp"

namespace regula::backend {
namespace {

std::atomic<BackendKind> current_backend{BackendKind::cpu};

int initial_threads() {
  if (const char* env = std::getenv("REGULA_NUM_THREADS"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (*end != '\0' || n < 1 || n > kMaxThreads)
      throw ValueError(std::string("REGULA_NUM_THREADS='") + env + "' is not a thread count: use an integer from 1 to " +
                       std::to_string(kMaxThreads));
    return static_cast<int>(n);
  }
  return omp_get_num_procs();
}

int& thread_count() {
  static int threads = [] {
    const int n = initial_threads();
    omp_set_num_threads(n);
    return n;
  }();
  return threads;
}

ConvolutionAlgorithm initial_convolution_algorithm() {
  const char* env = std::getenv("REGULA_CONVOLUTION");
  if (env == nullptr || *env == '\0' || std::string(env) == "automatic") return ConvolutionAlgorithm::automatic;
  if (std::string(env) == "direct") return ConvolutionAlgorithm::direct;
  throw ValueError(std::string("REGULA_CONVOLUTION='") + env + "' is not a convolution algorithm: use automatic or direct");
}

std::atomic<ConvolutionAlgorithm>& convolution_algorithm_setting() {
  static std::atomic<ConvolutionAlgorithm> algorithm{initial_convolution_algorithm()};
  return algorithm;
}

}  // namespace

Backend& get(BackendKind kind) {
  static ReferenceBackend reference;
  static CpuBackend cpu;
  return kind == BackendKind::reference ? static_cast<Backend&>(reference) : static_cast<Backend&>(cpu);
}

Backend& Context::backend() const { return get(kind()); }

BackendKind Context::kind() const { return current_backend.load(std::memory_order_relaxed); }

void Context::use(BackendKind kind) {
  current_backend = kind;
  set_tensor_allocator(get(kind).allocator());
}

int Context::num_threads() const { return thread_count(); }

void Context::set_num_threads(int threads) {
  if (threads < 1 || threads > kMaxThreads)
    throw ValueError("threads=" + std::to_string(threads) + " is not allowed; allowed: 1 to " + std::to_string(kMaxThreads) +
                     " (this machine has " + std::to_string(omp_get_num_procs()) + " cores)");
  thread_count() = threads;
  omp_set_num_threads(threads);
}

Context& context() {
  static Context instance;
  return instance;
}

ConvolutionAlgorithm Context::convolution_algorithm() const {
  return convolution_algorithm_setting().load(std::memory_order_relaxed);
}

void Context::set_convolution_algorithm(ConvolutionAlgorithm algorithm) {
  convolution_algorithm_setting() = algorithm;
}

}  // namespace regula::backend
