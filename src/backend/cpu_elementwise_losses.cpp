// The fast CPU backend's element-wise loss kernels (binary crossentropy, mean squared error):
// one sample a loop iteration, spread over threads above kParallelElements values.

#include <algorithm>
#include <cmath>

#include "src/backend/cpu_backend.hpp"

namespace regula::backend {
namespace {

constexpr double kEpsilon = 1e-7;  // Keras's backend.epsilon()
constexpr int64_t kParallelElements = 1 << 15;

double weight_of(const LossScale& scale, int64_t i) {
  return scale.sample_weight == nullptr ? 1.0 : static_cast<double>(scale.sample_weight[i]);
}

}  // namespace

void CpuBackend::binary_crossentropy(const ElementwiseLossRows& rows, const BinaryCrossentropyForm& form,
                                     float* per_sample) {
  const int64_t m = rows.values_per_sample;
  const float* y = rows.targets;
  const float* p = rows.predictions;
  const double keep = 1.0 - form.label_smoothing, add = 0.5 * form.label_smoothing;
  const bool logits = form.from_logits;
#pragma omp parallel for schedule(static) if (rows.samples * m > kParallelElements)
  for (int64_t i = 0; i < rows.samples; ++i) {
    double total = 0.0;
    for (int64_t k = i * m; k < (i + 1) * m; ++k) {
      const double t = keep * y[k] + add;
      const double v = p[k];
      if (logits) {
        total += std::max(v, 0.0) - v * t + std::log1p(std::exp(-std::fabs(v)));
      } else {
        const double q = std::clamp(v, kEpsilon, 1.0 - kEpsilon);
        total -= t * std::log(q) + (1.0 - t) * std::log(1.0 - q);
      }
    }
    per_sample[i] = static_cast<float>(total / static_cast<double>(m));
  }
}

void CpuBackend::binary_crossentropy_gradient(const ElementwiseLossRows& rows, const BinaryCrossentropyForm& form,
                                              const LossScale& scale, float* grad) {
  const int64_t m = rows.values_per_sample;
  const float* y = rows.targets;
  const float* p = rows.predictions;
  const double keep = 1.0 - form.label_smoothing, add = 0.5 * form.label_smoothing;
  const bool logits = form.from_logits;
#pragma omp parallel for schedule(static) if (rows.samples * m > kParallelElements)
  for (int64_t i = 0; i < rows.samples; ++i) {
    const double c = scale.scale * weight_of(scale, i) / static_cast<double>(m);
    for (int64_t k = i * m; k < (i + 1) * m; ++k) {
      const double t = keep * y[k] + add;
      const double v = p[k];
      double g;
      if (logits) {
        g = 1.0 / (1.0 + std::exp(-v)) - t;
      } else {
        g = (v >= kEpsilon && v <= 1.0 - kEpsilon) ? (v - t) / (v * (1.0 - v)) : 0.0;
      }
      grad[k] = static_cast<float>(c * g);
    }
  }
}

void CpuBackend::mean_squared_error(const ElementwiseLossRows& rows, float* per_sample) {
  const int64_t m = rows.values_per_sample;
  const float* y = rows.targets;
  const float* p = rows.predictions;
#pragma omp parallel for schedule(static) if (rows.samples * m > kParallelElements)
  for (int64_t i = 0; i < rows.samples; ++i) {
    double total = 0.0;
    for (int64_t k = i * m; k < (i + 1) * m; ++k) {
      const double e = static_cast<double>(p[k]) - y[k];
      total += e * e;
    }
    per_sample[i] = static_cast<float>(total / static_cast<double>(m));
  }
}

void CpuBackend::mean_squared_error_gradient(const ElementwiseLossRows& rows, const LossScale& scale, float* grad) {
  const int64_t m = rows.values_per_sample;
  const float* y = rows.targets;
  const float* p = rows.predictions;
#pragma omp parallel for schedule(static) if (rows.samples * m > kParallelElements)
  for (int64_t i = 0; i < rows.samples; ++i) {
    const float c = static_cast<float>(2.0 * scale.scale * weight_of(scale, i) / static_cast<double>(m));
    for (int64_t k = i * m; k < (i + 1) * m; ++k) grad[k] = c * (p[k] - y[k]);
  }
}

}  // namespace regula::backend
