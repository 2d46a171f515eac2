// SGD with Keras 3's update_step (keras/src/optimizers/sgd.py).

#include <cmath>
#include <cstdint>

#include <fmt/format.h>

#include "regula/backend/context.hpp"
#include "regula/error.hpp"
#include "src/optimizers/option_check.hpp"
#include "regula/optimizers/optimizer.hpp"

namespace regula::optimizers {
namespace {

class SGDImpl final : public Optimizer {
 public:
  explicit SGDImpl(SGDOptions options) : Optimizer(options.learning_rate), options_(options) {}

  std::string name() const override { return "SGD"; }

  nlohmann::json get_config() const override {
    nlohmann::json config = Optimizer::get_config();
    config["momentum"] = options_.momentum;
    config["nesterov"] = options_.nesterov;
    return config;
  }

 protected:
  void build(const std::vector<layers::Weight*>& weights) override {
    // Keras creates the momentum slots only when momentum != 0.
    if (options_.momentum != 0.0)
      for (layers::Weight* w : weights) add_slot(w->value);
  }

  void update(size_t index, layers::Weight& weight, int64_t) override {
    const backend::SgdStep step{.learning_rate = static_cast<float>(learning_rate()),
                                .momentum = static_cast<float>(options_.momentum),
                                .nesterov = options_.nesterov};
    float* velocity = options_.momentum == 0.0 ? nullptr : slot(index, 1, 0).data();
    backend::current().sgd_update(step, weight.value.size(), weight.value.data(), weight.gradient.data(), velocity);
  }

 private:
  SGDOptions options_;
};

}  // namespace

OptimizerPtr SGD(SGDOptions options) {
  check_option("SGD", "learning_rate", options.learning_rate, std::isfinite(options.learning_rate) && options.learning_rate >= 0.0,
        "finite and >= 0");
  check_option("SGD", "momentum", options.momentum, options.momentum >= 0.0 && options.momentum <= 1.0, "a float in [0, 1]");
  return std::make_shared<SGDImpl>(options);
}

}  // namespace regula::optimizers
