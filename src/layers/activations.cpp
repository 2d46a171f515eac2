#include "regula/layers/activations.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "regula/error.hpp"

namespace regula::layers {
namespace {

constexpr float kLeakySlope = 0.2f;

struct Named {
  const char* name;
  ActivationKind kind;
};
constexpr Named kActivations[] = {{"linear", ActivationKind::linear},   {"relu", ActivationKind::relu},
                                  {"sigmoid", ActivationKind::sigmoid}, {"tanh", ActivationKind::tanh},
                                  {"softmax", ActivationKind::softmax}, {"elu", ActivationKind::elu},
                                  {"leaky_relu", ActivationKind::leaky_relu}, {"gelu", ActivationKind::gelu}};

int64_t last_dim(const Tensor& t) { return t.rank() == 0 ? 1 : t.dim(t.rank() - 1); }

}  // namespace

ActivationKind parse_activation(const std::string& name, const std::string& where) {
  const std::string key = name.empty() || name == "None" ? "linear" : name;
  for (const Named& a : kActivations)
    if (key == a.name) return a.kind;
  std::string allowed;
  for (const Named& a : kActivations) allowed += std::string(allowed.empty() ? "" : ", ") + a.name;
  throw ValueError(where + ": unknown activation '" + name + "'; allowed: " + allowed);
}

std::string activation_name(ActivationKind kind) {
  for (const Named& a : kActivations)
    if (a.kind == kind) return a.name;
  return "linear";
}

bool activation_backward_needs_input(ActivationKind kind) {
  return kind == ActivationKind::leaky_relu || kind == ActivationKind::gelu || kind == ActivationKind::elu;
}

void activation_forward(ActivationKind kind, const Tensor& src, Tensor& dst) {
  const float* x = src.data();
  float* y = dst.data();
  const int64_t n = src.size();
  switch (kind) {
    case ActivationKind::linear:
      if (x != y) std::copy(x, x + n, y);
      break;
    case ActivationKind::relu:
#pragma omp parallel for simd if (n > 32768)
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i];  // a select (NaN passes, as in Keras): vectorizes, std::max did not
      break;
    case ActivationKind::sigmoid:
#pragma omp parallel for if (n > 32768)
      for (int64_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
      break;
    case ActivationKind::tanh:
#pragma omp parallel for if (n > 32768)
      for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
      break;
    case ActivationKind::elu:
#pragma omp parallel for if (n > 32768)
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : std::expm1(x[i]);
      break;
    case ActivationKind::leaky_relu:
#pragma omp parallel for simd if (n > 32768)
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : kLeakySlope * x[i];
      break;
    case ActivationKind::gelu:
#pragma omp parallel for if (n > 32768)
      for (int64_t i = 0; i < n; ++i) y[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * std::numbers::sqrt2_v<float> / 2.0f));
      break;
    case ActivationKind::softmax: {
      const int64_t cols = last_dim(src);
      const int64_t rows = cols == 0 ? 0 : n / cols;
#pragma omp parallel for if (rows > 256)
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
      break;
    }
  }
}

void activation_backward(ActivationKind kind, const Tensor& src, const Tensor& dst, const Tensor& grad_dst,
                         Tensor& grad_src) {
  const float* x = src.empty() ? nullptr : src.data();
  const float* y = dst.data();
  const float* gy = grad_dst.data();
  float* gx = grad_src.data();
  const int64_t n = dst.size();
  switch (kind) {
    case ActivationKind::linear:
      if (gx != gy) std::copy(gy, gy + n, gx);
      break;
    case ActivationKind::relu:
#pragma omp parallel for simd if (n > 32768)
      for (int64_t i = 0; i < n; ++i) gx[i] = y[i] > 0.0f ? gy[i] : 0.0f;
      break;
    case ActivationKind::sigmoid:
#pragma omp parallel for simd if (n > 32768)
      for (int64_t i = 0; i < n; ++i) gx[i] = gy[i] * y[i] * (1.0f - y[i]);
      break;
    case ActivationKind::tanh:
#pragma omp parallel for simd if (n > 32768)
      for (int64_t i = 0; i < n; ++i) gx[i] = gy[i] * (1.0f - y[i] * y[i]);
      break;
    case ActivationKind::elu:
#pragma omp parallel for simd if (n > 32768)
      for (int64_t i = 0; i < n; ++i) gx[i] = x[i] > 0.0f ? gy[i] : gy[i] * (y[i] + 1.0f);
      break;
    case ActivationKind::leaky_relu:
#pragma omp parallel for simd if (n > 32768)
      for (int64_t i = 0; i < n; ++i) gx[i] = x[i] > 0.0f ? gy[i] : kLeakySlope * gy[i];
      break;
    case ActivationKind::gelu: {
      const float inv_sqrt2pi = 0.5f * std::numbers::inv_sqrtpi_v<float> * std::numbers::sqrt2_v<float>;
#pragma omp parallel for if (n > 32768)
      for (int64_t i = 0; i < n; ++i) {
        const float cdf = 0.5f * (1.0f + std::erf(x[i] * std::numbers::sqrt2_v<float> / 2.0f));
        const float pdf = inv_sqrt2pi * std::exp(-0.5f * x[i] * x[i]);
        gx[i] = gy[i] * (cdf + x[i] * pdf);
      }
      break;
    }
    case ActivationKind::softmax: {
      const int64_t cols = last_dim(dst);
      const int64_t rows = cols == 0 ? 0 : n / cols;
#pragma omp parallel for if (rows > 256)
      for (int64_t r = 0; r < rows; ++r) {
        const float* yr = y + r * cols;
        const float* gyr = gy + r * cols;
        float* gxr = gx + r * cols;
        double dot = 0.0;
        for (int64_t c = 0; c < cols; ++c) dot += static_cast<double>(yr[c]) * gyr[c];
        for (int64_t c = 0; c < cols; ++c) gxr[c] = yr[c] * (gyr[c] - static_cast<float>(dot));
      }
      break;
    }
  }
}

}  // namespace regula::layers

namespace regula::layers {

void ActivationStage::forward(Tensor& output, bool training) {
  if (kind_ == ActivationKind::linear) return;
  if (training && activation_backward_needs_input(kind_)) {
    pre_activation_.ensure_shape(output.shape());
    pre_activation_.copy_from(output);
  }
  activation_forward(kind_, output, output);
}

const Tensor& ActivationStage::backward(const Tensor& output, const Tensor& grad_output, bool grad_is_logits) {
  if (kind_ == ActivationKind::linear || grad_is_logits) return grad_output;
  grad_pre_activation_.ensure_shape(output.shape());
  activation_backward(kind_, pre_activation_, output, grad_output, grad_pre_activation_);
  return grad_pre_activation_;
}

}  // namespace regula::layers
