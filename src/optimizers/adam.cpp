// Adam with Keras 3's update_step (keras/src/optimizers/adam.py): ε is added to √v after the
// bias correction has been folded into the step size α.

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <fmt/format.h>

#include "regula/backend/context.hpp"
#include "regula/error.hpp"
#include "src/optimizers/option_check.hpp"
#include "regula/optimizers/optimizer.hpp"

namespace regula::optimizers {
namespace {

class AdamImpl final : public Optimizer {
 public:
  explicit AdamImpl(AdamOptions options) : Optimizer(options.learning_rate), options_(options) {}

  std::string name() const override { return "adam"; }

  nlohmann::json get_config() const override {
    nlohmann::json config = Optimizer::get_config();
    config["beta_1"] = options_.beta_1;
    config["beta_2"] = options_.beta_2;
    config["epsilon"] = options_.epsilon;
    config["amsgrad"] = options_.amsgrad;
    return config;
  }

 protected:
  void build(const std::vector<layers::Weight*>& weights) override {
    for (layers::Weight* w : weights) add_slot(w->value);  // momentums
    for (layers::Weight* w : weights) add_slot(w->value);  // velocities
    if (options_.amsgrad)
      for (layers::Weight* w : weights) add_slot(w->value);  // velocity_hats
  }

  void update(size_t index, layers::Weight& weight, int64_t step) override {
    const size_t per = options_.amsgrad ? 3 : 2;
    const double t = static_cast<double>(step);
    const float alpha = static_cast<float>(learning_rate() * std::sqrt(1.0 - std::pow(options_.beta_2, t)) /
                                           (1.0 - std::pow(options_.beta_1, t)));
    const backend::AdamStep adam{.alpha = alpha,
                                 .one_minus_beta_1 = static_cast<float>(1.0 - options_.beta_1),
                                 .one_minus_beta_2 = static_cast<float>(1.0 - options_.beta_2),
                                 .epsilon = static_cast<float>(options_.epsilon)};
    float* v_hat = options_.amsgrad ? slot(index, per, 2).data() : nullptr;
    backend::current().adam_update(adam, weight.value.size(), weight.value.data(), weight.gradient.data(),
                                   slot(index, per, 0).data(), slot(index, per, 1).data(), v_hat);
  }

 private:
  AdamOptions options_;
};

}  // namespace

OptimizerPtr Adam(AdamOptions options) {
  check_option("Adam", "learning_rate", options.learning_rate, std::isfinite(options.learning_rate) && options.learning_rate >= 0.0,
        "finite and >= 0");
  check_option("Adam", "beta_1", options.beta_1, options.beta_1 >= 0.0 && options.beta_1 < 1.0, "a float in [0, 1)");
  check_option("Adam", "beta_2", options.beta_2, options.beta_2 >= 0.0 && options.beta_2 < 1.0, "a float in [0, 1)");
  check_option("Adam", "epsilon", options.epsilon, std::isfinite(options.epsilon) && options.epsilon > 0.0, "finite and > 0");
  return std::make_shared<AdamImpl>(options);
}

}  // namespace regula::optimizers
