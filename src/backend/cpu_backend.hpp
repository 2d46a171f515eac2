#pragma once
// The fast CPU backend: oneDNN GEMM and convolution primitives, OpenMP threads.
// Its kernels are defined one family per file: cpu_gemm.cpp, cpu_conv.cpp, cpu_pool.cpp,
// cpu_elementwise.cpp, cpu_batch_norm.cpp, cpu_crossentropy.cpp, cpu_updates.cpp.
//
// The backend is a process-wide singleton used from the training thread; its scratch buffers
// (oneDNN's scratch memory and blocked kernels, per-thread partial sums of bias gradients and batch normalization) grow to the largest layer seen and are then reused,
// so a steady-state training step allocates nothing here. Not safe for concurrent calls from
// several threads (layers call it from one thread; the kernels themselves are multi-threaded).

#include <dnnl.hpp>
#include <memory>
#include <vector>

#include "regula/backend/backend.hpp"

namespace regula::backend {

/// One convolution geometry's oneDNN primitives and the reorders around them (cpu_conv.cpp).
struct ConvolutionPrimitives;

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
#include "src/backend/kernel_overrides.inc"
  void conv2d_backward(const Conv2DGeometry& g, const float* src, const float* grad_dst, const float* kernel,
                       float* grad_src, float* grad_kernel, float* grad_bias) override;

 private:
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
  /// A convolution kernel in Keras's layout (kh, kw, in_c, out_c; `count` values) reordered into the
  /// blocked layout of a oneDNN primitive by `reorder` (rounded to bfloat16 first when asked), in
  /// `conv_kernel_`.
  const void* blocked_kernel(const dnnl::reorder& reorder, const dnnl::reorder::primitive_desc& pd,
                             const float* kernel, bool bfloat16, int64_t count);
  /// grad_dst as c's backward primitives read it: rounded to bfloat16 where they compute in it,
  /// staged in their layout (in conv_staging_[0]) where they want another than NHWC.
  const void* conv_grad_operand(const ConvolutionPrimitives& c, const Conv2DGeometry& g, const float* grad_dst);
  /// c's backward data from grad_dst as conv_grad_operand gives it.
  void conv_backward_data_from(const ConvolutionPrimitives& c, const Conv2DGeometry& g, const void* grad_operand,
                               const float* kernel, float* grad_src);
  /// c's weight and bias gradients from grad_dst as conv_grad_operand gives it (the bias from
  /// grad_dst itself).
  void conv_backward_weights_from(const ConvolutionPrimitives& c, const Conv2DGeometry& g, const float* src,
                                  const void* grad_operand, const float* grad_dst, float* grad_kernel,
                                  float* grad_bias);

  std::shared_ptr<Storage> conv_scratchpad_;  ///< oneDNN primitives' scratch memory (64-byte aligned)
  std::shared_ptr<Storage> conv_kernel_;      ///< a convolution kernel in a primitive's blocked layout
  /// A convolution's activation operands where its primitives want another layout than NHWC
  /// (Winograd's nChw16c): [0] the source of forward or grad_dst of backward, [1] the output of
  /// forward or backward data, then the source of backward weights.
  std::shared_ptr<Storage> conv_staging_[2];
  std::vector<float> partial_;   ///< per-thread partial sums (bias gradients)
  std::vector<double> channel_partial_;  ///< per-thread per-channel sums of batch normalization
  std::vector<float> channel_block_sums_;  ///< per-thread per-channel float sums of one block of rows
  std::vector<float> channel_shift_;       ///< per-channel shift (moments) or mean (backward sums) as float
  std::vector<uint16_t> bfloat16_a_;     ///< the bfloat16 GEMM's operands, packed
  std::vector<uint16_t> bfloat16_b_;
  std::vector<uint16_t> bfloat16_kernel_;   ///< a convolution kernel rounded to bfloat16
};

}  // namespace regula::backend
