// The reference softmax crossentropy kernels, from the definitions: the smoothed label vector t of
// each row written out, log-softmax or the normalised and clipped probabilities computed in full,
// and the gradient of the probability form as the explicit sum Σ_j ∂l/∂q_j · ∂q_j/∂p_k.

#include <algorithm>
#include <cmath>
#include <vector>

#include "src/backend/reference_backend.hpp"

namespace regula::backend {
namespace {

constexpr double kEpsilon = 1e-7;  // Keras's backend.epsilon()

std::vector<double> smoothed_labels(const CrossentropyRows& rows, int64_t row) {
  std::vector<double> t(static_cast<size_t>(rows.classes));
  for (int64_t j = 0; j < rows.classes; ++j) {
    const double y = rows.labels != nullptr ? (static_cast<int64_t>(rows.labels[row]) == j ? 1.0 : 0.0)
                                            : static_cast<double>(rows.dense_labels[row * rows.classes + j]);
    t[static_cast<size_t>(j)] = (1.0 - rows.label_smoothing) * y + rows.label_smoothing / static_cast<double>(rows.classes);
  }
  return t;
}

std::vector<double> softmax(const float* z, int64_t classes) {
  std::vector<double> p(z, z + classes);
  const double largest = *std::max_element(p.begin(), p.end());
  double total = 0.0;
  for (double& v : p) total += v = std::exp(v - largest);
  for (double& v : p) v /= total;
  return p;
}

double row_loss(const CrossentropyRows& rows, int64_t row) {
  const std::vector<double> t = smoothed_labels(rows, row);
  const float* scores = rows.scores + row * rows.classes;
  double loss = 0.0;
  if (rows.from_logits) {
    const double largest = *std::max_element(scores, scores + rows.classes);
    double total = 0.0;
    for (int64_t j = 0; j < rows.classes; ++j) total += std::exp(scores[j] - largest);
    for (int64_t j = 0; j < rows.classes; ++j)
      loss -= t[static_cast<size_t>(j)] * (scores[j] - largest - std::log(total));
    return loss;
  }
  double total = 0.0;
  for (int64_t j = 0; j < rows.classes; ++j) total += scores[j];
  for (int64_t j = 0; j < rows.classes; ++j)
    if (t[static_cast<size_t>(j)] != 0.0)
      loss -= t[static_cast<size_t>(j)] * std::log(std::clamp(scores[j] / total, kEpsilon, 1.0 - kEpsilon));
  return loss;
}

}  // namespace

void ReferenceBackend::softmax_crossentropy(const CrossentropyRows& rows, float* per_sample) {
  for (int64_t i = 0; i < rows.samples; ++i) {
    double total = 0.0;
    for (int64_t r = 0; r < rows.rows_per_sample; ++r) total += row_loss(rows, i * rows.rows_per_sample + r);
    per_sample[i] = static_cast<float>(total / static_cast<double>(rows.rows_per_sample));
  }
}

void ReferenceBackend::softmax_crossentropy_gradient(const CrossentropyRows& rows,
                                                     CrossentropyGradient with_respect_to, const LossScale& scale,
                                                     float* grad) {
  const int64_t classes = rows.classes;
  for (int64_t row = 0; row < rows.samples * rows.rows_per_sample; ++row) {
    const int64_t sample = row / rows.rows_per_sample;
    const double weight = scale.sample_weight == nullptr ? 1.0 : static_cast<double>(scale.sample_weight[sample]);
    const double c = scale.scale * weight / static_cast<double>(rows.rows_per_sample);
    const std::vector<double> t = smoothed_labels(rows, row);
    double t_sum = 0.0;
    for (double v : t) t_sum += v;
    const float* scores = rows.scores + row * classes;
    float* d = grad + row * classes;
    if (with_respect_to == CrossentropyGradient::logits_of_softmax || rows.from_logits) {
      // ∂/∂z_k of Σt·logsumexp(z) − Σ t_j z_j = softmax(z)_k·Σt − t_k.
      const std::vector<double> p = with_respect_to == CrossentropyGradient::logits_of_softmax
                                        ? std::vector<double>(scores, scores + classes)
                                        : softmax(scores, classes);
      for (int64_t k = 0; k < classes; ++k)
        d[k] = static_cast<float>(c * (p[static_cast<size_t>(k)] * t_sum - t[static_cast<size_t>(k)]));
      continue;
    }
    // l = −Σ_j t_j log clip(q_j), q_j = p_j / s: ∂l/∂q_j = −t_j / q_j where the clip passes it,
    // ∂q_j/∂p_k = (δ_jk − q_j) / s.
    double s = 0.0;
    for (int64_t j = 0; j < classes; ++j) s += scores[j];
    for (int64_t k = 0; k < classes; ++k) {
      double total = 0.0;
      for (int64_t j = 0; j < classes; ++j) {
        const double q = scores[j] / s;
        if (q < kEpsilon || q > 1.0 - kEpsilon) continue;
        total += -t[static_cast<size_t>(j)] / q * ((j == k ? 1.0 : 0.0) - q) / s;
      }
      d[k] = static_cast<float>(c * total);
    }
  }
}

}  // namespace regula::backend
