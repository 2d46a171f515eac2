#include "src/model/graph.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "regula/error.hpp"
#include "regula/layers/input.hpp"

namespace regula {

Model::Graph::Graph(const layers::SymbolicTensor& input, const layers::SymbolicTensor& output) {
  if (!input.valid() || !output.valid()) throw ValueError("Model: input and output must be symbolic tensors made from Input(shape)");
  if (dynamic_cast<const layers::InputLayer*>(input.node()->layer.get()) == nullptr)
    throw ValueError("Model: the input must come from layers::Input(shape), got the output of " +
                     input.node()->layer->class_name() + " '" + input.node()->layer->name() + "'");
  // Depth-first post-order from the output gives a topological order.
  std::map<const layers::Node*, size_t> index;
  std::set<const layers::Node*> on_stack;
  std::vector<std::shared_ptr<layers::Node>> order;
  std::function<void(const std::shared_ptr<layers::Node>&)> visit = [&](const std::shared_ptr<layers::Node>& node) {
    if (index.contains(node.get())) return;
    if (node->inputs.empty() && node != input.node())
      throw ValueError("Model: the output depends on " + node->layer->class_name() + " '" + node->layer->name() +
                       "', which is not the model's input; models with several inputs are not supported");
    for (const layers::SymbolicTensor& t : node->inputs) visit(t.node());
    index[node.get()] = order.size();
    order.push_back(node);
  };
  visit(output.node());
  if (!index.contains(input.node().get()))
    throw ValueError("Model: the output does not depend on the input '" + input.node()->layer->name() + "'");
  nodes = std::move(order);
  inputs.resize(nodes.size());
  requires_grad.assign(nodes.size(), false);
  std::set<std::string> names;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!names.insert(nodes[i]->layer->name()).second)
      throw ValueError("Model: two layers are named '" + nodes[i]->layer->name() + "'; layer names must be unique");
    bool needs = nodes[i]->layer->count_trainable_params() > 0;
    for (const layers::SymbolicTensor& t : nodes[i]->inputs) {
      const size_t j = index.at(t.node().get());
      inputs[i].push_back(j);
      needs = needs || requires_grad[j];
    }
    requires_grad[i] = needs;
    for (layers::Weight& w : nodes[i]->layer->weights())
      if (w.trainable) trainable_weights.push_back(&w);
  }
  last_reader.assign(nodes.size(), 0);
  for (size_t i = 1; i < nodes.size(); ++i)
    for (size_t j : inputs[i]) last_reader[j] = std::max(last_reader[j], i);
  last_reader[0] = nodes.size();
  last_reader.back() = nodes.size();
  for (size_t i = 1; i < nodes.size(); ++i)
    if (nodes[i]->layer->activity_regularizer()) last_reader[i] = nodes.size();
  // A view reads its source's buffer for as long as the view itself is read (in reverse order,
  // so chains of views carry the latest reader back to the buffer's owner). Releasing the source
  // earlier would still be safe (a shared buffer is never reused: ensure_shape reallocates it) but
  // would waste the spare.
  for (size_t i = nodes.size(); i-- > 1;)
    if (nodes[i]->layer->output_is_input_view())
      for (size_t j : inputs[i]) last_reader[j] = std::max(last_reader[j], last_reader[i]);
  find_fusable_chains();
  outputs.resize(nodes.size());
  grads.resize(nodes.size());
  scratch_grads.resize(nodes.size());
  grad_written.assign(nodes.size(), false);
}

void Model::Graph::find_fusable_chains() {
  fused_head.assign(nodes.size(), kNotFused);
  fused_end.assign(nodes.size(), kNotFused);
  // Node `next` may join a chain ending at `last` when it reads only `last`, nothing else reads
  // `last` (its only reader is the next node in topological order) and neither carries an activity
  // regularizer (whose penalty reads the output).
  const auto extends = [&](size_t last, size_t next) {
    return next < nodes.size() && inputs[next].size() == 1 && inputs[next][0] == last && last_reader[last] == next &&
           !nodes[last]->layer->activity_regularizer() && !nodes[next]->layer->activity_regularizer();
  };
  for (size_t head = 1; head < nodes.size(); ++head) {
    size_t end = head;
    for (const layers::TailStep step : nodes[head]->layer->accepted_tail())
      if (extends(end, end + 1) && nodes[end + 1]->layer->tail_step() == step) ++end;
    if (end == head) continue;
    for (size_t i = head; i <= end; ++i) fused_head[i] = head;
    fused_end[head] = end;
    head = end;
  }
}

}  // namespace regula
