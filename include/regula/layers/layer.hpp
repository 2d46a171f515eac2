#pragma once
/// @file
/// Layer: the base of every Keras layer in regula, with hand-written forward and backward passes.
///
/// A layer is used as in Keras's Functional API: construct it with its options and call it on a
/// symbolic tensor (`auto y = layers::Dense(10)(x);`). Calling builds the layer for the input
/// shapes (creating its weights) and records a node in the graph that `Model` later runs.
///
/// Shapes given to and returned by `build` leave out the batch dimension; tensors passed to
/// `forward`/`backward` carry it first.

#include <cstdint>
#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "regula/constraints/constraint.hpp"
#include "regula/distributed/communicator.hpp"
#include "regula/layers/dtype_policy.hpp"
#include "regula/layers/elementwise_tail.hpp"
#include "regula/regularizers/regularizer.hpp"
#include "regula/tensor/tensor.hpp"

namespace regula::layers {

class SymbolicTensor;

/// A layer's variable: kernel, bias, gamma, moving_mean, ...
struct Weight {
  std::string name;
  Tensor value;
  /// ∂loss/∂value after a backward pass (empty for non-trainable weights).
  Tensor gradient;
  bool trainable = true;
  /// Penalty added to the loss (kernel_regularizer / bias_regularizer), or null.
  regularizers::RegularizerPtr regularizer;
  /// Projection applied after each optimizer update (kernel_constraint / bias_constraint), or null.
  constraints::ConstraintPtr constraint;
};

/// What a forward pass needs to know besides its inputs.
struct ForwardContext {
  /// Training mode: Dropout drops, BatchNormalization uses batch statistics.
  bool training = false;
  /// The training step (optimizer iteration). Stochastic layers draw their randomness from
  /// (layer key, step), so a step is repeatable and independent of the thread count.
  uint64_t step = 0;
  /// The ranks training this model together (null or size 1: one process). BatchNormalization
  /// averages its moving statistics over them, so they stay identical on every rank.
  distributed::Communicator* communicator = nullptr;
  /// A pass that measures population statistics (Model::recalibrate_batch_normalization): with
  /// `training` false, BatchNormalization normalizes by the batch statistics, as in training, and
  /// adds them to its population sums instead of updating its moving statistics; every other
  /// layer runs as in inference (Dropout keeps every value).
  bool population_statistics = false;
};

class Layer {
 public:
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;
  Layer(Layer&&) = default;
  Layer& operator=(Layer&&) = default;

  /// The Keras class name, e.g. "Conv2D".
  virtual std::string class_name() const = 0;
  /// The layer's name: given in the options, or Keras-style `conv2d`, `conv2d_1`, ... by default.
  const std::string& name() const { return name_; }

  /// Calls the layer on a symbolic tensor (Functional API). On a temporary layer
  /// (`Dense(10)(x)`) the graph takes ownership of it.
  layers::SymbolicTensor operator()(const layers::SymbolicTensor& input) &&;
  layers::SymbolicTensor operator()(const std::vector<layers::SymbolicTensor>& inputs) &&;
  /// Moves this layer into shared ownership (used by the graph and `Sequential::add`).
  virtual std::shared_ptr<Layer> into_shared() && = 0;

  /// Creates the weights for inputs of these shapes (batch excluded) and returns the output
  /// shape. Throws ShapeError naming the layer and the shapes when the inputs do not fit.
  /// A layer is built once; building again with other shapes is an error.
  Shape build(const std::vector<Shape>& input_shapes);
  bool built() const { return built_; }
  const std::vector<Shape>& input_shapes() const { return input_shapes_; }
  const Shape& output_shape() const { return output_shape_; }

  /// Computes `output` from `inputs`. The caller has sized `output` to (batch, output_shape());
  /// the layer writes into it and never rebinds it, except a layer whose
  /// `output_is_input_view()` is true, which binds `output` to a view of its input.
  virtual void forward(const std::vector<const Tensor*>& inputs, Tensor& output,
                       const ForwardContext& context) = 0;
  /// True for layers whose output is their single input's storage under another shape (Flatten,
  /// Reshape): no copy is made. A model releases such views before each pass, so the input's
  /// buffer stays singly owned and is reused rather than reallocated every step.
  virtual bool output_is_input_view() const { return false; }
  /// Given ∂loss/∂output, writes ∂loss/∂input into each non-null `grad_inputs[i]` (sized like
  /// inputs[i]; overwritten, not accumulated) and ∂loss/∂weight into each trainable weight's
  /// `gradient` (overwritten). `inputs` and `output` are those of the last forward pass, made in
  /// training mode. A null `grad_inputs[i]` means that gradient is not needed (skip the work).
  virtual void backward(const std::vector<const Tensor*>& inputs, const Tensor& output,
                        const Tensor& grad_output, const std::vector<Tensor*>& grad_inputs) = 0;

  /// Every weight, trainable first, in creation order (Keras's `layer.weights` order).
  std::deque<Weight>& weights() { return weights_; }
  const std::deque<Weight>& weights() const { return weights_; }
  int64_t count_params() const;
  int64_t count_trainable_params() const;

  /// Penalty on the output (Keras `activity_regularizer`), or null.
  const regularizers::RegularizerPtr& activity_regularizer() const { return activity_regularizer_; }

  /// Whether the layer ends in a softmax over the last axis (so a crossentropy loss can fuse
  /// with it and hand `backward` the gradient with respect to the softmax's input).
  virtual bool ends_in_softmax() const { return false; }
  /// When set, `backward` receives ∂loss/∂(pre-softmax logits) instead of ∂loss/∂output and
  /// skips the softmax's own backward. Only for layers whose `ends_in_softmax()` is true.
  void set_grad_output_is_logits(bool value);
  bool grad_output_is_logits() const { return grad_output_is_logits_; }

  /// Keras-style config: {"name": …, "trainable": true, …options}; `class_name` is separate.
  virtual nlohmann::json get_config() const;

  /// The key of the layer's random stream (Dropout and the noise layers: with the training step
  /// it decides every draw); nullopt for layers that draw nothing. A TrainingState saves it, so
  /// that a model built again draws what the saved one would have.
  std::optional<uint64_t> random_key() const { return random_key_; }
  /// The layer's dtype policy (layers/dtype_policy.hpp): the global policy when the layer was
  /// made, or the configuration's "dtype". Conv2D and Dense compute by it.
  const mixed_precision::DTypePolicy& dtype_policy() const { return dtype_policy_; }
  void set_dtype_policy(const mixed_precision::DTypePolicy& policy) { dtype_policy_ = policy; }
  /// Replaces the key; throws StateError for a layer that draws nothing.
  void set_random_key(uint64_t key);

  /// Population statistics (Model::recalibrate_batch_normalization): `begin` clears the sums a
  /// layer gathers in passes with ForwardContext::population_statistics, `end` makes them its
  /// statistics, summed over the ranks of `communicator` when it is not null. Layers without
  /// statistics (all but BatchNormalization) do nothing.
  virtual void begin_population_statistics() {}
  virtual void end_population_statistics(distributed::Communicator* /*communicator*/) {}

  /// Layer fusion (Model::set_layer_fusion), the offering side: an element-wise layer that can be
  /// run inside the pass of the layer before it says which step it is (nullopt, the default:
  /// it cannot), and `add_to_tail` adds that step for a pass in `context` (a Dropout outside
  /// training adds nothing). Fused or not, the results are the same, bit for bit.
  virtual std::optional<TailStep> tail_step() const { return std::nullopt; }
  virtual void add_to_tail(ElementwiseTail& tail, const ForwardContext& context) const;
  /// The accepting side: the steps this layer can run at the end of its own pass, in the order it
  /// applies them (empty, the default: none). A model folds the layers that follow it, each read
  /// only by the next, as far as their steps match this list in order.
  virtual std::vector<TailStep> accepted_tail() const { return {}; }
  /// `forward`, then `tail` on every value: `output` receives the tail's output. Until the next
  /// forward pass, `backward` takes ∂loss/∂(tail's output) as `grad_output` (the tail's gradient
  /// folded in). Only for layers whose `accepted_tail()` is not empty (StateError otherwise).
  virtual void forward_with_tail(const std::vector<const Tensor*>& inputs, Tensor& output, const ForwardContext& context,
                                 const ElementwiseTail& tail);

 protected:
  /// Gives the layer a random stream with this key (a stochastic layer's constructor calls it).
  void use_random_stream(uint64_t key) { random_key_ = key; }
  /// `default_name` is the Keras snake_case name ("conv2d"); an empty `name` gets a unique one.
  Layer(const std::string& name, const std::string& default_name,
        regularizers::RegularizerPtr activity_regularizer = nullptr);

  /// The layer's shape logic: validate the inputs, create weights, return the output shape.
  virtual Shape build_impl(const std::vector<Shape>& input_shapes) = 0;
  /// Adds a weight initialised by the named initializer; the reference stays valid.
  Weight& add_weight(const std::string& name, const Shape& shape, const std::string& initializer,
                     bool trainable, int64_t fan_in = 1, int64_t fan_out = 1,
                     regularizers::RegularizerPtr regularizer = nullptr);
  /// "Conv2D 'conv2d_1'": the prefix of every message about this layer.
  std::string where() const;
  /// Throws ShapeError unless exactly `count` inputs were given.
  void expect_inputs(const std::vector<Shape>& input_shapes, size_t count) const;

 private:
  std::string name_;
  regularizers::RegularizerPtr activity_regularizer_;
  std::deque<Weight> weights_;
  std::vector<Shape> input_shapes_;
  Shape output_shape_;
  bool built_ = false;
  bool grad_output_is_logits_ = false;
  std::optional<uint64_t> random_key_;
  mixed_precision::DTypePolicy dtype_policy_ = mixed_precision::global_policy();
};

/// Implements `into_shared` for a concrete layer type, derived from Layer or from a shared
/// partial implementation `Base` (itself derived from Layer).
template <class Derived, class Base = Layer>
class LayerBase : public Base {
 public:
  std::shared_ptr<Layer> into_shared() && override {
    return std::make_shared<Derived>(std::move(static_cast<Derived&>(*this)));
  }

 protected:
  using Base::Base;
};

/// Resets the per-class counters behind default names (`dense`, `dense_1`, …); Keras's
/// `clear_session` does the same.
void reset_layer_names();

}  // namespace regula::layers
