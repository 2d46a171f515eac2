// The reference element-wise loss kernels, from the definitions: the binary crossentropy of the
// sigmoid (logits) or of the clipped probability written out term by term, its derivative as
// −t'/q + (1 − t')/(1 − q) (times σ'(v) = σ(1 − σ) for logits), and the squared error in double.

#include <algorithm>
#include <cmath>

#include "src/backend/reference_backend.hpp"

namespace regula::backend {
namespace {

constexpr double kEpsilon = 1e-7;  // Keras's backend.epsilon()

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

double smoothed(const BinaryCrossentropyForm& form, float target) {
  return (1.0 - form.label_smoothing) * target + form.label_smoothing / 2.0;
}

double weight_of(const LossScale& scale, int64_t i) {
  return scale.sample_weight == nullptr ? 1.0 : static_cast<double>(scale.sample_weight[i]);
}

}  // namespace

void ReferenceBackend::binary_crossentropy(const ElementwiseLossRows& rows, const BinaryCrossentropyForm& form,
                                           float* per_sample) {
  for (int64_t i = 0; i < rows.samples; ++i) {
    double total = 0.0;
    for (int64_t j = 0; j < rows.values_per_sample; ++j) {
      const int64_t k = i * rows.values_per_sample + j;
      const double t = smoothed(form, rows.targets[k]);
      const double q = form.from_logits ? sigmoid(rows.predictions[k])
                                        : std::clamp(static_cast<double>(rows.predictions[k]), kEpsilon, 1.0 - kEpsilon);
      total += -t * std::log(q) - (1.0 - t) * std::log(1.0 - q);
    }
    per_sample[i] = static_cast<float>(total / static_cast<double>(rows.values_per_sample));
  }
}

void ReferenceBackend::binary_crossentropy_gradient(const ElementwiseLossRows& rows, const BinaryCrossentropyForm& form,
                                                    const LossScale& scale, float* grad) {
  for (int64_t i = 0; i < rows.samples; ++i) {
    const double factor = scale.scale * weight_of(scale, i) / static_cast<double>(rows.values_per_sample);
    for (int64_t j = 0; j < rows.values_per_sample; ++j) {
      const int64_t k = i * rows.values_per_sample + j;
      const double t = smoothed(form, rows.targets[k]);
      const double v = rows.predictions[k];
      double d_loss;
      if (form.from_logits) {
        const double q = sigmoid(v);
        d_loss = (-t / q + (1.0 - t) / (1.0 - q)) * q * (1.0 - q);
      } else {
        const bool clipped = v < kEpsilon || v > 1.0 - kEpsilon;
        d_loss = clipped ? 0.0 : -t / v + (1.0 - t) / (1.0 - v);
      }
      grad[k] = static_cast<float>(factor * d_loss);
    }
  }
}

void ReferenceBackend::mean_squared_error(const ElementwiseLossRows& rows, float* per_sample) {
  for (int64_t i = 0; i < rows.samples; ++i) {
    double total = 0.0;
    for (int64_t j = 0; j < rows.values_per_sample; ++j) {
      const int64_t k = i * rows.values_per_sample + j;
      const double error = static_cast<double>(rows.predictions[k]) - static_cast<double>(rows.targets[k]);
      total += error * error;
    }
    per_sample[i] = static_cast<float>(total / static_cast<double>(rows.values_per_sample));
  }
}

void ReferenceBackend::mean_squared_error_gradient(const ElementwiseLossRows& rows, const LossScale& scale,
                                                   float* grad) {
  for (int64_t i = 0; i < rows.samples; ++i)
    for (int64_t j = 0; j < rows.values_per_sample; ++j) {
      const int64_t k = i * rows.values_per_sample + j;
      const double error = static_cast<double>(rows.predictions[k]) - static_cast<double>(rows.targets[k]);
      grad[k] = static_cast<float>(2.0 * scale.scale * weight_of(scale, i) * error /
                                   static_cast<double>(rows.values_per_sample));
    }
}

}  // namespace regula::backend
