#pragma once
// The reference backend: plain loops, no threads, no library. The oracle for the fast backend.
// Its methods are defined one kernel family per file: reference_gemm.cpp, reference_conv.cpp,
// reference_pool.cpp.

#include "regula/backend/backend.hpp"

namespace regula::backend {

class ReferenceBackend final : public Backend {
 public:
  std::string name() const override { return "reference"; }
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
};

}  // namespace regula::backend
