#include <omp.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "regula/backend/backend.hpp"
#include "regula/error.hpp"
#include "src/backend/cpu_backend.hpp"
#include "src/backend/reference_backend.hpp"

namespace regula::backend {
namespace {

std::atomic<BackendKind> current_backend{BackendKind::cpu};

}  // namespace

Backend& get(BackendKind kind) {
  static ReferenceBackend reference;
  static CpuBackend cpu;
  return kind == BackendKind::reference ? static_cast<Backend&>(reference) : static_cast<Backend&>(cpu);
}

Backend& current() { return get(current_backend.load(std::memory_order_relaxed)); }
void set_backend(BackendKind kind) { current_backend = kind; }
BackendKind current_kind() { return current_backend; }

}  // namespace regula::backend

namespace regula {
namespace {

int initial_threads() {
  if (const char* env = std::getenv("REGULA_NUM_THREADS"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (*end != '\0' || n < 1 || n > 1024)
      throw ValueError(std::string("REGULA_NUM_THREADS='") + env + "' is not a thread count: use an integer from 1 to 1024");
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

}  // namespace

void set_num_threads(int threads) {
  if (threads < 1) throw ValueError("set_num_threads: threads=" + std::to_string(threads) + " must be at least 1");
  thread_count() = threads;
  omp_set_num_threads(threads);
}

int num_threads() { return thread_count(); }

}  // namespace regula
