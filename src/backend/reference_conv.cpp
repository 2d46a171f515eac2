// Reference convolution: direct loops over NHWC, double accumulators, no threads. Slow on purpose:
// it is the oracle that the fast backend is tested against.
#include <algorithm>
#include <vector>

#include "src/backend/reference_backend.hpp"

namespace regula::backend {
namespace {

void exact_conv2d_forward(const Conv2DGeometry& g, const float* src, const float* kernel,
                                      const float* bias, float* dst) {
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow)
        for (int64_t oc = 0; oc < g.out_c; ++oc) {
          double sum = bias != nullptr ? bias[oc] : 0.0;
          for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
            const int64_t ih = oh * g.stride_h - g.pad_top + kh;
            if (ih < 0 || ih >= g.in_h) continue;
            for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
              const int64_t iw = ow * g.stride_w - g.pad_left + kw;
              if (iw < 0 || iw >= g.in_w) continue;
              const float* s = src + ((n * g.in_h + ih) * g.in_w + iw) * g.in_c;
              const float* k = kernel + (kh * g.kernel_w + kw) * g.in_c * g.out_c + oc;
              for (int64_t ic = 0; ic < g.in_c; ++ic) sum += static_cast<double>(s[ic]) * k[ic * g.out_c];
            }
          }
          dst[((n * g.out_h + oh) * g.out_w + ow) * g.out_c + oc] = static_cast<float>(sum);
        }
}

void exact_conv2d_backward_data(const Conv2DGeometry& g, const float* grad_dst, const float* kernel,
                                            float* grad_src) {
  const int64_t src_size = g.batch * g.in_h * g.in_w * g.in_c;
  std::vector<double> acc(static_cast<size_t>(src_size), 0.0);
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow)
        for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
          const int64_t ih = oh * g.stride_h - g.pad_top + kh;
          if (ih < 0 || ih >= g.in_h) continue;
          for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
            const int64_t iw = ow * g.stride_w - g.pad_left + kw;
            if (iw < 0 || iw >= g.in_w) continue;
            const float* gd = grad_dst + ((n * g.out_h + oh) * g.out_w + ow) * g.out_c;
            double* gs = acc.data() + ((n * g.in_h + ih) * g.in_w + iw) * g.in_c;
            for (int64_t ic = 0; ic < g.in_c; ++ic) {
              const float* k = kernel + ((kh * g.kernel_w + kw) * g.in_c + ic) * g.out_c;
              double sum = 0.0;
              for (int64_t oc = 0; oc < g.out_c; ++oc) sum += static_cast<double>(gd[oc]) * k[oc];
              gs[ic] += sum;
            }
          }
        }
  for (int64_t i = 0; i < src_size; ++i) grad_src[i] = static_cast<float>(acc[static_cast<size_t>(i)]);
}

void exact_conv2d_backward_weights(const Conv2DGeometry& g, const float* src, const float* grad_dst,
                                               float* grad_kernel, float* grad_bias) {
  const int64_t kernel_size = g.kernel_h * g.kernel_w * g.in_c * g.out_c;
  std::vector<double> acc(static_cast<size_t>(kernel_size), 0.0);
  std::vector<double> bias_acc(static_cast<size_t>(g.out_c), 0.0);
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const float* gd = grad_dst + ((n * g.out_h + oh) * g.out_w + ow) * g.out_c;
        for (int64_t oc = 0; oc < g.out_c; ++oc) bias_acc[static_cast<size_t>(oc)] += gd[oc];
        for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
          const int64_t ih = oh * g.stride_h - g.pad_top + kh;
          if (ih < 0 || ih >= g.in_h) continue;
          for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
            const int64_t iw = ow * g.stride_w - g.pad_left + kw;
            if (iw < 0 || iw >= g.in_w) continue;
            const float* s = src + ((n * g.in_h + ih) * g.in_w + iw) * g.in_c;
            double* gk = acc.data() + (kh * g.kernel_w + kw) * g.in_c * g.out_c;
            for (int64_t ic = 0; ic < g.in_c; ++ic)
              for (int64_t oc = 0; oc < g.out_c; ++oc) gk[ic * g.out_c + oc] += static_cast<double>(s[ic]) * gd[oc];
          }
        }
      }
  for (int64_t i = 0; i < kernel_size; ++i) grad_kernel[i] = static_cast<float>(acc[static_cast<size_t>(i)]);
  if (grad_bias != nullptr)
    for (int64_t oc = 0; oc < g.out_c; ++oc) grad_bias[oc] = static_cast<float>(bias_acc[static_cast<size_t>(oc)]);
}

/// `x` (n values) rounded to bfloat16 when `compute` asks for it, else as it is.
std::vector<float> as_computed(const float* x, int64_t n, ComputeDtype compute) {
  std::vector<float> copy(x, x + n);
  if (compute == ComputeDtype::bfloat16)
    for (float& v : copy) v = round_to_bfloat16(v);
  return copy;
}

int64_t src_size(const Conv2DGeometry& g) { return g.batch * g.in_h * g.in_w * g.in_c; }
int64_t dst_size(const Conv2DGeometry& g) { return g.batch * g.out_h * g.out_w * g.out_c; }
int64_t kernel_size(const Conv2DGeometry& g) { return g.kernel_h * g.kernel_w * g.in_c * g.out_c; }

}  // namespace

// bfloat16: the products' operands rounded first (the bias and its gradient stay float32).
void ReferenceBackend::conv2d_forward(const Conv2DGeometry& g, const float* src, const float* kernel,
                                      const float* bias, float* dst) {
  exact_conv2d_forward(g, as_computed(src, src_size(g), g.compute).data(),
                       as_computed(kernel, kernel_size(g), g.compute).data(), bias, dst);
}

void ReferenceBackend::conv2d_backward_data(const Conv2DGeometry& g, const float* grad_dst, const float* kernel,
                                            float* grad_src) {
  exact_conv2d_backward_data(g, as_computed(grad_dst, dst_size(g), g.compute).data(),
                             as_computed(kernel, kernel_size(g), g.compute).data(), grad_src);
}

void ReferenceBackend::conv2d_backward_weights(const Conv2DGeometry& g, const float* src, const float* grad_dst,
                                               float* grad_kernel, float* grad_bias) {
  if (g.compute == ComputeDtype::float32) {
    exact_conv2d_backward_weights(g, src, grad_dst, grad_kernel, grad_bias);
    return;
  }
  exact_conv2d_backward_weights(g, as_computed(src, src_size(g), g.compute).data(),
                                as_computed(grad_dst, dst_size(g), g.compute).data(), grad_kernel, nullptr);
  if (grad_bias != nullptr) {
    std::vector<float> unused(static_cast<size_t>(kernel_size(g)));
    exact_conv2d_backward_weights(g, src, grad_dst, unused.data(), grad_bias);
  }
}

}  // namespace regula::backend
