// The fast optimizer updates and regularizer penalties: one vectorized pass over a weight, split
// over threads above kParallelElements values (elementwise loops over small tensors are not worth
// an OpenMP team).

#include <algorithm>
#include <cmath>

#include "src/backend/cpu_backend.hpp"

namespace regula::backend {
namespace {

constexpr int64_t kParallelElements = 1 << 16;

}  // namespace

void CpuBackend::sgd_update(const SgdStep& step, int64_t n, float* w, const float* g, float* v) {
  const float lr = step.learning_rate;
  const float mu = step.momentum;
  if (mu == 0.0f) {
#pragma omp parallel for simd if (n > kParallelElements)
    for (int64_t i = 0; i < n; ++i) w[i] -= lr * g[i];
  } else if (step.nesterov) {
#pragma omp parallel for simd if (n > kParallelElements)
    for (int64_t i = 0; i < n; ++i) {
      v[i] = mu * v[i] - lr * g[i];
      w[i] += mu * v[i] - lr * g[i];
    }
  } else {
#pragma omp parallel for simd if (n > kParallelElements)
    for (int64_t i = 0; i < n; ++i) {
      v[i] = mu * v[i] - lr * g[i];
      w[i] += v[i];
    }
  }
}

void CpuBackend::adam_update(const AdamStep& step, int64_t n, float* w, const float* g, float* m, float* v,
                             float* v_hat) {
  const float alpha = step.alpha;
  const float one_minus_b1 = step.one_minus_beta_1;
  const float one_minus_b2 = step.one_minus_beta_2;
  const float eps = step.epsilon;
  if (v_hat != nullptr) {
#pragma omp parallel for simd if (n > kParallelElements)
    for (int64_t i = 0; i < n; ++i) {
      m[i] += (g[i] - m[i]) * one_minus_b1;
      v[i] += (g[i] * g[i] - v[i]) * one_minus_b2;
      v_hat[i] = std::max(v_hat[i], v[i]);
      w[i] -= m[i] * alpha / (std::sqrt(v_hat[i]) + eps);
    }
  } else {
#pragma omp parallel for simd if (n > kParallelElements)
    for (int64_t i = 0; i < n; ++i) {
      m[i] += (g[i] - m[i]) * one_minus_b1;
      v[i] += (g[i] * g[i] - v[i]) * one_minus_b2;
      w[i] -= m[i] * alpha / (std::sqrt(v[i]) + eps);
    }
  }
}

void CpuBackend::rmsprop_update(const RmspropStep& step, int64_t n, float* w, const float* g, float* v, float* mom,
                                float* avg) {
  const float lr = step.learning_rate;
  const float rho = step.rho;
  const float one_minus_rho = step.one_minus_rho;
  const float mu = step.momentum;
  const float eps = step.epsilon;
#pragma omp parallel for simd if (n > kParallelElements)
  for (int64_t i = 0; i < n; ++i) {
    v[i] = rho * v[i] + one_minus_rho * g[i] * g[i];
    float denominator;
    if (avg != nullptr) {
      avg[i] = rho * avg[i] + one_minus_rho * g[i];
      denominator = v[i] - avg[i] * avg[i] + eps;
    } else {
      denominator = v[i] + eps;
    }
    const float increment = lr * g[i] / std::sqrt(denominator);
    if (mom != nullptr) {
      mom[i] = mu * mom[i] + increment;
      w[i] -= mom[i];
    } else {
      w[i] -= increment;
    }
  }
}

void CpuBackend::decay_weights(float weight_decay, float learning_rate, int64_t n, float* w) {
#pragma omp parallel for simd if (n > kParallelElements)
  for (int64_t i = 0; i < n; ++i) w[i] = w[i] - w[i] * weight_decay * learning_rate;
}

// Serial, in index order: the penalty enters the loss, whose bits must not depend on the thread count.
double CpuBackend::l1_l2_penalty(int64_t n, const float* x, double l1, double l2) {
  double abs_sum = 0.0, square_sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    abs_sum += std::fabs(x[i]);
    square_sum += static_cast<double>(x[i]) * x[i];
  }
  return l1 * abs_sum + l2 * square_sum;
}

void CpuBackend::add_l1_l2_gradient(int64_t n, const float* x, float l1_scale, float l2_scale, float* grad) {
#pragma omp parallel for simd if (n > kParallelElements)
  for (int64_t i = 0; i < n; ++i) {
    const float sign = static_cast<float>((x[i] > 0.0f) - (x[i] < 0.0f));
    grad[i] += l1_scale * sign + l2_scale * x[i];
  }
}

}  // namespace regula::backend
