// The reference element-wise kernels: each activation computed in double from its definition,
// one element at a time.

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "src/backend/reference_backend.hpp"

namespace regula::backend {
namespace {

double activate(ActivationKind kind, double x) {
  switch (kind) {
    case ActivationKind::relu: return x < 0.0 ? 0.0 : x;
    case ActivationKind::sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case ActivationKind::tanh: return std::tanh(x);
    case ActivationKind::elu: return x > 0.0 ? x : std::exp(x) - 1.0;
    case ActivationKind::leaky_relu: return x > 0.0 ? x : static_cast<double>(kLeakyReluSlope) * x;
    case ActivationKind::gelu: return x * 0.5 * std::erfc(-x / std::numbers::sqrt2);
    case ActivationKind::linear:
    case ActivationKind::softmax: break;
  }
  return x;
}

// f'(x), from the input x and the output y.
double derivative(ActivationKind kind, double x, double y) {
  switch (kind) {
    case ActivationKind::relu: return y > 0.0 ? 1.0 : 0.0;
    case ActivationKind::sigmoid: return y * (1.0 - y);
    case ActivationKind::tanh: return 1.0 - y * y;
    case ActivationKind::elu: return x > 0.0 ? 1.0 : std::exp(x);
    case ActivationKind::leaky_relu: return x > 0.0 ? 1.0 : static_cast<double>(kLeakyReluSlope);
    case ActivationKind::gelu:
      return 0.5 * std::erfc(-x / std::numbers::sqrt2) + x * std::exp(-0.5 * x * x) / std::sqrt(2.0 * std::numbers::pi);
    case ActivationKind::linear:
    case ActivationKind::softmax: break;
  }
  return 1.0;
}

}  // namespace

void ReferenceBackend::activation_forward(ActivationKind kind, int64_t rows, int64_t cols, const float* src,
                                          float* dst) {
  if (kind != ActivationKind::softmax) {
    for (int64_t i = 0; i < rows * cols; ++i) dst[i] = static_cast<float>(activate(kind, src[i]));
    return;
  }
  std::vector<double> e(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    double largest = src[r * cols];
    for (int64_t c = 1; c < cols; ++c) largest = std::max(largest, static_cast<double>(src[r * cols + c]));
    double total = 0.0;
    for (int64_t c = 0; c < cols; ++c) total += e[static_cast<size_t>(c)] = std::exp(src[r * cols + c] - largest);
    for (int64_t c = 0; c < cols; ++c) dst[r * cols + c] = static_cast<float>(e[static_cast<size_t>(c)] / total);
  }
}

void ReferenceBackend::activation_backward(ActivationKind kind, int64_t rows, int64_t cols, const float* src,
                                           const float* dst, const float* grad_dst, float* grad_src) {
  if (kind != ActivationKind::softmax) {
    for (int64_t i = 0; i < rows * cols; ++i) {
      const double x = src != nullptr ? src[i] : 0.0;
      grad_src[i] = static_cast<float>(grad_dst[i] * derivative(kind, x, dst[i]));
    }
    return;
  }
  // J = diag(y) − y yᵀ, so (J g)_c = y_c (g_c − Σ_k y_k g_k).
  for (int64_t r = 0; r < rows; ++r) {
    double dot = 0.0;
    for (int64_t k = 0; k < cols; ++k) dot += static_cast<double>(dst[r * cols + k]) * grad_dst[r * cols + k];
    for (int64_t c = 0; c < cols; ++c)
      grad_src[r * cols + c] = static_cast<float>(dst[r * cols + c] * (grad_dst[r * cols + c] - dot));
  }
}

void ReferenceBackend::apply_mask(const ElementMask& mask, int64_t n, const float* src, float* dst) {
  for (int64_t i = 0; i < n; ++i) {
    const bool kept = !mask.active || mask.rng.bits32(static_cast<uint32_t>(i)) >= mask.threshold;
    dst[i] = src[i] * (kept ? mask.keep_scale : 0.0f);
  }
}

void ReferenceBackend::multiply(int64_t n, const float* a, const float* b, float* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = a[i] * b[i];
}

void ReferenceBackend::add(int64_t n, const float* a, const float* b, float* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = a[i] + b[i];
}

void ReferenceBackend::scale_channels(int64_t samples, int64_t positions, int64_t channels, const float* src,
                                      const float* factors, float* dst) {
  for (int64_t s = 0; s < samples; ++s)
    for (int64_t p = 0; p < positions; ++p)
      for (int64_t c = 0; c < channels; ++c) {
        const int64_t i = (s * positions + p) * channels + c;
        dst[i] = src[i] * factors[s * channels + c];
      }
}

void ReferenceBackend::add_normal_noise(const CounterRng& step, float stddev, int64_t n, const float* src,
                                        float* dst) {
  const NormalDraws normal(step);
  for (int64_t i = 0; i < n; ++i)
    dst[i] = static_cast<float>(src[i] + static_cast<double>(stddev) * normal(static_cast<uint32_t>(i)));
}

void ReferenceBackend::multiply_normal_factors(const CounterRng& step, float stddev, int64_t n, const float* src,
                                               float* factors, float* dst) {
  const NormalDraws normal(step);
  for (int64_t i = 0; i < n; ++i) {
    factors[i] = static_cast<float>(1.0 + static_cast<double>(stddev) * normal(static_cast<uint32_t>(i)));
    dst[i] = src[i] * factors[i];
  }
}

}  // namespace regula::backend
