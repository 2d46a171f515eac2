#pragma once
/// @file
/// SymbolicTensor (Keras's KerasTensor): a placeholder for a layer's output while a Functional
/// model is being described. It knows its shape (without batch) and the node that makes it.

#include <memory>
#include <vector>

#include "regula/tensor/shape.hpp"

namespace regula::layers {

class Layer;
class SymbolicTensor;

/// One call of a layer in the graph: the layer and the symbolic tensors it was called on.
struct Node {
  std::shared_ptr<Layer> layer;
  std::vector<SymbolicTensor> inputs;
  Shape shape;  ///< output shape without the batch dimension
};

class SymbolicTensor {
 public:
  SymbolicTensor() = default;
  explicit SymbolicTensor(std::shared_ptr<Node> node) : node_(std::move(node)) {}
  /// Output shape without the batch dimension.
  const Shape& shape() const { return node_->shape; }
  const std::shared_ptr<Node>& node() const { return node_; }
  bool valid() const { return node_ != nullptr; }

 private:
  std::shared_ptr<Node> node_;
};

/// Connects `layer` to `inputs`: builds the layer for their shapes and returns its output.
/// Throws if the layer was already called (shared layers are not supported) or the shapes do
/// not fit (the message names the layer, the producing layers and the shapes).
SymbolicTensor connect(std::shared_ptr<Layer> layer, const std::vector<SymbolicTensor>& inputs);

}  // namespace regula::layers
