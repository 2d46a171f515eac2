#pragma once
// The fast CPU backend: oneDNN GEMM, im2col convolutions, OpenMP threads.
// Its methods are defined one kernel family per file: cpu_gemm.cpp, cpu_conv.cpp, cpu_pool.cpp.
//
// The backend is a process-wide singleton used from the training thread; its scratch buffers
// (im2col columns, per-thread partial sums) grow to the largest layer seen and are then reused,
// so a steady-state training step allocates nothing here. Not safe for concurrent calls from
// several threads (layers call it from one thread; the kernels themselves are multi-threaded).

#include <vector>

#include "regula/backend/backend.hpp"

namespace regula::backend {

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
            int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) override;
  void conv2d_forward(const Conv2DGeometry& g, const float* src, const float* kernel, const float* bias,
                      float* dst) override;
  void conv2d_backward_data(const Conv2DGeometry& g, const float* grad_dst, const float* kernel,
                            float* grad_src) override;
  void conv2d_backward_weights(const Conv2DGeometry& g, const float* src, const float* grad_dst,
                               float* grad_kernel, float* grad_bias) override;
  void max_pool2d_forward(const Pool2DGeometry& g, const float* src, float* dst, int32_t* argmax) override;
  void max_pool2d_backward(const Pool2DGeometry& g, const float* grad_dst, const int32_t* argmax,
                           float* grad_src) override;
  void avg_pool2d_forward(const Pool2DGeometry& g, const float* src, float* dst) override;
  void avg_pool2d_backward(const Pool2DGeometry& g, const float* grad_dst, float* grad_src) override;

 private:
  /// Grows `buffer` to at least `count` floats (never shrinks) and returns its data.
  static float* scratch(std::vector<float>& buffer, int64_t count);

  std::vector<float> col_;       ///< im2col rows of a batch chunk (rows × kh·kw·in_c)
  std::vector<float> partial_;   ///< per-thread partial sums (bias and small-kernel weight gradients)
};

}  // namespace regula::backend
