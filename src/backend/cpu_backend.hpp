#pragma once
// The fast CPU backend: oneDNN GEMM, im2col convolutions, OpenMP threads.
// Its kernels are defined one family per file: cpu_gemm.cpp, cpu_conv.cpp, cpu_pool.cpp,
// cpu_elementwise.cpp, cpu_batch_norm.cpp, cpu_crossentropy.cpp, cpu_updates.cpp.
//
// The backend is a process-wide singleton used from the training thread; its scratch buffers
// (im2col columns, per-thread partial sums of convolutions and batch normalization) grow to the largest layer seen and are then reused,
// so a steady-state training step allocates nothing here. Not safe for concurrent calls from
// several threads (layers call it from one thread; the kernels themselves are multi-threaded).

#include <vector>

#include "regula/backend/backend.hpp"

namespace regula::backend {

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
#include "src/backend/kernel_overrides.inc"

 private:
  /// Grows `buffer` to at least `count` floats (never shrinks) and returns its data.
  static float* scratch(std::vector<float>& buffer, int64_t count);

  std::vector<float> col_;       ///< im2col rows of a batch chunk (rows × kh·kw·in_c)
  std::vector<float> partial_;   ///< per-thread partial sums (bias and small-kernel weight gradients)
  std::vector<double> channel_partial_;  ///< per-thread per-channel sums of batch normalization
};

}  // namespace regula::backend
