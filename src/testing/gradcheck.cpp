#include "regula/testing/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

#include "regula/error.hpp"
#include "regula/layers/activations.hpp"
#include "regula/utils/random.hpp"

namespace regula::testing {
namespace {

// Compares `analytic` (∂L/∂values) with central differences of `loss` over every element of
// `values`, which is perturbed in place and restored.
TensorCheck check_tensor(const std::string& name, float* values, int64_t count, const std::vector<double>& analytic,
                         const std::function<double()>& loss, const GradcheckOptions& options) {
  TensorCheck check;
  check.name = name;
  check.elements = count;
  double max_analytic = 0.0;
  for (double a : analytic) max_analytic = std::max(max_analytic, std::abs(a));
  const double floor = options.absolute_floor + 1e-3 * max_analytic;
  const double base = loss();
  for (int64_t i = 0; i < count; ++i) {
    const float v = values[i];
    const double h = options.epsilon * std::max(std::abs(static_cast<double>(v)), 1.0);
    // The float32 neighbours actually evaluated: the step is what float32 can represent.
    const auto plus = static_cast<float>(v + h);
    const auto minus = static_cast<float>(v - h);
    values[i] = plus;
    const double loss_plus = loss();
    values[i] = minus;
    const double loss_minus = loss();
    values[i] = v;
    const double h_plus = static_cast<double>(plus) - v;
    const double h_minus = static_cast<double>(v) - minus;
    const double numeric = (loss_plus - loss_minus) / (h_plus + h_minus);
    const double a = analytic[static_cast<size_t>(i)];
    const double diff = std::abs(a - numeric);
    const double relative = diff / std::max({std::abs(a), std::abs(numeric), floor});
    if (relative > options.tolerance) {
      // A kink between v − h and v + h shows as one-sided slopes that disagree by at least the
      // mismatch; a wrong gradient of a smooth function does not.
      const double slope_plus = (loss_plus - base) / h_plus;
      const double slope_minus = (base - loss_minus) / h_minus;
      if (std::abs(slope_plus - slope_minus) >= diff) {
        ++check.kinks;
        continue;
      }
    }
    check.max_absolute_error = std::max(check.max_absolute_error, diff);
    if (relative > check.max_relative_error || check.worst_index < 0) {
      check.max_relative_error = std::max(check.max_relative_error, relative);
      check.worst_index = i;
      check.worst_analytic = a;
      check.worst_numeric = numeric;
    }
  }
  const double allowed_kinks = std::max(1.0, options.max_kink_fraction * static_cast<double>(count));
  check.passed = check.max_relative_error <= options.tolerance && static_cast<double>(check.kinks) <= allowed_kinks;
  return check;
}

Tensor random_tensor(const Shape& shape, Rng& rng, double scale) {
  Tensor t(shape);
  for (int64_t i = 0; i < t.size(); ++i) t[i] = static_cast<float>(rng.normal() * scale);
  return t;
}

std::vector<double> to_double(const Tensor& t) { return {t.data(), t.data() + t.size()}; }

}  // namespace

bool GradcheckReport::passed() const {
  return std::all_of(tensors.begin(), tensors.end(), [](const TensorCheck& c) { return c.passed; });
}

std::string GradcheckReport::to_string() const {
  std::string s = subject + (passed() ? ": passed" : ": FAILED");
  for (const TensorCheck& c : tensors) {
    char line[320];
    std::snprintf(line, sizeof line,
                  "\n  %-14s %6lld values  max rel error %.3g (abs %.3g) at %lld: analytic %.6g numeric %.6g  "
                  "kinks %lld  %s",
                  c.name.c_str(), static_cast<long long>(c.elements), c.max_relative_error, c.max_absolute_error,
                  static_cast<long long>(c.worst_index), c.worst_analytic, c.worst_numeric,
                  static_cast<long long>(c.kinks), c.passed ? "ok" : "FAIL");
    s += line;
  }
  return s;
}

GradcheckReport check_layer_gradients(layers::Layer& layer, const std::vector<Shape>& input_shapes,
                                      const GradcheckOptions& options) {
  if (input_shapes.empty() || input_shapes[0].rank() < 1)
    throw ValueError("check_layer_gradients: give the input shapes with their batch dimension");
  const int64_t batch = input_shapes[0][0];
  std::vector<Shape> sample_shapes;
  for (const Shape& s : input_shapes) sample_shapes.push_back(s.without_batch());
  const Shape out_shape = layer.build(sample_shapes).with_batch(batch);

  Rng rng(options.seed);
  std::vector<Tensor> inputs;
  for (const Shape& s : input_shapes) inputs.push_back(random_tensor(s, rng, options.input_scale));
  std::vector<Tensor> saved;  // non-trainable weights, restored at the end
  for (layers::Weight& w : layer.weights()) {
    if (w.trainable && options.weight_noise > 0.0)
      for (int64_t i = 0; i < w.value.size(); ++i) w.value[i] += static_cast<float>(rng.normal() * options.weight_noise);
    if (!w.trainable) saved.push_back(w.value.clone());
  }
  const Tensor r = random_tensor(out_shape, rng, 1.0);

  std::vector<const Tensor*> input_ptrs;
  for (const Tensor& t : inputs) input_ptrs.push_back(&t);
  const layers::ForwardContext context{.training = true, .step = options.step};
  auto loss = [&]() {
    Tensor out(out_shape);
    layer.forward(input_ptrs, out, context);
    double sum = 0.0;
    for (int64_t i = 0; i < out.size(); ++i) sum += static_cast<double>(out[i]) * r[i];
    return sum;
  };

  // Analytic gradients: one forward, then backward with ∂L/∂output = R.
  Tensor out(out_shape);
  layer.forward(input_ptrs, out, context);
  std::vector<Tensor> grad_inputs;
  for (const Shape& s : input_shapes) grad_inputs.emplace_back(s);
  std::vector<Tensor*> grad_ptrs;
  for (Tensor& t : grad_inputs) grad_ptrs.push_back(&t);
  layer.backward(input_ptrs, out, r, grad_ptrs);
  std::vector<std::vector<double>> weight_grads;
  for (const layers::Weight& w : layer.weights()) weight_grads.push_back(w.trainable ? to_double(w.gradient) : std::vector<double>{});

  GradcheckReport report;
  report.subject = layer.class_name() + " '" + layer.name() + "'";
  for (size_t k = 0; k < inputs.size(); ++k)
    report.tensors.push_back(check_tensor("input " + std::to_string(k), inputs[k].data(), inputs[k].size(),
                                          to_double(grad_inputs[k]), loss, options));
  size_t index = 0;
  for (layers::Weight& w : layer.weights()) {
    if (w.trainable)
      report.tensors.push_back(check_tensor(w.name, w.value.data(), w.value.size(), weight_grads[index], loss, options));
    ++index;
  }
  size_t restored = 0;
  for (layers::Weight& w : layer.weights())
    if (!w.trainable) w.value.copy_from(saved[restored++]);
  return report;
}

GradcheckReport check_loss_gradient(const losses::Loss& loss, const Tensor& y_true, const Tensor& y_pred,
                                    const float* sample_weight, const GradcheckOptions& options) {
  loss.validate(y_true, y_pred);
  const int64_t batch = y_pred.dim(0);
  const double scale = 1.0 / static_cast<double>(batch);
  std::vector<float> per_sample(static_cast<size_t>(batch));
  auto reduced = [&](const Tensor& pred) {
    loss.per_sample(y_true, pred, per_sample.data());
    double sum = 0.0;
    for (int64_t i = 0; i < batch; ++i)
      sum += (sample_weight != nullptr ? sample_weight[i] : 1.0) * per_sample[static_cast<size_t>(i)];
    return sum * scale;
  };

  GradcheckReport report;
  report.subject = loss.name();
  Tensor pred = y_pred.clone();
  Tensor grad(y_pred.shape());
  loss.gradient(y_true, pred, sample_weight, static_cast<float>(scale), grad);
  report.tensors.push_back(
      check_tensor("y_pred", pred.data(), pred.size(), to_double(grad), [&]() { return reduced(pred); }, options));

  if (loss.fuses_with_softmax()) {
    Tensor logits = y_pred.clone();
    for (int64_t i = 0; i < logits.size(); ++i) logits[i] = std::log(std::max(logits[i], 1e-30f));
    Tensor probs(y_pred.shape());
    auto through_softmax = [&]() {
      layers::activation_forward(layers::ActivationKind::softmax, logits, probs);
      return reduced(probs);
    };
    layers::activation_forward(layers::ActivationKind::softmax, logits, probs);
    Tensor grad_logits(y_pred.shape());
    loss.gradient_wrt_logits(y_true, probs, sample_weight, static_cast<float>(scale), grad_logits);
    report.tensors.push_back(
        check_tensor("logits", logits.data(), logits.size(), to_double(grad_logits), through_softmax, options));
  }
  return report;
}

}  // namespace regula::testing
