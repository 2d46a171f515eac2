// The reference batch-normalization kernels: one channel at a time, sums in double, the tail applied
// through ElementwiseTail's own forward and gradient; a pooling tail pools the tail's values as
// the reference max pooling does, and routes the pooled gradient back through its winners.

#include <vector>

#include "src/backend/reference_backend.hpp"

namespace regula::backend {
namespace {

// ∂loss/∂(tail output) of input value i: grad_dst itself, or with a pooling tail the pooled
// gradient of i's window where i won (0 + g), else +0.
float tail_output_gradient(const ElementwiseTail& tail, const float* grad_dst, int64_t i, int64_t channels) {
  if (!tail.pool.active) return grad_dst[i];
  const int64_t o = tail.pool.pooled_index(i, channels);
  return tail.pool.argmax[o] == tail.pool.index_in_sample(i, channels) ? 0.0f + grad_dst[o] : 0.0f;
}

}  // namespace

void ReferenceBackend::batch_norm_moments(int64_t rows, int64_t channels, const float* src, double* sum,
                                          double* sum_squares) {
  for (int64_t c = 0; c < channels; ++c) {
    double s = 0.0, s2 = 0.0;
    for (int64_t r = 0; r < rows; ++r) {
      const double v = src[r * channels + c];
      s += v;
      s2 += v * v;
    }
    sum[c] = s;
    sum_squares[c] = s2;
  }
}

void ReferenceBackend::batch_norm_apply(int64_t rows, int64_t channels, const float* src, const float* a,
                                        const float* b, const ElementwiseTail& tail, float* dst) {
  if (!tail.pool.active) {
    for (int64_t i = 0; i < rows * channels; ++i) {
      const int64_t c = i % channels;
      dst[i] = tail.forward(a[c] * src[i] + b[c], static_cast<uint32_t>(i));
    }
    return;
  }
  std::vector<float> values(static_cast<size_t>(rows * channels));
  for (int64_t i = 0; i < rows * channels; ++i)
    values[static_cast<size_t>(i)] = tail.forward(a[i % channels] * src[i] + b[i % channels], static_cast<uint32_t>(i));
  const TailMaxPool& pool = tail.pool;
  Pool2DGeometry g{.batch = rows / (pool.in_h * pool.in_w), .in_h = pool.in_h, .in_w = pool.in_w, .channels = channels,
                   .out_h = pool.out_h(), .out_w = pool.out_w(), .pool_h = pool.pool_h, .pool_w = pool.pool_w,
                   .stride_h = pool.pool_h, .stride_w = pool.pool_w};
  std::vector<int32_t> winners(static_cast<size_t>(g.batch * g.out_h * g.out_w * channels));
  max_pool2d_forward(g, values.data(), dst, pool.argmax != nullptr ? pool.argmax : winners.data());
}

void ReferenceBackend::batch_norm_backward_sums(int64_t rows, int64_t channels, const float* src,
                                                const float* grad_dst, const float* a, const float* b,
                                                const double* mean, const ElementwiseTail& tail, double* sum_grad,
                                                double* sum_grad_centered) {
  for (int64_t c = 0; c < channels; ++c) {
    double s = 0.0, sx = 0.0;
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t i = r * channels + c;
      const float g = tail.gradient(tail_output_gradient(tail, grad_dst, i, channels), a[c] * src[i] + b[c],
                                    static_cast<uint32_t>(i));
      s += g;
      sx += static_cast<double>(g) * (src[i] - mean[c]);
    }
    sum_grad[c] = s;
    sum_grad_centered[c] = sx;
  }
}

void ReferenceBackend::batch_norm_backward_data(int64_t rows, int64_t channels, const float* src,
                                                const float* grad_dst, const float* a, const float* b,
                                                const ElementwiseTail& tail, const float* p, const float* q,
                                                const float* r, float* grad_src) {
  for (int64_t i = 0; i < rows * channels; ++i) {
    const int64_t c = i % channels;
    const float g = tail.gradient(tail_output_gradient(tail, grad_dst, i, channels), a[c] * src[i] + b[c],
                                  static_cast<uint32_t>(i));
    grad_src[i] = p[c] * g + q[c] * src[i] + r[c];
  }
}

}  // namespace regula::backend
