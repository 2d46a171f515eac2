// The fast softmax crossentropy kernels (Keras 3's numerics, keras/src/losses/losses.py): one pass
// a row, samples split over threads, sums in double (a float sum over 10⁵ classes would lose the
// small terms).

#include <algorithm>
#include <cmath>

#include "src/backend/cpu_backend.hpp"

namespace regula::backend {
namespace {

// Keras's backend.epsilon().
constexpr double kEpsilon = 1e-7;
// Below this many scores the OpenMP team costs more than it saves.
constexpr int64_t kParallelElements = 1 << 15;

// The smoothed labels of one row: t_j = keep · y_j + add (y one-hot for a class index).
struct RowTarget {
  const float* dense;  // null for a class index
  int64_t label;
  double keep;
  double add;
  double sum;  // Σ_j t_j
  double at(int64_t j) const {
    const double y = dense != nullptr ? static_cast<double>(dense[j]) : (j == label ? 1.0 : 0.0);
    return keep * y + add;
  }
};

RowTarget target(const CrossentropyRows& rows, int64_t row) {
  const double s = rows.label_smoothing;
  RowTarget t{nullptr, 0, 1.0 - s, s / static_cast<double>(rows.classes), 0.0};
  if (rows.labels != nullptr) {
    t.label = static_cast<int64_t>(rows.labels[row]);
    t.sum = t.keep + s;
  } else {
    t.dense = rows.dense_labels + row * rows.classes;
    double y_sum = 0.0;
    for (int64_t j = 0; j < rows.classes; ++j) y_sum += t.dense[j];
    t.sum = t.keep * y_sum + s;
  }
  return t;
}

// −Σ t_j log clip(p_j / Σp): Keras normalises the row before clipping.
double row_loss_probabilities(const float* p, const RowTarget& t, int64_t classes) {
  double s = 0.0;
  for (int64_t j = 0; j < classes; ++j) s += p[j];
  double loss = 0.0;
  for (int64_t j = 0; j < classes; ++j) {
    const double tj = t.at(j);
    if (tj == 0.0) continue;  // 0 · log(q) is 0 even for a NaN-free but tiny q
    const double q = std::clamp(static_cast<double>(p[j]) / s, kEpsilon, 1.0 - kEpsilon);
    loss -= tj * std::log(q);
  }
  return loss;
}

// −Σ t_j log_softmax(z)_j = Σt · (m + lse) − Σ t_j z_j, with m the row maximum.
double row_loss_logits(const float* z, const RowTarget& t, int64_t classes) {
  const double m = *std::max_element(z, z + classes);
  double e = 0.0;
  for (int64_t j = 0; j < classes; ++j) e += std::exp(static_cast<double>(z[j]) - m);
  const double lse = std::log(e);
  double tz = 0.0;
  for (int64_t j = 0; j < classes; ++j) tz += t.at(j) * static_cast<double>(z[j]);
  return t.sum * (m + lse) - tz;
}

// ∂/∂p_k of −Σ t_j log clip(q_j), q = p / s: with a_j = −t_j / q_j where the clip passes the
// gradient (0 where it clips), ∂l/∂p_k = (a_k − Σ_j a_j q_j) / s.
void row_grad_probabilities(const float* p, const RowTarget& t, int64_t classes, double c, float* d) {
  double s = 0.0;
  for (int64_t j = 0; j < classes; ++j) s += p[j];
  double dot = 0.0;  // Σ_j a_j q_j = −Σ_{unclipped j} t_j
  for (int64_t j = 0; j < classes; ++j) {
    const double q = static_cast<double>(p[j]) / s;
    if (q >= kEpsilon && q <= 1.0 - kEpsilon) dot -= t.at(j);
  }
  for (int64_t k = 0; k < classes; ++k) {
    const double q = static_cast<double>(p[k]) / s;
    const double a = (q >= kEpsilon && q <= 1.0 - kEpsilon) ? -t.at(k) / q : 0.0;
    d[k] = static_cast<float>(c * (a - dot) / s);
  }
}

// ∂l/∂z_k = softmax(z)_k · Σt − t_k (= p − t for labels that sum to 1). For the fused case the
// row already holds softmax(z); the clip of the unfused loss is ignored there, which changes
// the gradient only where a probability is below 1e-7 or above 1 − 1e-7.
void row_grad_softmax(const float* row, bool row_is_logits, const RowTarget& t, int64_t classes, double c, float* d) {
  if (row_is_logits) {
    const double m = *std::max_element(row, row + classes);
    double e = 0.0;
    for (int64_t j = 0; j < classes; ++j) e += std::exp(static_cast<double>(row[j]) - m);
    for (int64_t k = 0; k < classes; ++k) {
      const double pk = std::exp(static_cast<double>(row[k]) - m) / e;
      d[k] = static_cast<float>(c * (pk * t.sum - t.at(k)));
    }
  } else {
    for (int64_t k = 0; k < classes; ++k) d[k] = static_cast<float>(c * (row[k] * t.sum - t.at(k)));
  }
}

}  // namespace

void CpuBackend::softmax_crossentropy(const CrossentropyRows& rows, float* per_sample) {
  const int64_t per = rows.rows_per_sample;
  const int64_t classes = rows.classes;
#pragma omp parallel for schedule(static) if (rows.samples * per * classes > kParallelElements)
  for (int64_t i = 0; i < rows.samples; ++i) {
    double total = 0.0;
    for (int64_t r = i * per; r < (i + 1) * per; ++r) {
      const RowTarget t = target(rows, r);
      const float* row = rows.scores + r * classes;
      total += rows.from_logits ? row_loss_logits(row, t, classes) : row_loss_probabilities(row, t, classes);
    }
    per_sample[i] = static_cast<float>(total / static_cast<double>(per));
  }
}

void CpuBackend::softmax_crossentropy_gradient(const CrossentropyRows& rows, CrossentropyGradient with_respect_to,
                                               const LossScale& scale, float* grad) {
  const int64_t per = rows.rows_per_sample;
  const int64_t classes = rows.classes;
  const bool softmax_of_logits = with_respect_to == CrossentropyGradient::logits_of_softmax;
#pragma omp parallel for schedule(static) if (rows.samples * per * classes > kParallelElements)
  for (int64_t i = 0; i < rows.samples; ++i) {
    const double weight = scale.sample_weight == nullptr ? 1.0 : static_cast<double>(scale.sample_weight[i]);
    const double c = scale.scale * weight / static_cast<double>(per);
    for (int64_t r = i * per; r < (i + 1) * per; ++r) {
      const RowTarget t = target(rows, r);
      const float* row = rows.scores + r * classes;
      float* drow = grad + r * classes;
      if (softmax_of_logits)
        row_grad_softmax(row, /*row_is_logits=*/false, t, classes, c, drow);
      else if (rows.from_logits)
        row_grad_softmax(row, /*row_is_logits=*/true, t, classes, c, drow);
      else
        row_grad_probabilities(row, t, classes, c, drow);
    }
  }
}

}  // namespace regula::backend
