#include "regula/layers/batch_normalization.hpp"

#include <omp.h>

#include <cmath>

#include "regula/error.hpp"
#include "regula/initializers/initializers.hpp"
#include "src/layers/noise_draws.hpp"

namespace regula::layers {
namespace {

// Below this many values a parallel region costs more than it saves.
constexpr int64_t kParallelThreshold = 32768;

void check_initializer(const std::string& name, const std::string& option, const std::string& where) {
  if (!initializers::is_known(name))
    throw ValueError(where + ": " + option + "='" + name +
                     "' is not a known initializer; allowed: glorot_uniform, glorot_normal, he_uniform, he_normal, "
                     "lecun_uniform, random_uniform, random_normal, zeros, ones");
}

nlohmann::json initializer_config(const std::string& name) {
  return {{"class_name", name}, {"config", nlohmann::json::object()}};
}

// Adds per-channel sums of f(row, c) over all rows into out[0..channels) and out[channels..2·channels)
// (two sums per channel), with per-thread double partials so the result does not depend on how
// rows are split beyond the summation order within a thread.
template <class Accumulate>
void channel_sums(int64_t rows, int64_t channels, std::vector<double>& partial, double* out, Accumulate accumulate) {
  const int threads = rows * channels > kParallelThreshold ? omp_get_max_threads() : 1;
  const size_t stride = static_cast<size_t>(2 * channels);
  if (partial.size() < stride * static_cast<size_t>(threads)) partial.resize(stride * static_cast<size_t>(threads));
  std::fill(partial.begin(), partial.begin() + static_cast<std::ptrdiff_t>(stride * static_cast<size_t>(threads)), 0.0);
#pragma omp parallel num_threads(threads)
  {
    double* acc = partial.data() + stride * static_cast<size_t>(omp_get_thread_num());
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) accumulate(r, acc, acc + channels);
  }
  std::fill(out, out + 2 * channels, 0.0);
  for (int t = 0; t < threads; ++t)
    for (size_t i = 0; i < stride; ++i) out[i] += partial[stride * static_cast<size_t>(t) + i];
}

}  // namespace

BatchNormalization::BatchNormalization(BatchNormalizationOptions options)
    : LayerBase(options.name, "batch_normalization"), options_(std::move(options)) {
  if (!(options_.momentum >= 0.0 && options_.momentum <= 1.0))
    throw ValueError(where() + ": momentum=" + std::to_string(options_.momentum) + " must be in [0, 1]");
  if (!(options_.epsilon > 0.0))
    throw ValueError(where() + ": epsilon=" + std::to_string(options_.epsilon) + " must be positive");
  check_initializer(options_.beta_initializer, "beta_initializer", where());
  check_initializer(options_.gamma_initializer, "gamma_initializer", where());
  check_initializer(options_.moving_mean_initializer, "moving_mean_initializer", where());
  check_initializer(options_.moving_variance_initializer, "moving_variance_initializer", where());
}

Shape BatchNormalization::build_impl(const std::vector<Shape>& input_shapes) {
  expect_inputs(input_shapes, 1);
  const Shape& in = input_shapes[0];
  if (in.rank() < 1)
    throw ShapeError(where() + ": input shape " + in.to_string(true) + " needs at least one feature axis");
  // Keras counts axes with the batch: the last axis is rank (without batch), or -1.
  const int64_t full_rank = in.rank() + 1;
  if (options_.axis != -1 && options_.axis != full_rank - 1)
    throw ShapeError(where() + ": axis=" + std::to_string(options_.axis) + " for input " + in.to_string(true) +
                     "; only the last (channels) axis is supported: -1 or " + std::to_string(full_rank - 1));
  channels_ = in[in.rank() - 1];
  const Shape shape{channels_};
  if (options_.scale) {
    gamma_index_ = static_cast<int>(weights().size());
    add_weight("gamma", shape, options_.gamma_initializer, true, 1, 1, options_.gamma_regularizer);
  }
  if (options_.center) {
    beta_index_ = static_cast<int>(weights().size());
    add_weight("beta", shape, options_.beta_initializer, true, 1, 1, options_.beta_regularizer);
  }
  moving_mean_index_ = static_cast<int>(weights().size());
  add_weight("moving_mean", shape, options_.moving_mean_initializer, false);
  add_weight("moving_variance", shape, options_.moving_variance_initializer, false);
  const auto c = static_cast<size_t>(channels_);
  mean_.assign(c, 0.0);
  inv_std_.assign(c, 1.0);
  coef_a_.assign(c, 1.0f);
  coef_b_.assign(c, 0.0f);
  return in;
}

namespace {

// The tail applied to a normalized value v = a·x + b at flat index i (forward), and its gradient
// (backward: ∂loss/∂v from ∂loss/∂output g). The separate layers compute (v > 0) ? g·mask : 0
// (Dropout's backward, then ReLU's); gating first and multiplying after gives the same bits (the
// mask is finite, 0·mask = +0) with no multiply under a condition, which GCC would not
// vectorize (it may not speculate a floating-point operation that could trap).
template <bool kRelu, bool kDropout>
struct Tail {
  ElementMask mask;
  float forward(float v, uint32_t i) const {
    if constexpr (kRelu) v = v < 0.0f ? 0.0f : v;  // ReLU's select: NaN passes
    if constexpr (kDropout) v = v * mask.factor(i);
    return v;
  }
  float gradient(float g, float v, uint32_t i) const {
    if constexpr (kRelu) g = v > 0.0f ? g : 0.0f;
    if constexpr (kDropout) g = g * mask.factor(i);
    return g;
  }
};

// Calls body(Tail<relu, dropout>{mask}) with the tail's flags as compile-time constants, so each
// combination gets its own branch-free loops.
template <class Body>
void with_tail(bool relu, const ElementMask& mask, Body&& body) {
  if (relu && mask.active)
    body(Tail<true, true>{mask});
  else if (relu)
    body(Tail<true, false>{mask});
  else if (mask.active)
    body(Tail<false, true>{mask});
  else
    body(Tail<false, false>{mask});
}

}  // namespace

void BatchNormalization::average_moving_statistics(distributed::Communicator& communicator) {
  const auto channels = static_cast<size_t>(channels_);
  const float inverse_ranks = 1.0f / static_cast<float>(communicator.size());
  for (size_t k = 0; k < 2; ++k) {
    Tensor& moving = weights()[static_cast<size_t>(moving_mean_index_) + k].value;
    communicator.all_reduce_sum(std::span<float>(moving.data(), channels));
    for (size_t c = 0; c < channels; ++c) moving.data()[c] *= inverse_ranks;
  }
}

void BatchNormalization::compute_coefficients(const Tensor& x, const ForwardContext& context) {
  const bool training = context.training;
  const int64_t channels = channels_;
  const int64_t rows = x.size() / channels;
  const float* src = x.data();
  const float* gamma = options_.scale ? weights()[static_cast<size_t>(gamma_index_)].value.data() : nullptr;
  const float* beta = options_.center ? weights()[static_cast<size_t>(beta_index_)].value.data() : nullptr;
  float* moving_mean = weights()[static_cast<size_t>(moving_mean_index_)].value.data();
  float* moving_var = weights()[static_cast<size_t>(moving_mean_index_) + 1].value.data();

  if (training && rows > 0) {
    // One pass of Σx and Σx² in double: exact enough unless |mean| exceeds the spread by ~10⁵,
    // and it reads the batch once instead of twice.
    std::vector<double>& sums = partial_sums_;
    sums.resize(static_cast<size_t>(2 * channels));
    channel_sums(rows, channels, partial_, sums.data(), [&](int64_t r, double* sum, double* sum_sq) {
      const float* row = src + r * channels;
#pragma omp simd
      for (int64_t c = 0; c < channels; ++c) {
        const double v = row[c];
        sum[c] += v;
        sum_sq[c] += v * v;
      }
    });
    const double count = static_cast<double>(rows);
    const double momentum = options_.momentum;
    for (int64_t c = 0; c < channels; ++c) {
      const auto i = static_cast<size_t>(c);
      const double mean = sums[i] / count;
      const double var = std::max(sums[i + static_cast<size_t>(channels)] / count - mean * mean, 0.0);
      mean_[i] = mean;
      inv_std_[i] = 1.0 / std::sqrt(var + options_.epsilon);
      // Keras 3: the biased batch variance feeds the moving variance too.
      moving_mean[c] = static_cast<float>(moving_mean[c] * momentum + mean * (1.0 - momentum));
      moving_var[c] = static_cast<float>(moving_var[c] * momentum + var * (1.0 - momentum));
      const double a = (gamma != nullptr ? gamma[c] : 1.0) * inv_std_[i];
      coef_a_[i] = static_cast<float>(a);
      coef_b_[i] = static_cast<float>((beta != nullptr ? beta[c] : 0.0) - mean * a);
    }
    if (context.communicator != nullptr && context.communicator->size() > 1) average_moving_statistics(*context.communicator);
  } else {
    for (int64_t c = 0; c < channels; ++c) {
      const auto i = static_cast<size_t>(c);
      const double a = (gamma != nullptr ? gamma[c] : 1.0) / std::sqrt(static_cast<double>(moving_var[c]) + options_.epsilon);
      coef_a_[i] = static_cast<float>(a);
      coef_b_[i] = static_cast<float>((beta != nullptr ? beta[c] : 0.0) - moving_mean[c] * a);
    }
  }
}

template <class TailType>
void BatchNormalization::normalize(const Tensor& x, Tensor& output, const TailType& tail_in) const {
  const TailType tail = tail_in;
  const int64_t channels = channels_;
  const int64_t rows = x.size() / channels;
  const float* src = x.data();
  float* dst = output.data();
  const float* a = coef_a_.data();
  const float* b = coef_b_.data();
  // Each thread works on its own copy of the tail (firstprivate): read through the shared one, its
  // fields might alias the output and the inner loop would not vectorize.
#pragma omp parallel for schedule(static) firstprivate(tail) if (x.size() > kParallelThreshold)
  for (int64_t r = 0; r < rows; ++r) {
    const float* s = src + r * channels;
    float* d = dst + r * channels;
    const auto first = static_cast<uint32_t>(r * channels);
#pragma omp simd
    for (int64_t c = 0; c < channels; ++c) d[c] = tail.forward(a[c] * s[c] + b[c], first + static_cast<uint32_t>(c));
  }
}

void BatchNormalization::forward(const std::vector<const Tensor*>& inputs, Tensor& output,
                                 const ForwardContext& context) {
  forward_with_tail(inputs, output, context, {});
}

void BatchNormalization::forward_with_tail(const std::vector<const Tensor*>& inputs, Tensor& output,
                                           const ForwardContext& context, const ElementwiseTail& tail) {
  const Tensor& x = *inputs[0];
  tail_relu_ = tail.relu;
  tail_mask_ = tail.mask;
  if (tail_mask_.active) detail::check_drawable(x.size(), [this] { return where(); });
  compute_coefficients(x, context);
  with_tail(tail_relu_, tail_mask_, [&](const auto& t) { normalize(x, output, t); });
}

template <class TailType>
void BatchNormalization::backward_through(const Tensor& x, const Tensor& grad_output, Tensor* grad_input,
                                          const TailType& tail_in) {
  const TailType tail = tail_in;
  const int64_t channels = channels_;
  const int64_t rows = x.size() / channels;
  const float* src = x.data();
  const float* grad = grad_output.data();
  const double* mean = mean_.data();
  const float* a = coef_a_.data();
  const float* b = coef_b_.data();

  // Σg (∂loss/∂β) and Σg·(x − μ) (∂loss/∂γ before the 1/σ), per channel, with g = ∂loss/∂(a·x + b).
  std::vector<double>& sums = partial_sums_;
  sums.resize(static_cast<size_t>(2 * channels));
  channel_sums(rows, channels, partial_, sums.data(), [&](int64_t r, double* sum_g, double* sum_gx) {
    const TailType row_tail = tail;  // a private copy, as in normalize
    const float* row = src + r * channels;
    const float* g_row = grad + r * channels;
    const auto first = static_cast<uint32_t>(r * channels);
#pragma omp simd
    for (int64_t c = 0; c < channels; ++c) {
      const float g = row_tail.gradient(g_row[c], a[c] * row[c] + b[c], first + static_cast<uint32_t>(c));
      sum_g[c] += g;
      sum_gx[c] += static_cast<double>(g) * (row[c] - mean[c]);
    }
  });
  const float* gamma = options_.scale ? weights()[static_cast<size_t>(gamma_index_)].value.data() : nullptr;
  for (int64_t c = 0; c < channels; ++c) {
    const auto i = static_cast<size_t>(c);
    if (options_.scale) weights()[static_cast<size_t>(gamma_index_)].gradient[c] = static_cast<float>(sums[i + static_cast<size_t>(channels)] * inv_std_[i]);
    if (options_.center) weights()[static_cast<size_t>(beta_index_)].gradient[c] = static_cast<float>(sums[i]);
  }
  if (grad_input == nullptr) return;

  // dx = γ/σ · (g − Σg/M − x̂·Σg·x̂/M), rewritten per channel as dx = p·g + q·x + r.
  coef_p_.resize(static_cast<size_t>(channels));
  coef_q_.resize(static_cast<size_t>(channels));
  coef_r_.resize(static_cast<size_t>(channels));
  const double count = static_cast<double>(rows);
  for (int64_t c = 0; c < channels; ++c) {
    const auto i = static_cast<size_t>(c);
    const double gi = (gamma != nullptr ? gamma[c] : 1.0) * inv_std_[i];
    const double mean_g = sums[i] / count;
    const double mean_gxhat_over_std = sums[i + static_cast<size_t>(channels)] * inv_std_[i] * inv_std_[i] / count;
    coef_p_[i] = static_cast<float>(gi);
    coef_q_[i] = static_cast<float>(-gi * mean_gxhat_over_std);
    coef_r_[i] = static_cast<float>(gi * (mean_gxhat_over_std * mean[c] - mean_g));
  }
  const float* p = coef_p_.data();
  const float* q = coef_q_.data();
  const float* rr = coef_r_.data();
  float* dst = grad_input->data();
#pragma omp parallel for schedule(static) firstprivate(tail) if (x.size() > kParallelThreshold)
  for (int64_t r = 0; r < rows; ++r) {
    const float* s = src + r * channels;
    const float* g_row = grad + r * channels;
    float* d = dst + r * channels;
    const auto first = static_cast<uint32_t>(r * channels);
#pragma omp simd
    for (int64_t c = 0; c < channels; ++c) {
      const float g = tail.gradient(g_row[c], a[c] * s[c] + b[c], first + static_cast<uint32_t>(c));
      d[c] = p[c] * g + q[c] * s[c] + rr[c];
    }
  }
}

void BatchNormalization::backward(const std::vector<const Tensor*>& inputs, const Tensor&, const Tensor& grad_output,
                                  const std::vector<Tensor*>& grad_inputs) {
  with_tail(tail_relu_, tail_mask_,
            [&](const auto& t) { backward_through(*inputs[0], grad_output, grad_inputs[0], t); });
}

nlohmann::json BatchNormalization::get_config() const {
  nlohmann::json config = Layer::get_config();
  config["axis"] = options_.axis;
  config["momentum"] = options_.momentum;
  config["epsilon"] = options_.epsilon;
  config["center"] = options_.center;
  config["scale"] = options_.scale;
  config["beta_initializer"] = initializer_config(options_.beta_initializer);
  config["gamma_initializer"] = initializer_config(options_.gamma_initializer);
  config["moving_mean_initializer"] = initializer_config(options_.moving_mean_initializer);
  config["moving_variance_initializer"] = initializer_config(options_.moving_variance_initializer);
  config["beta_regularizer"] = options_.beta_regularizer ? options_.beta_regularizer->get_config() : nlohmann::json();
  config["gamma_regularizer"] = options_.gamma_regularizer ? options_.gamma_regularizer->get_config() : nlohmann::json();
  config["beta_constraint"] = nullptr;
  config["gamma_constraint"] = nullptr;
  config["synchronized"] = false;
  return config;
}

}  // namespace regula::layers
