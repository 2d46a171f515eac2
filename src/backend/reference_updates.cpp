// The reference optimizer updates and regularizer penalties: one element at a time, in double from
// the update rules as Keras writes them (keras/src/optimizers/*.py), rounded to float32 once a value.

#include <algorithm>
#include <cmath>

#include "src/backend/reference_backend.hpp"

namespace regula::backend {

void ReferenceBackend::sgd_update(const SgdStep& step, int64_t n, float* w, const float* g, float* velocity) {
  const double lr = step.learning_rate, mu = step.momentum;
  for (int64_t i = 0; i < n; ++i) {
    if (mu == 0.0) {
      w[i] = static_cast<float>(w[i] - lr * g[i]);
      continue;
    }
    const double v = mu * velocity[i] - lr * g[i];
    velocity[i] = static_cast<float>(v);
    w[i] = static_cast<float>(step.nesterov ? w[i] + mu * v - lr * g[i] : w[i] + v);
  }
}

void ReferenceBackend::adam_update(const AdamStep& step, int64_t n, float* w, const float* g, float* m, float* v,
                                   float* v_hat) {
  for (int64_t i = 0; i < n; ++i) {
    const double mi = m[i] + (g[i] - static_cast<double>(m[i])) * step.one_minus_beta_1;
    const double vi = v[i] + (static_cast<double>(g[i]) * g[i] - v[i]) * step.one_minus_beta_2;
    m[i] = static_cast<float>(mi);
    v[i] = static_cast<float>(vi);
    double denominator_v = vi;
    if (v_hat != nullptr) {
      v_hat[i] = std::max(v_hat[i], v[i]);
      denominator_v = v_hat[i];
    }
    w[i] = static_cast<float>(w[i] - mi * step.alpha / (std::sqrt(denominator_v) + step.epsilon));
  }
}

void ReferenceBackend::rmsprop_update(const RmspropStep& step, int64_t n, float* w, const float* g, float* v,
                                      float* momentum_slot, float* average) {
  for (int64_t i = 0; i < n; ++i) {
    const double gi = g[i];
    const double vi = step.rho * static_cast<double>(v[i]) + step.one_minus_rho * gi * gi;
    v[i] = static_cast<float>(vi);
    double denominator = vi + step.epsilon;
    if (average != nullptr) {
      const double ai = step.rho * static_cast<double>(average[i]) + step.one_minus_rho * gi;
      average[i] = static_cast<float>(ai);
      denominator = vi - ai * ai + step.epsilon;
    }
    const double increment = step.learning_rate * gi / std::sqrt(denominator);
    if (momentum_slot != nullptr) {
      const double mi = step.momentum * static_cast<double>(momentum_slot[i]) + increment;
      momentum_slot[i] = static_cast<float>(mi);
      w[i] = static_cast<float>(w[i] - mi);
    } else {
      w[i] = static_cast<float>(w[i] - increment);
    }
  }
}

void ReferenceBackend::decay_weights(float weight_decay, float learning_rate, int64_t n, float* w) {
  for (int64_t i = 0; i < n; ++i) w[i] = static_cast<float>(w[i] * (1.0 - static_cast<double>(weight_decay) * learning_rate));
}

double ReferenceBackend::l1_l2_penalty(int64_t n, const float* x, double l1, double l2) {
  double penalty = 0.0;
  for (int64_t i = 0; i < n; ++i) penalty += l1 * std::fabs(x[i]) + l2 * static_cast<double>(x[i]) * x[i];
  return penalty;
}

void ReferenceBackend::add_l1_l2_gradient(int64_t n, const float* x, float l1_scale, float l2_scale, float* grad) {
  for (int64_t i = 0; i < n; ++i) {
    const double sign = x[i] > 0.0f ? 1.0 : (x[i] < 0.0f ? -1.0 : 0.0);
    grad[i] = static_cast<float>(grad[i] + l1_scale * sign + static_cast<double>(l2_scale) * x[i]);
  }
}

}  // namespace regula::backend
