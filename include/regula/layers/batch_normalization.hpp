#pragma once
/// @file
/// BatchNormalization (Keras `keras.layers.BatchNormalization`), over the last (channels) axis.
///
/// Input (batch, …, channels) → output of the same shape; works on Dense outputs (batch, features)
/// and on images (batch, h, w, channels). Per channel c:
///
///     y = γ_c · (x − μ_c) / √(σ²_c + ε) + β_c
///
/// - Training (`ForwardContext::training`): μ, σ² are the batch statistics over every axis but the
///   last (σ² biased: divided by the count, not count − 1). The moving statistics are then updated
///   as in Keras 3 — which also feeds the *biased* batch variance to the moving variance
///   (keras/src/layers/normalization/batch_normalization.py, `call`: `ops.moments`):
///       moving_mean     ← moving_mean · momentum + μ  · (1 − momentum)
///       moving_variance ← moving_variance · momentum + σ² · (1 − momentum)
/// - Inference: μ, σ² are moving_mean and moving_variance.
/// - Population statistics (`ForwardContext::population_statistics`, precise batch normalization
///   after Wu & Johnson 2021, *Rethinking "Batch" in BatchNorm*): each batch is normalized by its
///   own statistics as in training, and the layer sums Σx, Σx² and the count over the passes
///   between `begin_population_statistics` and `end_population_statistics`, which sets
///       moving_mean = Σx / n,   moving_variance = Σx² / n − moving_mean²
///   (the exact, biased population statistics of every value the layer saw; over the ranks when
///   distributed). Passes without values leave the moving statistics as they were.
/// - Several ranks (`ForwardContext::communicator`): each rank normalizes by its own shard's batch
///   statistics (Keras's MirroredStrategy default), and after each update the moving statistics
///   are averaged over the ranks, so they are identical everywhere.
///
/// Weights in Keras's order: gamma (if `scale`), beta (if `center`) — trainable — then
/// moving_mean and moving_variance (non-trainable). Defaults as Keras: axis −1, momentum 0.99,
/// epsilon 1e-3, center and scale on, gamma ones, beta zeros, moving mean zeros, moving variance
/// ones. Only the last axis is supported (channels_last), given as −1 or rank − 1.

#include <string>
#include <vector>

#include "regula/layers/layer.hpp"

namespace regula::layers {

/// BatchNormalization options, in Keras's argument order.
struct BatchNormalizationOptions {
  int64_t axis = -1;
  double momentum = 0.99;
  double epsilon = 1e-3;
  bool center = true;
  bool scale = true;
  std::string beta_initializer = "zeros";
  std::string gamma_initializer = "ones";
  std::string moving_mean_initializer = "zeros";
  std::string moving_variance_initializer = "ones";
  regularizers::RegularizerPtr beta_regularizer = nullptr;
  regularizers::RegularizerPtr gamma_regularizer = nullptr;
  /// Keras 3's `synchronized`: when several ranks train the model (Model::set_communicator),
  /// training normalizes by the statistics of the global batch (Σx, Σx² and the sample count summed
  /// over the ranks), and backward by the global Σg and Σg·(x − μ), so N ranks compute what one
  /// process computes on the whole batch. Off (Keras's default): each rank normalizes by its
  /// shard's statistics and the moving statistics are averaged over the ranks.
  bool synchronized = false;
  std::string name = "";
};

class BatchNormalization final : public LayerBase<BatchNormalization> {
 public:
  /// momentum must be in [0, 1], epsilon positive, initializers known names.
  explicit BatchNormalization(BatchNormalizationOptions options = {});
  std::string class_name() const override { return "BatchNormalization"; }
  void forward(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext& context) override;
  void backward(const std::vector<const Tensor*>& inputs, const Tensor& output, const Tensor& grad_output,
                const std::vector<Tensor*>& grad_inputs) override;
  nlohmann::json get_config() const override;
  /// Fusion: ReLU, then a dropout mask, applied to the normalized values in the same loop, then a
  /// max pooling whose windows tile the image, so BatchNormalization → ReLU → Dropout →
  /// MaxPooling2D reads the batch once and writes only the pooled values (and backward reads the
  /// pooled gradient instead of a full-size one), keeping no intermediate tensors (the separate
  /// layers' results, bit for bit).
  std::vector<TailStep> accepted_tail() const override {
    return {TailStep::kRelu, TailStep::kMask, TailStep::kMaxPool};
  }
  void forward_with_tail(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext& context,
                         const ElementwiseTail& tail) override;

  Weight* gamma() { return gamma_index_ < 0 ? nullptr : &weights()[static_cast<size_t>(gamma_index_)]; }
  Weight* beta() { return beta_index_ < 0 ? nullptr : &weights()[static_cast<size_t>(beta_index_)]; }
  Weight& moving_mean() { return weights()[static_cast<size_t>(moving_mean_index_)]; }
  Weight& moving_variance() { return weights()[static_cast<size_t>(moving_mean_index_ + 1)]; }

  void begin_population_statistics() override;
  void end_population_statistics(distributed::Communicator* communicator) override;

 protected:
  /// Input must have at least one axis; `axis` must name its last axis.
  Shape build_impl(const std::vector<Shape>& input_shapes) override;

 private:
  BatchNormalizationOptions options_;
  int gamma_index_ = -1, beta_index_ = -1, moving_mean_index_ = 0;
  int64_t channels_ = 0;
  // Per-channel statistics of the last training forward pass, for backward.
  std::vector<double> mean_, inv_std_;
  // Per-channel sums of the last pass (Σx and Σx² forward, Σg and Σg·(x − μ) backward).
  std::vector<double> sums_a_, sums_b_;
  // Per-channel coefficients: forward y = a·x + b; backward dx = p·g + q·x + r.
  std::vector<float> coef_a_, coef_b_, coef_p_, coef_q_, coef_r_;
  // Σx, Σx² per channel, then the count, of the population-statistics passes so far.
  std::vector<double> population_sums_;
  // The tail folded into the last forward pass (none after a plain `forward`).
  ElementwiseTail tail_;
  // The winners of a pooling tail's windows in the last forward pass (tail_.pool.argmax).
  std::vector<int32_t> pooled_argmax_;
  // The ranks whose global batch the last training pass normalized over (synchronized), or null.
  distributed::Communicator* synchronized_with_ = nullptr;
  // Σx, Σx² (or Σg, Σg·(x − μ)) per channel and the row count, summed over the ranks.
  std::vector<double> global_sums_;

  /// Sets mean_, inv_std_ (training), the moving statistics (training) and coef_a_, coef_b_.
  void compute_coefficients(const Tensor& x, const ForwardContext& context);
  /// Adds sums_a_, sums_b_ and `count` over the ranks of synchronized_with_; returns the global count.
  double sum_over_ranks(double count);
  /// Replaces the moving mean and variance by their mean over the ranks (per-rank batch
  /// statistics, as Keras's MirroredStrategy; moving statistics identical on every rank).
  void average_moving_statistics(distributed::Communicator& communicator);
};

}  // namespace regula::layers
