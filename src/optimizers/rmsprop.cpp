// RMSprop with Keras 3's update_step (keras/src/optimizers/rmsprop.py): ε sits inside the square
// root, √(v + ε) (√(v − ḡ² + ε) when centered), unlike Adam's √v + ε.

#include <cmath>
#include <cstdint>

#include <fmt/format.h>

#include "regula/backend/context.hpp"
#include "regula/error.hpp"
#include "src/optimizers/option_check.hpp"
#include "regula/optimizers/optimizer.hpp"

namespace regula::optimizers {
namespace {

class RMSpropImpl final : public Optimizer {
 public:
  explicit RMSpropImpl(RMSpropOptions options) : Optimizer(options.learning_rate), options_(options) {}

  std::string name() const override { return "rmsprop"; }

  nlohmann::json get_config() const override {
    nlohmann::json config = Optimizer::get_config();
    config["rho"] = options_.rho;
    config["momentum"] = options_.momentum;
    config["epsilon"] = options_.epsilon;
    config["centered"] = options_.centered;
    return config;
  }

 protected:
  void build(const std::vector<layers::Weight*>& weights) override {
    for (layers::Weight* w : weights) add_slot(w->value);  // velocities
    if (options_.momentum > 0.0)
      for (layers::Weight* w : weights) add_slot(w->value);  // momentums
    if (options_.centered)
      for (layers::Weight* w : weights) add_slot(w->value);  // average_gradients
  }

  void update(size_t index, layers::Weight& weight, int64_t) override {
    const bool use_momentum = options_.momentum > 0.0;
    const size_t per = 1 + (use_momentum ? 1 : 0) + (options_.centered ? 1 : 0);
    const backend::RmspropStep rmsprop{.learning_rate = static_cast<float>(learning_rate()),
                                       .rho = static_cast<float>(options_.rho),
                                       .one_minus_rho = static_cast<float>(1.0 - options_.rho),
                                       .momentum = static_cast<float>(options_.momentum),
                                       .epsilon = static_cast<float>(options_.epsilon)};
    float* momentum = use_momentum ? slot(index, per, 1).data() : nullptr;
    float* average = options_.centered ? slot(index, per, use_momentum ? 2 : 1).data() : nullptr;
    backend::current().rmsprop_update(rmsprop, weight.value.size(), weight.value.data(), weight.gradient.data(),
                                      slot(index, per, 0).data(), momentum, average);
  }

 private:
  RMSpropOptions options_;
};

}  // namespace

OptimizerPtr RMSprop(RMSpropOptions options) {
  check_option("RMSprop", "learning_rate", options.learning_rate, std::isfinite(options.learning_rate) && options.learning_rate >= 0.0,
        "finite and >= 0");
  check_option("RMSprop", "rho", options.rho, options.rho >= 0.0 && options.rho < 1.0, "a float in [0, 1)");
  check_option("RMSprop", "momentum", options.momentum, options.momentum >= 0.0 && options.momentum <= 1.0, "a float in [0, 1]");
  check_option("RMSprop", "epsilon", options.epsilon, std::isfinite(options.epsilon) && options.epsilon > 0.0, "finite and > 0");
  return std::make_shared<RMSpropImpl>(options);
}

}  // namespace regula::optimizers
