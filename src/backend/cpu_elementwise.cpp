// The fast element-wise kernels: activations, dropout masks, sums and products, normal noise. Vectorizable loops, split
// over threads above kParallelElements values (below it a parallel region costs more than it saves).

#include <algorithm>
#include <cmath>
#include <numbers>

#include "src/backend/cpu_backend.hpp"

namespace regula::backend {
namespace {

constexpr int64_t kParallelElements = 32768;
constexpr int64_t kParallelRows = 256;

void softmax_rows(int64_t rows, int64_t cols, const float* x, float* y) {
#pragma omp parallel for if (rows > kParallelRows)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const float m = *std::max_element(xr, xr + cols);
    double sum = 0.0;
    for (int64_t c = 0; c < cols; ++c) {
      yr[c] = std::exp(xr[c] - m);
      sum += yr[c];
    }
    const auto inv = static_cast<float>(1.0 / sum);
    for (int64_t c = 0; c < cols; ++c) yr[c] *= inv;
  }
}

void softmax_rows_backward(int64_t rows, int64_t cols, const float* y, const float* gy, float* gx) {
#pragma omp parallel for if (rows > kParallelRows)
  for (int64_t r = 0; r < rows; ++r) {
    const float* yr = y + r * cols;
    const float* gyr = gy + r * cols;
    float* gxr = gx + r * cols;
    double dot = 0.0;
    for (int64_t c = 0; c < cols; ++c) dot += static_cast<double>(yr[c]) * gyr[c];
    for (int64_t c = 0; c < cols; ++c) gxr[c] = yr[c] * (gyr[c] - static_cast<float>(dot));
  }
}

}  // namespace

void CpuBackend::activation_forward(ActivationKind kind, int64_t rows, int64_t cols, const float* x, float* y) {
  const int64_t n = rows * cols;
  switch (kind) {
    case ActivationKind::linear:
      if (x != y) std::copy(x, x + n, y);
      break;
    case ActivationKind::relu:
#pragma omp parallel for simd if (n > kParallelElements)
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i];  // a select (NaN passes, as in Keras): vectorizes, std::max did not
      break;
    case ActivationKind::sigmoid:
#pragma omp parallel for if (n > kParallelElements)
      for (int64_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
      break;
    case ActivationKind::tanh:
#pragma omp parallel for if (n > kParallelElements)
      for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
      break;
    case ActivationKind::elu:
#pragma omp parallel for if (n > kParallelElements)
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : std::expm1(x[i]);
      break;
    case ActivationKind::leaky_relu:
#pragma omp parallel for simd if (n > kParallelElements)
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : kLeakyReluSlope * x[i];
      break;
    case ActivationKind::gelu:
#pragma omp parallel for if (n > kParallelElements)
      for (int64_t i = 0; i < n; ++i) y[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * std::numbers::sqrt2_v<float> / 2.0f));
      break;
    case ActivationKind::softmax:
      softmax_rows(rows, cols, x, y);
      break;
  }
}

void CpuBackend::activation_backward(ActivationKind kind, int64_t rows, int64_t cols, const float* x, const float* y,
                                     const float* gy, float* gx) {
  const int64_t n = rows * cols;
  switch (kind) {
    case ActivationKind::linear:
      if (gx != gy) std::copy(gy, gy + n, gx);
      break;
    case ActivationKind::relu:
#pragma omp parallel for simd if (n > kParallelElements)
      for (int64_t i = 0; i < n; ++i) gx[i] = y[i] > 0.0f ? gy[i] : 0.0f;
      break;
    case ActivationKind::sigmoid:
#pragma omp parallel for simd if (n > kParallelElements)
      for (int64_t i = 0; i < n; ++i) gx[i] = gy[i] * y[i] * (1.0f - y[i]);
      break;
    case ActivationKind::tanh:
#pragma omp parallel for simd if (n > kParallelElements)
      for (int64_t i = 0; i < n; ++i) gx[i] = gy[i] * (1.0f - y[i] * y[i]);
      break;
    case ActivationKind::elu:
#pragma omp parallel for simd if (n > kParallelElements)
      for (int64_t i = 0; i < n; ++i) gx[i] = x[i] > 0.0f ? gy[i] : gy[i] * (y[i] + 1.0f);
      break;
    case ActivationKind::leaky_relu:
#pragma omp parallel for simd if (n > kParallelElements)
      for (int64_t i = 0; i < n; ++i) gx[i] = x[i] > 0.0f ? gy[i] : kLeakyReluSlope * gy[i];
      break;
    case ActivationKind::gelu: {
      const float inv_sqrt2pi = 0.5f * std::numbers::inv_sqrtpi_v<float> * std::numbers::sqrt2_v<float>;
#pragma omp parallel for if (n > kParallelElements)
      for (int64_t i = 0; i < n; ++i) {
        const float cdf = 0.5f * (1.0f + std::erf(x[i] * std::numbers::sqrt2_v<float> / 2.0f));
        const float pdf = inv_sqrt2pi * std::exp(-0.5f * x[i] * x[i]);
        gx[i] = gy[i] * (cdf + x[i] * pdf);
      }
      break;
    }
    case ActivationKind::softmax:
      softmax_rows_backward(rows, cols, y, gy, gx);
      break;
  }
}

// One 32-bit draw per element (a vectorizable hash of its index).
void CpuBackend::apply_mask(const ElementMask& mask_in, int64_t n, const float* src, float* dst) {
  const ElementMask mask = mask_in;  // a local copy: its fields cannot alias dst, so the loop vectorizes
#pragma omp parallel for simd schedule(static) if (n > kParallelElements)
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i] * mask.factor(static_cast<uint32_t>(i));
}

void CpuBackend::multiply(int64_t n, const float* a, const float* b, float* dst) {
#pragma omp parallel for simd schedule(static) if (n > kParallelElements)
  for (int64_t i = 0; i < n; ++i) dst[i] = a[i] * b[i];
}

void CpuBackend::add(int64_t n, const float* a, const float* b, float* dst) {
#pragma omp parallel for simd schedule(static) if (n > kParallelElements)
  for (int64_t i = 0; i < n; ++i) dst[i] = a[i] + b[i];
}

void CpuBackend::scale_channels(int64_t samples, int64_t positions, int64_t channels, const float* src,
                                const float* factors, float* dst) {
  const int64_t pixels = samples * positions;
#pragma omp parallel for schedule(static) if (pixels * channels > kParallelElements)
  for (int64_t p = 0; p < pixels; ++p) {
    const float* m = factors + (p / positions) * channels;
    const float* s = src + p * channels;
    float* d = dst + p * channels;
#pragma omp simd
    for (int64_t c = 0; c < channels; ++c) d[c] = s[c] * m[c];
  }
}

void CpuBackend::add_normal_noise(const CounterRng& step, float stddev, int64_t n, const float* src, float* dst) {
  const NormalDraws normal(step);
#pragma omp parallel for simd schedule(static) if (n > kParallelElements)
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i] + stddev * normal(static_cast<uint32_t>(i));
}

void CpuBackend::multiply_normal_factors(const CounterRng& step, float stddev, int64_t n, const float* src,
                                         float* factors, float* dst) {
  const NormalDraws normal(step);
#pragma omp parallel for simd schedule(static) if (n > kParallelElements)
  for (int64_t i = 0; i < n; ++i) {
    const float f = 1.0f + stddev * normal(static_cast<uint32_t>(i));
    factors[i] = f;
    dst[i] = src[i] * f;
  }
}

}  // namespace regula::backend
