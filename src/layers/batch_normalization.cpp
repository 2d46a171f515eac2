#include "regula/layers/batch_normalization.hpp"

#include <algorithm>
#include <cmath>
#include <span>

#include "regula/error.hpp"
#include "regula/initializers/initializers.hpp"
#include "regula/backend/context.hpp"
#include "src/layers/noise_draws.hpp"

namespace regula::layers {
namespace {

void check_initializer(const std::string& name, const std::string& option, const std::string& where) {
  if (!initializers::is_known(name))
    throw ValueError(where + ": " + option + "='" + name +
                     "' is not a known initializer; allowed: glorot_uniform, glorot_normal, he_uniform, he_normal, "
                     "lecun_uniform, random_uniform, random_normal, zeros, ones");
}

nlohmann::json initializer_config(const std::string& name) {
  return {{"class_name", name}, {"config", nlohmann::json::object()}};
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

void BatchNormalization::average_moving_statistics(distributed::Communicator& communicator) {
  const auto channels = static_cast<size_t>(channels_);
  const float inverse_ranks = 1.0f / static_cast<float>(communicator.size());
  for (size_t k = 0; k < 2; ++k) {
    Tensor& moving = weights()[static_cast<size_t>(moving_mean_index_) + k].value;
    communicator.all_reduce_sum(std::span<float>(moving.data(), channels));
    for (size_t c = 0; c < channels; ++c) moving.data()[c] *= inverse_ranks;
  }
}

double BatchNormalization::sum_over_ranks(double count) {
  const auto channels = static_cast<size_t>(channels_);
  global_sums_.resize(2 * channels + 1);
  std::copy(sums_a_.begin(), sums_a_.end(), global_sums_.begin());
  std::copy(sums_b_.begin(), sums_b_.end(), global_sums_.begin() + static_cast<std::ptrdiff_t>(channels));
  global_sums_.back() = count;
  synchronized_with_->all_reduce_sum(std::span<double>(global_sums_));
  std::copy(global_sums_.begin(), global_sums_.begin() + static_cast<std::ptrdiff_t>(channels), sums_a_.begin());
  std::copy(global_sums_.begin() + static_cast<std::ptrdiff_t>(channels), global_sums_.end() - 1, sums_b_.begin());
  return global_sums_.back();
}

void BatchNormalization::begin_population_statistics() {
  population_sums_.assign(static_cast<size_t>(2 * channels_ + 1), 0.0);
}

void BatchNormalization::end_population_statistics(distributed::Communicator* communicator) {
  if (population_sums_.size() != static_cast<size_t>(2 * channels_ + 1))
    throw StateError(where() + ": end_population_statistics without begin_population_statistics");
  if (communicator != nullptr && communicator->size() > 1) communicator->all_reduce_sum(std::span<double>(population_sums_));
  const double count = population_sums_.back();
  if (count > 0) {
    float* means = moving_mean().value.data();
    float* variances = moving_variance().value.data();
    for (int64_t c = 0; c < channels_; ++c) {
      const double mean = population_sums_[static_cast<size_t>(c)] / count;
      const double mean_of_squares = population_sums_[static_cast<size_t>(channels_ + c)] / count;
      means[c] = static_cast<float>(mean);
      variances[c] = static_cast<float>(std::max(mean_of_squares - mean * mean, 0.0));
    }
  }
  population_sums_.clear();
}

void BatchNormalization::compute_coefficients(const Tensor& x, const ForwardContext& context) {
  const bool population = context.population_statistics && !context.training;
  if (population && population_sums_.size() != static_cast<size_t>(2 * channels_ + 1))
    throw StateError(where() + ": a population-statistics pass without begin_population_statistics");
  const bool training = context.training || population;
  const int64_t channels = channels_;
  const int64_t rows = x.size() / channels;
  const float* src = x.data();
  const float* gamma = options_.scale ? weights()[static_cast<size_t>(gamma_index_)].value.data() : nullptr;
  const float* beta = options_.center ? weights()[static_cast<size_t>(beta_index_)].value.data() : nullptr;
  float* moving_mean = weights()[static_cast<size_t>(moving_mean_index_)].value.data();
  float* moving_var = weights()[static_cast<size_t>(moving_mean_index_) + 1].value.data();

  synchronized_with_ = options_.synchronized && context.training && context.communicator != nullptr &&
                               context.communicator->size() > 1
                           ? context.communicator
                           : nullptr;
  if (training && (rows > 0 || synchronized_with_ != nullptr)) {
    // One pass of Σx and Σx² in double: exact enough unless |mean| exceeds the spread by ~10⁵.
    sums_a_.resize(static_cast<size_t>(channels));
    sums_b_.resize(static_cast<size_t>(channels));
    backend::current().batch_norm_moments(rows, channels, src, sums_a_.data(), sums_b_.data());
    const std::vector<double>& sums = sums_a_;
    const std::vector<double>& sums_sq = sums_b_;
    // Synchronized: the global batch's sums (every rank then holds the same mean and variance).
    const double count = synchronized_with_ != nullptr ? sum_over_ranks(static_cast<double>(rows)) : static_cast<double>(rows);
    const double momentum = options_.momentum;
    for (int64_t c = 0; c < channels; ++c) {
      const auto i = static_cast<size_t>(c);
      const double mean = sums[i] / count;
      const double var = std::max(sums_sq[i] / count - mean * mean, 0.0);
      mean_[i] = mean;
      inv_std_[i] = 1.0 / std::sqrt(var + options_.epsilon);
      if (population) {
        population_sums_[i] += sums[i];
        population_sums_[static_cast<size_t>(channels + c)] += sums_sq[i];
      } else {
        // Keras 3: the biased batch variance feeds the moving variance too.
        moving_mean[c] = static_cast<float>(moving_mean[c] * momentum + mean * (1.0 - momentum));
        moving_var[c] = static_cast<float>(moving_var[c] * momentum + var * (1.0 - momentum));
      }
      const double a = (gamma != nullptr ? gamma[c] : 1.0) * inv_std_[i];
      coef_a_[i] = static_cast<float>(a);
      coef_b_[i] = static_cast<float>((beta != nullptr ? beta[c] : 0.0) - mean * a);
    }
    if (population) population_sums_.back() += count;
    if (!population && synchronized_with_ == nullptr && context.communicator != nullptr && context.communicator->size() > 1)
      average_moving_statistics(*context.communicator);
  } else {
    for (int64_t c = 0; c < channels; ++c) {
      const auto i = static_cast<size_t>(c);
      const double a = (gamma != nullptr ? gamma[c] : 1.0) / std::sqrt(static_cast<double>(moving_var[c]) + options_.epsilon);
      coef_a_[i] = static_cast<float>(a);
      coef_b_[i] = static_cast<float>((beta != nullptr ? beta[c] : 0.0) - moving_mean[c] * a);
    }
  }
}

void BatchNormalization::forward(const std::vector<const Tensor*>& inputs, Tensor& output,
                                 const ForwardContext& context) {
  forward_with_tail(inputs, output, context, {});
}

void BatchNormalization::forward_with_tail(const std::vector<const Tensor*>& inputs, Tensor& output,
                                           const ForwardContext& context, const ElementwiseTail& tail) {
  const Tensor& x = *inputs[0];
  tail_ = tail;
  if (tail_.mask.active) detail::check_drawable(x.size(), [this] { return where(); });
  if (tail_.pool.active) {
    // Capacity kept between steps, as the separate MaxPooling2D keeps its own.
    if (pooled_argmax_.size() < static_cast<size_t>(output.size())) pooled_argmax_.resize(static_cast<size_t>(output.size()));
    tail_.pool.argmax = pooled_argmax_.data();
  }
  compute_coefficients(x, context);
  backend::current().batch_norm_apply(x.size() / channels_, channels_, x.data(), coef_a_.data(), coef_b_.data(), tail_,
                                      output.data());
}

void BatchNormalization::backward(const std::vector<const Tensor*>& inputs, const Tensor& output,
                                  const Tensor& grad_output, const std::vector<Tensor*>& grad_inputs) {
  const Tensor& x = *inputs[0];
  if (tail_.pool.active && tail_.relu) tail_.pool.pooled = output.data();
  Tensor* grad_input = grad_inputs[0];
  backend::Backend& kernels = backend::current();
  const int64_t channels = channels_;
  const int64_t rows = x.size() / channels;
  const double* mean = mean_.data();

  // Σg (∂loss/∂β) and Σg·(x − μ) (∂loss/∂γ before the 1/σ), per channel, with g = ∂loss/∂(a·x + b).
  sums_a_.resize(static_cast<size_t>(channels));
  sums_b_.resize(static_cast<size_t>(channels));
  kernels.batch_norm_backward_sums(rows, channels, x.data(), grad_output.data(), coef_a_.data(), coef_b_.data(), mean,
                                   tail_, sums_a_.data(), sums_b_.data());
  const std::vector<double>& sum_g = sums_a_;
  const std::vector<double>& sum_gx = sums_b_;
  const float* gamma = options_.scale ? weights()[static_cast<size_t>(gamma_index_)].value.data() : nullptr;
  for (int64_t c = 0; c < channels; ++c) {
    const auto i = static_cast<size_t>(c);
    if (options_.scale) weights()[static_cast<size_t>(gamma_index_)].gradient[c] = static_cast<float>(sum_gx[i] * inv_std_[i]);
    if (options_.center) weights()[static_cast<size_t>(beta_index_)].gradient[c] = static_cast<float>(sum_g[i]);
  }
  if (grad_input == nullptr) return;

  // dx = γ/σ · (g − Σg/M − x̂·Σg·x̂/M), rewritten per channel as dx = p·g + q·x + r. Synchronized:
  // the sums and M of the global batch (γ's and β's gradients above stay this rank's share: the
  // model sums the weight gradients over the ranks).
  const double count = synchronized_with_ != nullptr ? sum_over_ranks(static_cast<double>(rows)) : static_cast<double>(rows);
  coef_p_.resize(static_cast<size_t>(channels));
  coef_q_.resize(static_cast<size_t>(channels));
  coef_r_.resize(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    const auto i = static_cast<size_t>(c);
    const double gi = (gamma != nullptr ? gamma[c] : 1.0) * inv_std_[i];
    const double mean_g = sum_g[i] / count;
    const double mean_gxhat_over_std = sum_gx[i] * inv_std_[i] * inv_std_[i] / count;
    coef_p_[i] = static_cast<float>(gi);
    coef_q_[i] = static_cast<float>(-gi * mean_gxhat_over_std);
    coef_r_[i] = static_cast<float>(gi * (mean_gxhat_over_std * mean[c] - mean_g));
  }
  kernels.batch_norm_backward_data(rows, channels, x.data(), grad_output.data(), coef_a_.data(), coef_b_.data(), tail_,
                                   coef_p_.data(), coef_q_.data(), coef_r_.data(), grad_input->data());
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
  config["synchronized"] = options_.synchronized;
  return config;
}

}  // namespace regula::layers
