#pragma once
/// @file
/// Model (Keras `keras.Model`): a Functional graph of layers from one input to one output, with
/// `compile`, `fit`, `evaluate`, `predict` and `summary`.
///
/// ```cpp
/// auto input = layers::Input({28, 28, 1});
/// auto x = layers::Conv2D(64, {3, 3}, {.padding = "same"})(input);
/// ...
/// Model model(input, output);
/// model.compile({.optimizer = optimizers::Adam(), .loss = "sparse_categorical_crossentropy",
///                .metrics = {"accuracy"}});
/// auto history = model.fit(x_train, y_train, {.batch_size = 128, .epochs = 10, .validation_split = 0.2});
/// ```
///
/// Not built yet: models with several inputs or outputs, and layers shared between nodes.

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "regula/data/batch_source.hpp"
#include "regula/distributed/communicator.hpp"
#include "regula/layers/layer.hpp"
#include "regula/layers/symbolic_tensor.hpp"
#include "regula/losses/loss.hpp"
#include "regula/metrics/metric.hpp"
#include "regula/model/callback.hpp"
#include "regula/model/fit_backups.hpp"
#include "regula/model/history.hpp"
#include "regula/optimizers/optimizer.hpp"

namespace regula {

/// A loss given to `compile`: a Keras name ("sparse_categorical_crossentropy") or a loss object.
struct LossSpec {
  LossSpec() = default;
  LossSpec(const char* name) : name(name) {}
  LossSpec(std::string name) : name(std::move(name)) {}
  LossSpec(losses::LossPtr loss) : loss(std::move(loss)) {}
  std::string name;
  losses::LossPtr loss;
  /// The loss object (resolving the name); throws ValueError for an unknown name.
  losses::LossPtr resolve() const;
};

/// An optimizer given to `compile`: a Keras name ("adam") or an optimizer object.
struct OptimizerSpec {
  OptimizerSpec() = default;
  OptimizerSpec(const char* name) : name(name) {}
  OptimizerSpec(std::string name) : name(std::move(name)) {}
  OptimizerSpec(optimizers::OptimizerPtr optimizer) : optimizer(std::move(optimizer)) {}
  std::string name = "rmsprop";
  optimizers::OptimizerPtr optimizer;
  optimizers::OptimizerPtr resolve() const;
};

/// `compile` options in Keras's order. Keras's default optimizer is "rmsprop".
struct CompileOptions {
  OptimizerSpec optimizer = {};
  LossSpec loss = {};
  std::vector<std::string> metrics = {};
};

/// Validation data: arrays (Keras's `validation_data=(x_val, y_val[, sample_weight])`), or a batch
/// source such as `datagen.flow_from_directory(dir, {.subset = "validation"})` (then x and y stay
/// empty; each validation restarts the source and runs `validation_steps` batches, default one
/// pass). The source must outlive `fit`.
struct ValidationData {
  Tensor x = {};
  Tensor y = {};
  Tensor sample_weight = {};
  data::BatchSource* source = nullptr;
};

/// `fit` options in Keras's argument order (designated initializers must follow it).
struct FitOptions {
  int64_t batch_size = 32;
  int epochs = 1;
  /// 0 silent, 1 progress bar (one line per epoch when stdout is not a terminal), 2 one line per epoch.
  int verbose = 1;
  std::vector<callbacks::Callback*> callbacks = {};
  /// Fraction of the data (the last samples, taken before shuffling) held out for validation.
  double validation_split = 0.0;
  std::optional<ValidationData> validation_data = std::nullopt;
  bool shuffle = true;
  /// Class index → weight; becomes per-sample weights (a class missing from the map weighs 1).
  std::map<int, double> class_weight = {};
  /// Per-sample weights (N); not together with class_weight.
  Tensor sample_weight = {};
  /// Epoch to start at (for resuming): epochs run from initial_epoch to epochs − 1.
  int initial_epoch = 0;
  /// Batches per epoch; 0 = one pass over the data. With arrays, fewer than the data uses the first
  /// batches of each epoch's order and more is capped at one pass. With a batch source (Keras 2's
  /// `fit_generator` over a Sequence) the source is one endless stream: fewer batches than a pass
  /// and the next epoch continues where this one stopped; more and the epoch runs on into the
  /// next pass (reshuffled).
  int64_t steps_per_epoch = 0;
  /// Validation batches per validation when validation_data is a batch source; 0 = one pass.
  int64_t validation_steps = 0;
  /// Batch size for validation; 0 = batch_size.
  int64_t validation_batch_size = 0;
  /// Validate every N epochs.
  int validation_freq = 1;
};

/// `evaluate` options in Keras's order.
struct EvaluateOptions {
  int64_t batch_size = 32;
  int verbose = 1;
  Tensor sample_weight = {};
  /// Batches to evaluate from a batch source; 0 = one pass (ignored for arrays).
  int64_t steps = 0;
  std::vector<callbacks::Callback*> callbacks = {};
};

/// `predict` options in Keras's order.
struct PredictOptions {
  int64_t batch_size = 32;
  int verbose = 0;
  std::vector<callbacks::Callback*> callbacks = {};
};

class Model {
 public:
  /// A Functional model from `input` (made by `layers::Input`) to `output`. Throws ValueError
  /// when `output` does not depend on `input` or depends on another Input.
  Model(const layers::SymbolicTensor& input, const layers::SymbolicTensor& output, std::string name = "functional");
  virtual ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const std::string& name() const { return name_; }

  /// Sets the optimizer, loss and metrics. Validates the names (ValueError lists what is allowed).
  void compile(CompileOptions options);
  bool compiled() const { return loss_ != nullptr; }

  /// Trains on arrays x (N, …input shape) and y (N, …). Returns the History of the epochs run
  /// (also kept as `history()`). See FitOptions for Keras's rules on validation_split,
  /// class_weight and sample_weight. Throws StateError before `compile`, ValueError/ShapeError
  /// for data that does not fit, NumericalError when the loss becomes NaN or infinite (naming the
  /// epoch and batch; the weights of the last good step are kept).
  callbacks::History fit(const Tensor& x, const Tensor& y, FitOptions options = {});
  /// Trains on batches from `source`, e.g. `datagen.flow(x, y, {.batch_size = 128})` (Keras's
  /// `fit(generator)`). batch_size and shuffle are the source's own; validation_split and
  /// sample_weight are refused (Keras's rule: they are for arrays; a source yields its own sample
  /// weights); class_weight weighs each batch by its labels, and is refused for a source that
  /// yields sample weights. Throws ShapeError when the source's samples do not fit the input.
  callbacks::History fit(data::BatchSource& source, FitOptions options = {});
  callbacks::History fit(data::BatchSource&& source, FitOptions options = {}) { return fit(source, std::move(options)); }
  /// Loss and metrics on (x, y) in inference mode: {"loss": …, "accuracy": …}.
  callbacks::Logs evaluate(const Tensor& x, const Tensor& y, EvaluateOptions options = {});
  /// Loss and metrics on `options.steps` batches of `source` (0 = one pass), from its first batch.
  callbacks::Logs evaluate(data::BatchSource& source, EvaluateOptions options = {});
  /// Outputs for x in inference mode, (N, …output shape).
  Tensor predict(const Tensor& x, PredictOptions options = {});

  /// Prints the Keras-style layer table and parameter totals to `out` (stdout by default).
  void summary(std::FILE* out = stdout) const;
  /// The summary as text.
  std::string summary_string() const;

  int64_t count_params() const;
  int64_t count_trainable_params() const;

  /// Layers in topological order, the input layer first.
  std::vector<layers::Layer*> layers() const;
  /// For each layer of `layers()`, the layers whose outputs it is called on (none for the input).
  std::vector<std::vector<layers::Layer*>> inbound_layers() const;
  /// The compiled metrics, in `compile` order (empty before it).
  const std::vector<metrics::MetricPtr>& metrics() const { return metrics_; }
  /// The compiled metrics' names as they appear in the logs (empty before `compile`).
  std::vector<std::string> metric_names() const;
  /// The layer named `name`; throws ValueError listing the names when absent.
  layers::Layer& get_layer(const std::string& name) const;
  const Shape& input_shape() const;
  const Shape& output_shape() const;

  /// Copies of every weight in Keras's order (layer by layer, each layer's `weights` order).
  std::vector<Tensor> get_weights() const;
  /// Sets every weight; throws ShapeError naming the layer, the weight and both shapes when a
  /// tensor does not fit, and changes nothing then.
  void set_weights(const std::vector<Tensor>& weights);

  /// Every trainable weight in layer order: the list the optimizer is built for and updates.
  const std::vector<layers::Weight*>& trainable_weights() const;

  optimizers::Optimizer& optimizer() const;
  const losses::Loss& loss() const;
  /// Set by callbacks to end `fit` after the current epoch (Keras's `model.stop_training`).
  bool stop_training = false;
  /// The History of the last `fit`.
  const callbacks::History& history() const { return history_; }
  /// While `fit` runs: its backups of the whole training (BackupAndRestore); null otherwise.
  callbacks::FitBackups* fit_backups() const { return fit_backups_; }

  /// The ranks that train this model together (data parallelism); one process by default.
  /// Every rank holds the same weights. `fit` and `evaluate` take the same data on every rank (and
  /// the same seed, so the same order): each rank computes rows rank, rank + N, … of every global
  /// batch (training::BatchShard), and every batch needs at least one sample per rank.
  /// `train_on_batch` takes the rank's own shard. See distributed::Communicator for what is
  /// reduced where.
  void set_communicator(distributed::CommunicatorPtr communicator);
  distributed::Communicator& communicator() const { return *communicator_; }

  /// One training step on a batch (advanced use; `fit` calls it): forward in training mode,
  /// loss with regularization, backward, gradients summed over the ranks, optimizer update.
  /// Returns the (global) batch's total loss (data loss + regularization) and updates the compiled
  /// metrics. With several ranks, `x` is this rank's shard and the loss is the mean over every
  /// rank's samples. A non-finite loss leaves the weights as they were, on every rank.
  double train_on_batch(const Tensor& x, const Tensor& y, const float* sample_weight = nullptr);
  /// The outputs for a batch in inference mode (advanced use; the returned reference stays valid
  /// until the next call).
  const Tensor& predict_on_batch(const Tensor& x);

  /// One evaluation step on a batch (advanced use; `evaluate` and fit's validation call it):
  /// forward in inference mode, the batch's loss as Keras computes it (weighted data loss plus
  /// activity penalties, without the weight penalties, which do not change between batches),
  /// summed over the ranks; updates the compiled metrics with this rank's samples.
  struct EvaluationStep {
    double loss = 0.0;    ///< the mean over every rank's samples
    int64_t samples = 0;  ///< samples in the batch, over every rank
  };
  EvaluationStep test_step(const data::Batch& batch);

  /// Precise batch normalization (Wu & Johnson 2021): sets the moving mean and variance of every
  /// BatchNormalization layer to the population statistics of its inputs over `steps` batches of
  /// `source` (one pass when 0), the network running as in inference (no dropout) except that each
  /// BatchNormalization normalizes by its batch's statistics, as in training (the rule is in
  /// batch_normalization.hpp). With several ranks the sums are taken over every rank's batches.
  /// Weights other than the moving statistics do not change. Returns the samples seen (this rank).
  int64_t recalibrate_batch_normalization(data::BatchSource& source, int64_t steps = 0);

  /// Layer fusion (on by default): a BatchNormalization followed by ReLU and/or Dropout and/or a
  /// MaxPooling2D whose windows tile the image, each read only by the next, runs as one pass over
  /// the batch (see Layer::accepted_tail): the
  /// same results, bit for bit, with less memory traffic and no intermediate tensors. Keras has
  /// no such switch (XLA's `jit_compile` fuses similarly); turning it off runs every layer on its
  /// own, for comparison.
  void set_layer_fusion(bool enabled) { layer_fusion_ = enabled; }
  bool layer_fusion() const { return layer_fusion_; }

 protected:
  /// For Sequential: a model with no graph yet.
  explicit Model(std::string name);
  /// (Re)defines the graph from `input` to `output`.
  void set_graph(const layers::SymbolicTensor& input, const layers::SymbolicTensor& output);

 private:
  struct Graph;
  void require_graph(const char* what) const;
  void configure_output_fusion();
  void require_compiled(const char* what) const;
  void forward(const Tensor& x, const layers::ForwardContext& context);
  void backward(const Tensor& y, const float* sample_weight, float scale, double& activity_loss);
  double regularization_penalty_and_gradients();
  bool distributed() const { return communicator_->size() > 1; }
  /// A compiled metric's result over every rank's samples.
  double reduced_result(const metrics::Metric& metric) const;
  callbacks::History fit_batches(data::BatchSource& train, int64_t steps, const FitOptions& options,
                                 data::BatchSource* validation, int64_t validation_steps);
  callbacks::Logs run_evaluation(data::BatchSource& source, int64_t steps, std::vector<callbacks::Callback*>& callbacks);

  std::string name_;
  std::unique_ptr<Graph> graph_;
  losses::LossPtr loss_;
  optimizers::OptimizerPtr optimizer_;
  std::vector<metrics::MetricPtr> metrics_;
  callbacks::History history_;
  callbacks::FitBackups* fit_backups_ = nullptr;
  distributed::CommunicatorPtr communicator_ = distributed::single_process();
  /// Samples of the last training step over every rank (the weight of its loss in the epoch mean).
  int64_t last_step_samples_ = 0;
  bool layer_fusion_ = true;
};

}  // namespace regula
