#pragma once
/// @file
/// The backend context: which backend the layers, losses and optimizers compute on, the allocator
/// new tensors use, and how many threads the kernels run on. One context a process.

#include "regula/backend/backend.hpp"

namespace regula::backend {

/// The most threads a process may ask for: more would only oversubscribe any machine regula runs
/// on, and OpenMP's runtime fails (it crashes) well before memory for their stacks runs out.
inline constexpr int kMaxThreads = 1024;

/// How the `cpu` backend computes convolutions.
enum class ConvolutionAlgorithm {
  /// The fastest it has: Winograd F(4×4, 3×3) for float32 3×3 convolutions at stride 1 whose
  /// channels are multiples of 16, where oneDNN offers it (CPUs with AVX-512); direct elsewhere.
  /// Winograd computes the same convolution with fewer multiplications and rounds differently
  /// (differences of a few 1e-6 relative to the outputs' scale).
  automatic,
  /// Always the direct convolution (the sums as written, as Keras's TensorFlow computes on CPUs).
  direct,
};

/// The process's choice of backend and threads. At start-up: the `cpu` backend; the thread count
/// of the environment variable REGULA_NUM_THREADS (an integer from 1 to 1024), else the machine's
/// core count; the convolution algorithm of REGULA_CONVOLUTION (`automatic` or `direct`), else
/// `automatic`.
class Context {
 public:
  /// The backend in use.
  Backend& backend() const;
  BackendKind kind() const;
  /// Selects the backend for all layers (tests switch to `reference` to get the oracle) and makes
  /// its allocator the one new tensors use.
  void use(BackendKind kind);

  /// The number of threads the kernels use (OpenMP's, which oneDNN also uses).
  int num_threads() const;
  /// Throws ValueError for threads outside 1 to 1024 (saying the range and the machine's cores).
  void set_num_threads(int threads);

  /// How convolutions are computed (the `cpu` backend's choice; the reference backend computes
  /// the direct sums in double).
  ConvolutionAlgorithm convolution_algorithm() const;
  void set_convolution_algorithm(ConvolutionAlgorithm algorithm);
};

/// The process's context.
Context& context();

/// A backend by kind, without changing the one in use.
Backend& get(BackendKind kind);

/// The backend in use: `context().backend()`.
inline Backend& current() { return context().backend(); }

/// RAII: uses `kind` for the lifetime of the guard, then restores the previous backend.
class ScopedBackend {
 public:
  explicit ScopedBackend(BackendKind kind) : previous_(context().kind()) { context().use(kind); }
  ~ScopedBackend() { context().use(previous_); }
  ScopedBackend(const ScopedBackend&) = delete;
  ScopedBackend& operator=(const ScopedBackend&) = delete;

 private:
  BackendKind previous_;
};

}  // namespace regula::backend

namespace regula {
/// Shorthands of `backend::context().set_num_threads` / `num_threads`, the threads of regula's
/// kernels (as Keras users call `tf.config.threading.set_intra_op_parallelism_threads`).
inline void set_num_threads(int threads) { backend::context().set_num_threads(threads); }
inline int num_threads() { return backend::context().num_threads(); }
}  // namespace regula
