// AdamW = decoupled weight decay + Adam's own update. Adam's kernel lives in adam.cpp behind the
// public `Adam()` factory; rather than copy it, each weight gets an inner Adam built for that one
// weight, whose `apply` runs exactly Adam's `update` for the step we hand it. The inner slots
// alias this optimizer's slots (Tensor copies share storage), so `variables()` lists them in
// Keras's order and a restore writes where the update reads.

#include "regula/optimizers/adamw.hpp"

#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "regula/backend/context.hpp"
#include "regula/error.hpp"
#include "src/optimizers/option_check.hpp"

namespace regula::optimizers {
namespace {

class AdamWImpl final : public Optimizer {
 public:
  explicit AdamWImpl(AdamWOptions options) : Optimizer(options.learning_rate), options_(options) {}

  std::string name() const override { return "adamw"; }

  nlohmann::json get_config() const override {
    nlohmann::json config = Optimizer::get_config();
    config["weight_decay"] = options_.weight_decay;
    config["beta_1"] = options_.beta_1;
    config["beta_2"] = options_.beta_2;
    config["epsilon"] = options_.epsilon;
    config["amsgrad"] = options_.amsgrad;
    return config;
  }

 protected:
  void build(const std::vector<layers::Weight*>& weights) override {
    const AdamOptions adam{.learning_rate = learning_rate(), .beta_1 = options_.beta_1, .beta_2 = options_.beta_2,
                           .epsilon = options_.epsilon, .amsgrad = options_.amsgrad};
    inner_.clear();
    for (layers::Weight* w : weights) {
      inner_.push_back(Adam(adam));
      inner_.back()->build_for({w});
    }
    // Keras's order: every weight's m, then every weight's v (then v̂).
    for (size_t kind = 0; kind < per_weight(); ++kind)
      for (size_t i = 0; i < weights.size(); ++i) add_slot(weights[i]->value) = *inner_[i]->variables()[kind];
  }

  void update(size_t index, layers::Weight& weight, int64_t step) override {
    // Decay first, in float32 as Keras's `variable - variable * wd * lr`.
    backend::current().decay_weights(static_cast<float>(options_.weight_decay), static_cast<float>(learning_rate()),
                                     weight.value.size(), weight.value.data());

    Optimizer& adam = *inner_[index];
    // A restore may have rebound our slot tensors; point the inner Adam at whatever they hold now.
    const std::vector<Tensor*> inner_slots = adam.variables();
    for (size_t kind = 0; kind < per_weight(); ++kind) {
      Tensor& own = slot(index, per_weight(), kind);
      if (!inner_slots[kind]->shares_storage_with(own)) *inner_slots[kind] = own;
    }
    adam.set_learning_rate(learning_rate());
    adam.set_iterations(step - 1);
    one_weight_[0] = &weight;
    adam.apply(one_weight_);
  }

 private:
  size_t per_weight() const { return options_.amsgrad ? 3 : 2; }

  AdamWOptions options_;
  std::vector<OptimizerPtr> inner_;
  std::vector<layers::Weight*> one_weight_ = {nullptr};
};

}  // namespace

OptimizerPtr AdamW(AdamWOptions options) {
  check_option("AdamW", "learning_rate", options.learning_rate, std::isfinite(options.learning_rate) && options.learning_rate >= 0.0,
        "finite and >= 0");
  check_option("AdamW", "weight_decay", options.weight_decay, std::isfinite(options.weight_decay) && options.weight_decay >= 0.0,
        "finite and >= 0");
  check_option("AdamW", "beta_1", options.beta_1, options.beta_1 >= 0.0 && options.beta_1 < 1.0, "a float in [0, 1)");
  check_option("AdamW", "beta_2", options.beta_2, options.beta_2 >= 0.0 && options.beta_2 < 1.0, "a float in [0, 1)");
  check_option("AdamW", "epsilon", options.epsilon, std::isfinite(options.epsilon) && options.epsilon > 0.0, "finite and > 0");
  return std::make_shared<AdamWImpl>(options);
}

}  // namespace regula::optimizers
