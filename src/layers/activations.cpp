#include "regula/layers/activations.hpp"

#include "regula/backend/context.hpp"
#include "regula/error.hpp"

namespace regula::layers {
namespace {

struct Named {
  const char* name;
  ActivationKind kind;
};
constexpr Named kActivations[] = {{"linear", ActivationKind::linear},   {"relu", ActivationKind::relu},
                                  {"sigmoid", ActivationKind::sigmoid}, {"tanh", ActivationKind::tanh},
                                  {"softmax", ActivationKind::softmax}, {"elu", ActivationKind::elu},
                                  {"leaky_relu", ActivationKind::leaky_relu}, {"gelu", ActivationKind::gelu}};

int64_t last_dim(const Tensor& t) { return t.rank() == 0 ? 1 : t.dim(t.rank() - 1); }

}  // namespace

ActivationKind parse_activation(const std::string& name, const std::string& where) {
  const std::string key = name.empty() || name == "None" ? "linear" : name;
  for (const Named& a : kActivations)
    if (key == a.name) return a.kind;
  std::string allowed;
  for (const Named& a : kActivations) allowed += std::string(allowed.empty() ? "" : ", ") + a.name;
  throw ValueError(where + ": unknown activation '" + name + "'; allowed: " + allowed);
}

std::string activation_name(ActivationKind kind) {
  for (const Named& a : kActivations)
    if (a.kind == kind) return a.name;
  return "linear";
}

bool activation_backward_needs_input(ActivationKind kind) {
  return kind == ActivationKind::leaky_relu || kind == ActivationKind::gelu || kind == ActivationKind::elu;
}

void activation_forward(ActivationKind kind, const Tensor& src, Tensor& dst) {
  const int64_t cols = last_dim(src);
  backend::current().activation_forward(kind, cols == 0 ? 0 : src.size() / cols, cols, src.data(), dst.data());
}

void activation_backward(ActivationKind kind, const Tensor& src, const Tensor& dst, const Tensor& grad_dst,
                         Tensor& grad_src) {
  const int64_t cols = last_dim(dst);
  backend::current().activation_backward(kind, cols == 0 ? 0 : dst.size() / cols, cols,
                                         src.empty() ? nullptr : src.data(), dst.data(), grad_dst.data(),
                                         grad_src.data());
}

}  // namespace regula::layers

namespace regula::layers {

void ActivationStage::forward(Tensor& output, bool training) {
  if (kind_ == ActivationKind::linear) return;
  if (training && activation_backward_needs_input(kind_)) {
    pre_activation_.ensure_shape(output.shape());
    pre_activation_.copy_from(output);
  }
  activation_forward(kind_, output, output);
}

const Tensor& ActivationStage::backward(const Tensor& output, const Tensor& grad_output, bool grad_is_logits) {
  if (kind_ == ActivationKind::linear || grad_is_logits) return grad_output;
  grad_pre_activation_.ensure_shape(output.shape());
  activation_backward(kind_, pre_activation_, output, grad_output, grad_pre_activation_);
  return grad_pre_activation_;
}

}  // namespace regula::layers
