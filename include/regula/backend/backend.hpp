#pragma once
/// @file
/// The compute seam. Layers call these kernels and never a math library directly.
///
/// Two backends implement it:
/// - `reference`: plain loops, always built, slow and obviously correct: the oracle for tests.
/// - `cpu`: the fast CPU backend (oneDNN GEMM, im2col convolutions, OpenMP threads).
///
/// All arrays are row-major float32; images are NHWC (Keras's channels_last); convolution
/// kernels are (kernel_h, kernel_w, in_channels, out_channels) as in Keras.

#include <cstdint>
#include <memory>
#include <string>

namespace regula::backend {

/// Geometry of a 2-D convolution over an NHWC batch. `pad_top`/`pad_left` are the zero rows and
/// columns added before the image (Keras "same" padding puts the odd one after).
struct Conv2DGeometry {
  int64_t batch = 0;
  int64_t in_h = 0, in_w = 0, in_c = 0;
  int64_t out_h = 0, out_w = 0, out_c = 0;
  int64_t kernel_h = 0, kernel_w = 0;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0;
};

/// Geometry of a 2-D pooling over an NHWC batch (channels pooled independently).
struct Pool2DGeometry {
  int64_t batch = 0;
  int64_t in_h = 0, in_w = 0, channels = 0;
  int64_t out_h = 0, out_w = 0;
  int64_t pool_h = 0, pool_w = 0;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0;
};

/// The kernels a layer may ask for. Every `dst`/`grad_*` output is overwritten, not accumulated,
/// unless the parameter says otherwise.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;

  /// C = alpha * op(A) * op(B) + beta * C with op(X) = X or Xᵀ; op(A) is m×k, op(B) is k×n,
  /// C is m×n; lda/ldb/ldc are the row strides of A, B and C as stored.
  virtual void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                    int64_t ldc) = 0;

  /// dst(N, out_h, out_w, out_c) = conv(src(N, in_h, in_w, in_c), kernel) + bias (bias may be null).
  virtual void conv2d_forward(const Conv2DGeometry& g, const float* src, const float* kernel,
                              const float* bias, float* dst) = 0;
  /// grad_src = ∂loss/∂src given grad_dst = ∂loss/∂dst.
  virtual void conv2d_backward_data(const Conv2DGeometry& g, const float* grad_dst,
                                    const float* kernel, float* grad_src) = 0;
  /// grad_kernel = ∂loss/∂kernel and, when not null, grad_bias = ∂loss/∂bias.
  virtual void conv2d_backward_weights(const Conv2DGeometry& g, const float* src,
                                       const float* grad_dst, float* grad_kernel,
                                       float* grad_bias) = 0;

  /// Max pooling; `argmax` (same size as dst) receives the flat index within the sample's
  /// input (h * in_w + w) * channels + c of each maximum, for the backward pass.
  /// Padded positions never win (they count as -infinity, as Keras's "same" max pooling).
  virtual void max_pool2d_forward(const Pool2DGeometry& g, const float* src, float* dst,
                                  int32_t* argmax) = 0;
  virtual void max_pool2d_backward(const Pool2DGeometry& g, const float* grad_dst,
                                   const int32_t* argmax, float* grad_src) = 0;
  /// Average pooling over the window's positions inside the image (padding is not counted,
  /// as Keras's "same" average pooling).
  virtual void avg_pool2d_forward(const Pool2DGeometry& g, const float* src, float* dst) = 0;
  virtual void avg_pool2d_backward(const Pool2DGeometry& g, const float* grad_dst,
                                   float* grad_src) = 0;
};

/// Which implementation to use.
enum class BackendKind { reference, cpu };

/// The backend layers use now (the fast `cpu` backend unless changed).
Backend& current();
/// Selects the backend for all layers (tests switch to `reference` to get the oracle).
void set_backend(BackendKind kind);
BackendKind current_kind();
/// A backend by kind, without changing the current one.
Backend& get(BackendKind kind);

/// RAII: uses `kind` for the lifetime of the guard, then restores the previous backend.
class ScopedBackend {
 public:
  explicit ScopedBackend(BackendKind kind) : previous_(current_kind()) { set_backend(kind); }
  ~ScopedBackend() { set_backend(previous_); }
  ScopedBackend(const ScopedBackend&) = delete;
  ScopedBackend& operator=(const ScopedBackend&) = delete;

 private:
  BackendKind previous_;
};

}  // namespace regula::backend

namespace regula {
/// Sets the number of threads regula's kernels use (OpenMP, which oneDNN also uses). At start-up the
/// environment variable REGULA_NUM_THREADS is read; without it, the machine's core count.
void set_num_threads(int threads);
int num_threads();
}  // namespace regula
