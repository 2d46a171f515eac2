// Reference pooling: direct loops over NHWC, no threads. The oracle for the fast backend.
#include <algorithm>
#include <limits>

#include "src/backend/reference_backend.hpp"

namespace regula::backend {

void ReferenceBackend::max_pool2d_forward(const Pool2DGeometry& g, const float* src, float* dst, int32_t* argmax) {
  const int64_t c_count = g.channels;
  for (int64_t n = 0; n < g.batch; ++n) {
    const float* s = src + n * g.in_h * g.in_w * c_count;
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow)
        for (int64_t c = 0; c < c_count; ++c) {
          float best = -std::numeric_limits<float>::infinity();
          int64_t best_index = -1;
          for (int64_t ph = 0; ph < g.pool_h; ++ph) {
            const int64_t ih = oh * g.stride_h - g.pad_top + ph;
            if (ih < 0 || ih >= g.in_h) continue;
            for (int64_t pw = 0; pw < g.pool_w; ++pw) {
              const int64_t iw = ow * g.stride_w - g.pad_left + pw;
              if (iw < 0 || iw >= g.in_w) continue;
              const int64_t index = (ih * g.in_w + iw) * c_count + c;
              // Strict '>' keeps the first maximum in window order, the tie rule the CPU backend follows.
              if (best_index < 0 || s[index] > best) {
                best = s[index];
                best_index = index;
              }
            }
          }
          const int64_t o = ((n * g.out_h + oh) * g.out_w + ow) * c_count + c;
          dst[o] = best_index < 0 ? 0.0f : best;  // an all-padding window (never with Keras geometry)
          if (argmax != nullptr) argmax[o] = static_cast<int32_t>(best_index);
        }
  }
}

void ReferenceBackend::max_pool2d_backward(const Pool2DGeometry& g, const float* grad_dst, const int32_t* argmax,
                                           float* grad_src) {
  const int64_t in_sample = g.in_h * g.in_w * g.channels;
  const int64_t out_sample = g.out_h * g.out_w * g.channels;
  std::fill(grad_src, grad_src + g.batch * in_sample, 0.0f);
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t o = 0; o < out_sample; ++o) {
      const int32_t index = argmax[n * out_sample + o];
      if (index >= 0) grad_src[n * in_sample + index] += grad_dst[n * out_sample + o];
    }
}

void ReferenceBackend::avg_pool2d_forward(const Pool2DGeometry& g, const float* src, float* dst) {
  const int64_t c_count = g.channels;
  for (int64_t n = 0; n < g.batch; ++n) {
    const float* s = src + n * g.in_h * g.in_w * c_count;
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow)
        for (int64_t c = 0; c < c_count; ++c) {
          double sum = 0.0;
          int64_t count = 0;
          for (int64_t ph = 0; ph < g.pool_h; ++ph) {
            const int64_t ih = oh * g.stride_h - g.pad_top + ph;
            if (ih < 0 || ih >= g.in_h) continue;
            for (int64_t pw = 0; pw < g.pool_w; ++pw) {
              const int64_t iw = ow * g.stride_w - g.pad_left + pw;
              if (iw < 0 || iw >= g.in_w) continue;
              sum += s[(ih * g.in_w + iw) * c_count + c];
              ++count;
            }
          }
          dst[((n * g.out_h + oh) * g.out_w + ow) * c_count + c] =
              count > 0 ? static_cast<float>(sum / static_cast<double>(count)) : 0.0f;
        }
  }
}

void ReferenceBackend::avg_pool2d_backward(const Pool2DGeometry& g, const float* grad_dst, float* grad_src) {
  const int64_t c_count = g.channels;
  std::fill(grad_src, grad_src + g.batch * g.in_h * g.in_w * c_count, 0.0f);
  for (int64_t n = 0; n < g.batch; ++n) {
    float* gs = grad_src + n * g.in_h * g.in_w * c_count;
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const int64_t h0 = std::max<int64_t>(oh * g.stride_h - g.pad_top, 0);
        const int64_t h1 = std::min<int64_t>(oh * g.stride_h - g.pad_top + g.pool_h, g.in_h);
        const int64_t w0 = std::max<int64_t>(ow * g.stride_w - g.pad_left, 0);
        const int64_t w1 = std::min<int64_t>(ow * g.stride_w - g.pad_left + g.pool_w, g.in_w);
        const int64_t count = std::max<int64_t>((h1 - h0) * (w1 - w0), 0);
        if (count == 0) continue;
        for (int64_t c = 0; c < c_count; ++c) {
          const float share = grad_dst[((n * g.out_h + oh) * g.out_w + ow) * c_count + c] / static_cast<float>(count);
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw) gs[(ih * g.in_w + iw) * c_count + c] += share;
        }
      }
  }
}

}  // namespace regula::backend
