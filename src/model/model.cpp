#include "regula/model/model.hpp"

#include <algorithm>
#include <cmath>

#include "regula/error.hpp"
#include "regula/layers/activations.hpp"
#include "src/model/graph.hpp"

namespace regula {

losses::LossPtr LossSpec::resolve() const {
  if (loss) return loss;
  if (name.empty()) throw ValueError("compile: no loss given; name one, e.g. .loss = \"sparse_categorical_crossentropy\"");
  return losses::get(name);
}

optimizers::OptimizerPtr OptimizerSpec::resolve() const { return optimizer ? optimizer : optimizers::get(name); }

Model::Model(const layers::SymbolicTensor& input, const layers::SymbolicTensor& output, std::string name)
    : name_(std::move(name)), graph_(std::make_unique<Graph>(input, output)) {}

Model::Model(std::string name) : name_(std::move(name)) {}

Model::~Model() = default;

void Model::set_graph(const layers::SymbolicTensor& input, const layers::SymbolicTensor& output) {
  graph_ = std::make_unique<Graph>(input, output);
  if (compiled()) configure_output_fusion();
}

void Model::configure_output_fusion() {
  // A crossentropy on a final softmax is differentiated with respect to the logits (p − y):
  // exact, and stable where the softmax saturates.
  for (size_t i = 1; i < graph_->size(); ++i) graph_->layer(i).set_grad_output_is_logits(false);
  layers::Layer& last = graph_->layer(graph_->size() - 1);
  last.set_grad_output_is_logits(last.ends_in_softmax() && loss_->fuses_with_softmax());
}

void Model::require_graph(const char* what) const {
  if (!graph_) throw StateError(std::string(what) + ": the model has no layers yet; add an Input(shape) and layers first");
}

void Model::require_compiled(const char* what) const {
  require_graph(what);
  if (!compiled())
    throw StateError(std::string(what) + ": the model must be compiled first: call model.compile({.optimizer = …, .loss = …})");
}

void Model::compile(CompileOptions options) {
  require_graph("compile");
  losses::LossPtr loss = options.loss.resolve();
  optimizers::OptimizerPtr optimizer = options.optimizer.resolve();
  std::vector<metrics::MetricPtr> resolved;
  for (const std::string& m : options.metrics) resolved.push_back(metrics::get(m, *loss));
  loss_ = std::move(loss);
  optimizer_ = std::move(optimizer);
  metrics_ = std::move(resolved);
  configure_output_fusion();
}

optimizers::Optimizer& Model::optimizer() const {
  require_compiled("optimizer");
  return *optimizer_;
}

const losses::Loss& Model::loss() const {
  require_compiled("loss");
  return *loss_;
}

std::vector<layers::Layer*> Model::layers() const {
  std::vector<layers::Layer*> out;
  if (graph_)
    for (const auto& node : graph_->nodes) out.push_back(node->layer.get());
  return out;
}

std::vector<std::vector<layers::Layer*>> Model::inbound_layers() const {
  std::vector<std::vector<layers::Layer*>> out;
  if (!graph_) return out;
  for (size_t i = 0; i < graph_->size(); ++i) {
    out.emplace_back();
    for (size_t j : graph_->inputs[i]) out.back().push_back(&graph_->layer(j));
  }
  return out;
}

std::vector<std::string> Model::metric_names() const {
  std::vector<std::string> names;
  for (const metrics::MetricPtr& m : metrics_) names.push_back(m->name());
  return names;
}

layers::Layer& Model::get_layer(const std::string& name) const {
  std::string known;
  for (layers::Layer* l : layers()) {
    if (l->name() == name) return *l;
    known += (known.empty() ? "" : ", ") + l->name();
  }
  throw ValueError("get_layer: no layer named '" + name + "' in model '" + name_ + "'; layers: " + known);
}

const Shape& Model::input_shape() const {
  require_graph("input_shape");
  return graph_->nodes.front()->shape;
}

const Shape& Model::output_shape() const {
  require_graph("output_shape");
  return graph_->nodes.back()->shape;
}

int64_t Model::count_params() const {
  int64_t n = 0;
  for (layers::Layer* l : layers()) n += l->count_params();
  return n;
}

int64_t Model::count_trainable_params() const {
  int64_t n = 0;
  for (layers::Layer* l : layers()) n += l->count_trainable_params();
  return n;
}

std::vector<Tensor> Model::get_weights() const {
  std::vector<Tensor> out;
  for (layers::Layer* l : layers())
    for (const layers::Weight& w : l->weights()) out.push_back(w.value.clone());
  return out;
}

void Model::set_weights(const std::vector<Tensor>& weights) {
  std::vector<layers::Weight*> targets;
  for (layers::Layer* l : layers())
    for (layers::Weight& w : l->weights()) targets.push_back(&w);
  if (weights.size() != targets.size())
    throw ShapeError("set_weights: model '" + name_ + "' has " + std::to_string(targets.size()) + " weights, " +
                     std::to_string(weights.size()) + " were given");
  size_t i = 0;
  for (layers::Layer* l : layers())
    for (const layers::Weight& w : l->weights()) {
      if (weights[i].shape() != w.value.shape())
        throw ShapeError("set_weights: " + l->class_name() + " '" + l->name() + "' weight '" + w.name + "' has shape " +
                         w.value.shape().to_string() + ", the given tensor has shape " + weights[i].shape().to_string());
      ++i;
    }
  for (i = 0; i < targets.size(); ++i) targets[i]->value.copy_from(weights[i]);
}

const std::vector<layers::Weight*>& Model::trainable_weights() const {
  require_graph("trainable_weights");
  return graph_->trainable_weights;
}

namespace {

// Gives node i's output a spare buffer when it has none: the smallest spare that holds `shape`,
// else the largest (ensure_shape then grows it).
void take_spare_buffer(std::vector<Tensor>& spares, Tensor& output, const Shape& shape) {
  if (!output.empty() || spares.empty()) return;
  const int64_t needed = shape.num_elements();
  const auto by_capacity = [](const Tensor& a, const Tensor& b) { return a.capacity() < b.capacity(); };
  auto best = spares.end();
  for (auto it = spares.begin(); it != spares.end(); ++it)
    if (it->capacity() >= needed && (best == spares.end() || it->capacity() < best->capacity())) best = it;
  if (best == spares.end()) best = std::max_element(spares.begin(), spares.end(), by_capacity);
  output = std::move(*best);
  spares.erase(best);  // erasing shifts the later spares into place, overwriting the moved-from one
}

}  // namespace

void Model::forward(const Tensor& x, const layers::ForwardContext& context) {
  Graph& g = *graph_;
  const int64_t batch = x.dim(0);
  g.outputs[0] = x;
  if (batch != g.shaped_batch) {
    g.batch_shapes.resize(g.size());
    for (size_t i = 1; i < g.size(); ++i) g.batch_shapes[i] = g.nodes[i]->shape.with_batch(batch);
    g.shaped_batch = batch;
  }
  // Views left by the last pass would share their inputs' buffers and force those to be reallocated;
  // the inner nodes of fused chains produce no output.
  for (size_t i = 1; i < g.size(); ++i) {
    const bool fused_inner = layer_fusion_ && g.fused_head[i] != Graph::kNotFused && g.fused_end[g.fused_head[i]] != i;
    if (g.layer(i).output_is_input_view() || fused_inner) g.outputs[i] = Tensor();
  }
  // Training keeps every output for the backward pass. Inference hands an output's buffer on to
  // later nodes once its last reader has run, so a pass holds a few buffers instead of one per
  // layer (as PyTorch under no_grad frees a tensor when its last use is done).
  const bool keep_outputs = context.training;
  std::vector<const Tensor*>& in = g.layer_inputs;
  for (size_t i = 1; i < g.size(); ++i) {
    // A fused chain runs when its first node comes up and writes its last node's output.
    const bool fused = layer_fusion_ && g.fused_head[i] != Graph::kNotFused;
    if (fused && g.fused_head[i] != i) continue;
    const size_t out = fused ? g.fused_end[i] : i;
    in.clear();
    for (size_t j : g.inputs[i]) in.push_back(&g.outputs[j]);
    if (!g.layer(out).output_is_input_view()) {
      take_spare_buffer(g.spare_buffers, g.outputs[out], g.batch_shapes[out]);
      g.outputs[out].ensure_shape(g.batch_shapes[out]);
    }
    if (fused) {
      g.tail = {};
      for (size_t k = i + 1; k <= out; ++k) g.layer(k).add_to_tail(g.tail, context);
      g.layer(i).forward_with_tail(in, g.outputs[out], context, g.tail);
    } else
      g.layer(i).forward(in, g.outputs[i], context);
    if (keep_outputs) continue;
    for (size_t j : g.inputs[i]) {
      if (g.last_reader[j] != i || g.outputs[j].empty()) continue;
      if (!g.layer(j).output_is_input_view()) g.spare_buffers.push_back(std::move(g.outputs[j]));
      g.outputs[j] = Tensor();
    }
  }
  if (keep_outputs) g.spare_buffers.clear();
}

const Tensor& Model::predict_on_batch(const Tensor& x) {
  require_graph("predict_on_batch");
  forward(x, {.training = false, .step = 0});
  return graph_->output();
}

double Model::regularization_penalty_and_gradients() {
  double penalty = 0.0;
  for (layers::Weight* w : trainable_weights())
    if (w->regularizer) {
      penalty += w->regularizer->penalty(w->value);
      w->regularizer->add_gradient(w->value, 1.0f, w->gradient);
    }
  return penalty;
}

void Model::backward(const Tensor& y, const float* sample_weight, float scale, double& activity_loss) {
  Graph& g = *graph_;
  const size_t last = g.size() - 1;
  const Tensor& y_pred = g.outputs[last];
  layers::Layer& last_layer = g.layer(last);
  const bool fused = last_layer.grad_output_is_logits();

  std::fill(g.grad_written.begin(), g.grad_written.end(), false);
  g.grads[last].ensure_shape(y_pred.shape());
  if (fused)
    loss_->gradient_wrt_logits(y, y_pred, sample_weight, scale, g.grads[last]);
  else
    loss_->gradient(y, y_pred, sample_weight, scale, g.grads[last]);
  g.grad_written[last] = true;

  std::vector<const Tensor*>& in = g.layer_inputs;
  std::vector<Tensor*>& grad_in = g.layer_grad_inputs;
  for (size_t i = last; i >= 1; --i) {
    // A fused chain's backward runs at its last node, through its first node's layer and inputs.
    const bool in_chain = layer_fusion_ && g.fused_head[i] != Graph::kNotFused;
    if (in_chain && g.fused_end[g.fused_head[i]] != i) continue;
    const size_t source = in_chain ? g.fused_head[i] : i;
    layers::Layer& layer = g.layer(i);
    if (!g.grad_written[i]) continue;
    // Keras adds activity_regularizer(output) / batch_size to the loss.
    if (const auto& reg = layer.activity_regularizer()) {
      activity_loss += reg->penalty(g.outputs[i]) * scale;
      if (i == last && fused) {
        g.activity_grad.ensure_shape(y_pred.shape());
        g.activity_grad.fill(0.0f);
        reg->add_gradient(y_pred, scale, g.activity_grad);
        layers::activation_backward(layers::ActivationKind::softmax, Tensor(), y_pred, g.activity_grad, g.activity_grad);
        float* dst = g.grads[i].data();
        const float* src = g.activity_grad.data();
        for (int64_t k = 0; k < y_pred.size(); ++k) dst[k] += src[k];
      } else {
        reg->add_gradient(g.outputs[i], scale, g.grads[i]);
      }
    }
    in.clear();
    grad_in.clear();
    for (size_t j : g.inputs[source]) {
      in.push_back(&g.outputs[j]);
      Tensor* target = nullptr;
      if (g.requires_grad[j]) {
        target = g.grad_written[j] ? &g.scratch_grads[j] : &g.grads[j];
        target->ensure_shape(g.outputs[j].shape());
      }
      grad_in.push_back(target);
    }
    g.layer(source).backward(in, g.outputs[i], g.grads[i], grad_in);
    for (size_t k = 0; k < g.inputs[source].size(); ++k) {
      const size_t j = g.inputs[source][k];
      if (grad_in[k] == nullptr) continue;
      if (grad_in[k] == &g.scratch_grads[j]) {
        float* dst = g.grads[j].data();
        const float* src = g.scratch_grads[j].data();
        for (int64_t e = 0; e < g.grads[j].size(); ++e) dst[e] += src[e];
      }
      g.grad_written[j] = true;
    }
  }
}

void Model::set_communicator(distributed::CommunicatorPtr communicator) {
  if (!communicator) throw ValueError("set_communicator: the communicator is null; use distributed::single_process() for one process");
  communicator_ = std::move(communicator);
}

double Model::reduced_result(const metrics::Metric& metric) const {
  if (!distributed()) return metric.result();
  double totals[2] = {metric.total(), static_cast<double>(metric.count())};
  communicator_->all_reduce_sum(totals);
  return totals[1] == 0.0 ? 0.0 : totals[0] / totals[1];
}

double Model::train_on_batch(const Tensor& x, const Tensor& y, const float* sample_weight) {
  require_compiled("train_on_batch");
  Graph& g = *graph_;
  forward(x, {.training = true, .step = static_cast<uint64_t>(optimizer_->iterations()), .communicator = communicator_.get()});
  const Tensor& y_pred = g.output();
  const int64_t batch = y_pred.dim(0);
  loss_->validate(y, y_pred);
  // The loss is the mean over the global batch: every rank's shard counts.
  double samples = static_cast<double>(batch);
  if (distributed()) communicator_->all_reduce_sum(std::span<double>(&samples, 1));
  g.per_sample_loss.resize(static_cast<size_t>(batch));
  loss_->per_sample(y, y_pred, g.per_sample_loss.data());
  double data_loss = 0.0;
  for (int64_t i = 0; i < batch; ++i)
    data_loss += static_cast<double>(g.per_sample_loss[static_cast<size_t>(i)]) * (sample_weight ? sample_weight[i] : 1.0f);
  data_loss /= samples;
  for (const metrics::MetricPtr& m : metrics_) m->update(y, y_pred);

  double activity_loss = 0.0;
  backward(y, sample_weight, 1.0f / static_cast<float>(samples), activity_loss);
  const std::vector<layers::Weight*>& weights = trainable_weights();
  if (distributed()) {
    // Before the finiteness check, so that a NaN on one rank stops every rank at the same step.
    for (layers::Weight* w : weights) communicator_->all_reduce_sum(std::span<float>(w->gradient.data(), static_cast<size_t>(w->gradient.size())));
    double losses[2] = {data_loss, activity_loss};
    communicator_->all_reduce_sum(losses);
    data_loss = losses[0];
    activity_loss = losses[1];
  }
  last_step_samples_ = static_cast<int64_t>(samples);
  // Weight penalties after the reduction: the weights, and so the penalties, are the same on every rank.
  const double total = data_loss + (activity_loss + regularization_penalty_and_gradients());
  if (!std::isfinite(total)) return total;  // the caller reports it; the weights stay as they were
  optimizer_->apply(weights);
  return total;
}

Model::EvaluationStep Model::test_step(const data::Batch& batch) {
  Graph& g = *graph_;
  const int64_t n = batch.x.dim(0);
  forward(batch.x, {.training = false, .step = 0, .communicator = communicator_.get()});
  const Tensor& y_pred = g.output();
  loss_->validate(batch.y, y_pred);
  g.per_sample_loss.resize(static_cast<size_t>(n));
  loss_->per_sample(batch.y, y_pred, g.per_sample_loss.data());
  // [Σ weighted sample losses, each activity penalty…, samples]: summed over the ranks when
  // several evaluate together, then the batch's mean loss as Keras computes it.
  std::vector<double>& sums = g.evaluation_sums;
  sums.assign(1, 0.0);
  for (int64_t i = 0; i < n; ++i)
    sums[0] += static_cast<double>(g.per_sample_loss[static_cast<size_t>(i)]) *
               (batch.sample_weight.empty() ? 1.0f : batch.sample_weight[i]);
  for (size_t i = 1; i < g.size(); ++i)
    if (const auto& reg = g.layer(i).activity_regularizer()) sums.push_back(reg->penalty(g.outputs[i]));
  sums.push_back(static_cast<double>(n));
  if (distributed()) communicator_->all_reduce_sum(std::span<double>(sums));
  const double samples = sums.back();
  double batch_loss = sums[0] / samples;
  for (size_t k = 1; k + 1 < sums.size(); ++k) batch_loss += sums[k] / samples;
  for (const metrics::MetricPtr& m : metrics_) m->update(batch.y, y_pred);
  return {.loss = batch_loss, .samples = static_cast<int64_t>(samples)};
}

}  // namespace regula
