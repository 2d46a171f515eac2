// The reference batch-normalization kernels: one channel at a time, sums in double, the tail applied
// through ElementwiseTail's own forward and gradient.

#include "src/backend/reference_backend.hpp"

namespace regula::backend {

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
  for (int64_t i = 0; i < rows * channels; ++i) {
    const int64_t c = i % channels;
    dst[i] = tail.forward(a[c] * src[i] + b[c], static_cast<uint32_t>(i));
  }
}

void ReferenceBackend::batch_norm_backward_sums(int64_t rows, int64_t channels, const float* src,
                                                const float* grad_dst, const float* a, const float* b,
                                                const double* mean, const ElementwiseTail& tail, double* sum_grad,
                                                double* sum_grad_centered) {
  for (int64_t c = 0; c < channels; ++c) {
    double s = 0.0, sx = 0.0;
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t i = r * channels + c;
      const float g = tail.gradient(grad_dst[i], a[c] * src[i] + b[c], static_cast<uint32_t>(i));
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
    const float g = tail.gradient(grad_dst[i], a[c] * src[i] + b[c], static_cast<uint32_t>(i));
    grad_src[i] = p[c] * g + q[c] * src[i] + r[c];
  }
}

}  // namespace regula::backend
