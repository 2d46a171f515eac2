#pragma once
// The executable form of a Functional model: nodes in topological order with the buffers each
// step reuses (so steady-state training allocates nothing).

#include <memory>
#include <vector>

#include "regula/layers/layer.hpp"
#include "regula/layers/symbolic_tensor.hpp"
#include "regula/model/model.hpp"

namespace regula {

struct Model::Graph {
  /// Nodes in topological order; nodes[0] is the input.
  std::vector<std::shared_ptr<layers::Node>> nodes;
  /// For each node, the indices of its input nodes.
  std::vector<std::vector<size_t>> inputs;
  /// Whether the gradient with respect to a node's output is needed (it or an ancestor has
  /// trainable weights).
  std::vector<bool> requires_grad;
  /// Every trainable weight in layer order (addresses are stable: layers keep weights in a deque).
  std::vector<layers::Weight*> trainable_weights;

  // Buffers reused across steps.
  /// For each node, the last node that reads its output (a view's reader counts as its source's);
  /// size() for the model's output, its input and activity-regularized nodes (read after the pass).
  std::vector<size_t> last_reader;

  /// Layer fusion: for each node of a fused chain (a layer that accepts a tail, then the layers
  /// whose tail steps it accepts, each read only by the next; see Layer::accepted_tail), the
  /// chain's first node; kNotFused elsewhere. For a chain's first node, `fused_end` holds its
  /// last node; the nodes after the first are head+1 .. end.
  static constexpr size_t kNotFused = static_cast<size_t>(-1);
  std::vector<size_t> fused_head;
  std::vector<size_t> fused_end;
  ///  The tail a chain's first node runs in the current pass (rebuilt from its nodes every pass).
  layers::ElementwiseTail tail;

  std::vector<Tensor> outputs;        // forward values per node
  std::vector<Tensor> spare_buffers;  // outputs an inference pass no longer needs, for later nodes
  std::vector<Shape> batch_shapes;    // per node, its output shape at batch size `shaped_batch`
  int64_t shaped_batch = -1;
  std::vector<Tensor> grads;          // ∂loss/∂output per node
  std::vector<Tensor> scratch_grads;  // a consumer's contribution before it is summed in
  std::vector<bool> grad_written;
  Tensor activity_grad;               // activity-regularizer gradient of a fused softmax output
  std::vector<float> per_sample_loss;
  std::vector<double> evaluation_sums;      // an evaluation batch's loss sums (reduced across ranks)
  std::vector<const Tensor*> layer_inputs;  // the current node's inputs
  std::vector<Tensor*> layer_grad_inputs;   // where the current node's input gradients go

  /// Fills fused_head, fused_end and fused_tails (needs inputs and last_reader).
  void find_fusable_chains();

  /// Builds the graph that computes `output` from `input`.
  Graph(const layers::SymbolicTensor& input, const layers::SymbolicTensor& output);

  layers::Layer& layer(size_t i) const { return *nodes[i]->layer; }
  size_t size() const { return nodes.size(); }
  const Tensor& output() const { return outputs.back(); }
};

}  // namespace regula
