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
  /// gemm with bfloat16 operands (cpu_gemm_bfloat16.cpp); the CPU must have bfloat16 instructions.
  void gemm_bfloat16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                     int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
  /// C = op(A)·op(B) + beta·C from bfloat16 operands packed as stored (row stride: their
  /// stored row length), C float32 with row stride ldc.
  void matmul_bfloat16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const uint16_t* a,
                       const uint16_t* b, float beta, float* c, int64_t ldc);
  /// `count` values rounded to bfloat16 into `buffer` (grown as needed); returns its data.
  static const uint16_t* to_bfloat16(const float* x, int64_t count, std::vector<uint16_t>& buffer);
  /// Grows `buffer` to at least `count` values and returns its data.
  static uint16_t* grown(std::vector<uint16_t>& buffer, int64_t count);
  /// `count` values of `x` rounded to bfloat16 (as float32) in `buffer`, for the direct
  /// small-patch convolutions under a bfloat16 policy.
  static const float* rounded_to_bfloat16(const float* x, int64_t count, std::vector<float>& buffer);

  std::vector<float> col_;       ///< im2col rows of a batch chunk (rows × kh·kw·in_c)
  std::vector<float> partial_;   ///< per-thread partial sums (bias and small-kernel weight gradients)
  std::vector<double> channel_partial_;  ///< per-thread per-channel sums of batch normalization
  std::vector<uint16_t> bfloat16_a_;     ///< the bfloat16 GEMM's operands, packed
  std::vector<uint16_t> bfloat16_b_;
  std::vector<uint16_t> bfloat16_columns_;  ///< im2col rows in bfloat16
  std::vector<float> rounded_src_;       ///< small-patch convolutions' operands rounded to bfloat16
  std::vector<float> rounded_other_;
};

}  // namespace regula::backend
