#pragma once
/// @file
/// The compute seam. Layers, losses, optimizers and regularizers call these kernels and never a
/// math library or an OpenMP loop of their own.
///
/// Two backends implement it:
/// - `reference`: plain serial loops, always built, slow and obviously correct, holding no state
///   (so it may be called from several threads at once): the oracle for tests;
/// - `cpu`: the fast CPU backend (oneDNN GEMM and convolution primitives, vectorized OpenMP loops).
/// The backend in use, and the threads its kernels run on, are chosen through `backend::Context`
/// (`regula/backend/context.hpp`). A new backend (an accelerator) is a new folder under
/// `src/backend/` implementing this interface and an `Allocator` for its memory.
///
/// All arrays are row-major float32; images are NHWC (Keras's channels_last); convolution
/// kernels are (kernel_h, kernel_w, in_channels, out_channels) as in Keras.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "regula/backend/compute_dtype.hpp"
#include "regula/backend/kernel_arguments.hpp"
#include "regula/tensor/storage.hpp"

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
  /// The precision of the products (Conv2D's dtype policy): bfloat16 rounds src (or grad_dst)
  /// and the kernel to bfloat16 and sums in float32.
  ComputeDtype compute = ComputeDtype::float32;
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
  /// C is m×n; lda/ldb/ldc are the row strides of A, B and C as stored. `compute` bfloat16: A
  /// and B are rounded to bfloat16 and their products summed in float32 (compute_dtype.hpp).
  virtual void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                    int64_t ldc, ComputeDtype compute) = 0;

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
  /// Both: conv2d_backward_weights, then conv2d_backward_data when grad_src is not null (a
  /// first layer needs no grad_src). A backend may share work between the two; the CPU backend
  /// prepares grad_dst once for both.
  virtual void conv2d_backward(const Conv2DGeometry& g, const float* src, const float* grad_dst,
                               const float* kernel, float* grad_src, float* grad_kernel,
                               float* grad_bias) {
    conv2d_backward_weights(g, src, grad_dst, grad_kernel, grad_bias);
    if (grad_src != nullptr) conv2d_backward_data(g, grad_dst, kernel, grad_src);
  }

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

  // ---- Element-wise -----------------------------------------------------------------------------

  /// dst = f(src) over `rows` rows of `cols` values (softmax works per row); dst may alias src.
  virtual void activation_forward(ActivationKind kind, int64_t rows, int64_t cols, const float* src,
                                  float* dst) = 0;
  /// grad_src = f'(src) ⊙ grad_dst (softmax: the Jacobian-vector product per row), from the forward
  /// pass's input `src` (needed by elu, leaky_relu and gelu only; may be null otherwise) and output
  /// `dst`. grad_src may alias grad_dst.
  virtual void activation_backward(ActivationKind kind, int64_t rows, int64_t cols, const float* src,
                                   const float* dst, const float* grad_dst, float* grad_src) = 0;
  /// dst[i] = src[i] · mask.factor(i) for i < n (0 · NaN stays NaN, as TensorFlow's dropout);
  /// dst may alias src. n must not exceed 2³².
  virtual void apply_mask(const ElementMask& mask, int64_t n, const float* src, float* dst) = 0;
  /// dst[i] = a[i] · b[i]; dst may alias a or b.
  virtual void multiply(int64_t n, const float* a, const float* b, float* dst) = 0;
  /// dst[i] = a[i] + b[i]; dst may alias a or b.
  virtual void add(int64_t n, const float* a, const float* b, float* dst) = 0;
  /// dst = src · factors per (sample, channel): src is (samples, positions, channels), factors is
  /// (samples, channels) (SpatialDropout2D's mask, forward and backward).
  virtual void scale_channels(int64_t samples, int64_t positions, int64_t channels, const float* src,
                              const float* factors, float* dst) = 0;
  /// dst[i] = src[i] + stddev · N_i with N_i = NormalDraws(step)(i) (GaussianNoise). n ≤ 2³².
  virtual void add_normal_noise(const CounterRng& step, float stddev, int64_t n, const float* src, float* dst) = 0;
  /// factors[i] = 1 + stddev · N_i, dst[i] = src[i] · factors[i] (GaussianDropout). n ≤ 2³².
  virtual void multiply_normal_factors(const CounterRng& step, float stddev, int64_t n, const float* src,
                                       float* factors, float* dst) = 0;

  // ---- Batch normalization (over the last axis of `rows` rows of `channels` values) -------------

  /// Per-channel Σx and Σx² of src, returned in double (the CPU backend sums blocks of 16 rows in
  /// float, shifted by the first row, and the blocks in double).
  virtual void batch_norm_moments(int64_t rows, int64_t channels, const float* src, double* sum,
                                  double* sum_squares) = 0;
  /// dst = tail(a·src + b) with per-channel a and b (the normalization folded into one affine map);
  /// the tail's flat index of (row r, channel c) is r·channels + c. dst may alias src, except with
  /// a pooling tail (tail.pool active): then the rows are rows / (in_h·in_w) images, dst receives
  /// the pooled values and tail.pool.argmax (when not null) their winners.
  virtual void batch_norm_apply(int64_t rows, int64_t channels, const float* src, const float* a,
                                const float* b, const ElementwiseTail& tail, float* dst) = 0;
  /// With g = tail.gradient(grad_dst, a·src + b): per-channel Σg and Σg·(src − mean), returned in
  /// double (the CPU backend sums blocks of 16 rows in float, the blocks in double). With a pooling
  /// tail, grad_dst is ∂loss/∂(pooled values), routed back through the forward pass's winners
  /// (TailMaxPool) before the element-wise steps' gradient.
  virtual void batch_norm_backward_sums(int64_t rows, int64_t channels, const float* src,
                                        const float* grad_dst, const float* a, const float* b,
                                        const double* mean, const ElementwiseTail& tail,
                                        double* sum_grad, double* sum_grad_centered) = 0;
  /// grad_src = p·g + q·src + r per channel, g as in batch_norm_backward_sums.
  virtual void batch_norm_backward_data(int64_t rows, int64_t channels, const float* src,
                                        const float* grad_dst, const float* a, const float* b,
                                        const ElementwiseTail& tail, const float* p, const float* q,
                                        const float* r, float* grad_src) = 0;

  // ---- Softmax crossentropy (categorical and sparse, Keras 3's numerics) --------------------------

  /// per_sample[i] = the mean over sample i's rows of −Σ_j t_j log softmax_j (logits) or
  /// −Σ_j t_j log clip(p_j / Σp) (probabilities), with t the smoothed labels.
  virtual void softmax_crossentropy(const CrossentropyRows& rows, float* per_sample) = 0;
  /// grad = ∂(Σ_i weight_i · per_sample_i · scale)/∂(scores or logits), per `with_respect_to`.
  virtual void softmax_crossentropy_gradient(const CrossentropyRows& rows, CrossentropyGradient with_respect_to,
                                             const LossScale& scale, float* grad) = 0;

  // ---- Element-wise losses (Keras's binary crossentropy and mean squared error) -----------------

  /// per_sample[i] = the mean over sample i's values of −t'·log q − (1 − t')·log(1 − q), with t'
  /// the smoothed target and q the clipped probability; for logits v the same loss in its stable
  /// form max(v, 0) − v·t' + log(1 + e^−|v|).
  virtual void binary_crossentropy(const ElementwiseLossRows& rows, const BinaryCrossentropyForm& form,
                                   float* per_sample) = 0;
  /// grad = ∂(Σ_i weight_i · per_sample_i · scale)/∂predictions; no gradient where the clip of the
  /// probability form clips (as the autodiff of Keras's clip).
  virtual void binary_crossentropy_gradient(const ElementwiseLossRows& rows, const BinaryCrossentropyForm& form,
                                            const LossScale& scale, float* grad) = 0;
  /// per_sample[i] = the mean over sample i's values of (prediction − target)².
  virtual void mean_squared_error(const ElementwiseLossRows& rows, float* per_sample) = 0;
  /// grad = ∂(Σ_i weight_i · per_sample_i · scale)/∂predictions = 2·scale·weight_i·(p − t)/values.
  virtual void mean_squared_error_gradient(const ElementwiseLossRows& rows, const LossScale& scale,
                                           float* grad) = 0;

  // ---- Concatenation (Keras's Concatenate layer) -------------------------------------------------

  /// Row r of dst is row r of each source in turn: blocks[k] values of sources[k] (which holds
  /// rows · blocks[k] values), so dst holds rows · Σ blocks values.
  virtual void concatenate_rows(int64_t rows, const std::vector<const float*>& sources,
                                const std::vector<int64_t>& blocks, float* dst) = 0;
  /// The inverse of concatenate_rows: each non-null parts[k] gets the blocks[k] values of every row
  /// of src that belong to it.
  virtual void split_rows(int64_t rows, const float* src, const std::vector<int64_t>& blocks,
                          const std::vector<float*>& parts) = 0;

  // ---- Optimizer updates (one weight of n values; slots updated in place) ------------------------

  /// SGD: w −= lr·g, or with momentum μ: v = μ·v − lr·g; w += v (Nesterov: w += μ·v − lr·g).
  /// `velocity` is unused (may be null) when momentum is 0.
  virtual void sgd_update(const SgdStep& step, int64_t n, float* w, const float* g, float* velocity) = 0;
  /// Adam: m += (g − m)(1 − β₁); v += (g² − v)(1 − β₂); with AMSGrad (`v_hat` not null)
  /// v̂ = max(v̂, v) replaces v below; w −= α·m / (√v + ε).
  virtual void adam_update(const AdamStep& step, int64_t n, float* w, const float* g, float* m, float* v,
                           float* v_hat) = 0;
  /// RMSprop: v = ρv + (1 − ρ)g²; centered (`average` not null): a = ρa + (1 − ρ)g and the
  /// denominator is v − a² + ε, else v + ε; Δ = lr·g/√denominator; with `momentum_slot` not null:
  /// m = μm + Δ, w −= m, else w −= Δ.
  virtual void rmsprop_update(const RmspropStep& step, int64_t n, float* w, const float* g, float* v,
                              float* momentum_slot, float* average) = 0;
  /// Decoupled weight decay, in float32 as Keras's `variable - variable * wd * lr`:
  /// w = w − w·weight_decay·learning_rate.
  virtual void decay_weights(float weight_decay, float learning_rate, int64_t n, float* w) = 0;

  // ---- Regularizer penalties ---------------------------------------------------------------------

  /// l1·Σ|x| + l2·Σx² (sums in double).
  virtual double l1_l2_penalty(int64_t n, const float* x, double l1, double l2) = 0;
  /// grad += l1_scale·sign(x) + l2_scale·x (sign(0) = 0).
  virtual void add_l1_l2_gradient(int64_t n, const float* x, float l1_scale, float l2_scale, float* grad) = 0;

  // ---- Memory -------------------------------------------------------------------------------------

  /// The allocator of this backend's tensors (the host's for `reference` and `cpu`).
  virtual Allocator& allocator() = 0;
};

/// Which implementation to use.
enum class BackendKind { reference, cpu };

}  // namespace regula::backend
