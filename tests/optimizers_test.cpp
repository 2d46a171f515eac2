// Optimizer trajectories against Keras 3's update rules (keras/src/optimizers/sgd.py, adam.py,
// rmsprop.py), re-derived here in double precision from the documented formulas, on a quadratic
// f(w) = ½ Σ a_i (w_i − c_i)² whose gradient a_i (w_i − c_i) is evaluated at each trajectory's
// own weights, over two weights (so slot indexing across weights is exercised too).

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "regula/error.hpp"
#include "regula/layers/layer.hpp"
#include "regula/optimizers/adamw.hpp"
#include "regula/optimizers/optimizer.hpp"

namespace ro = regula::optimizers;
using regula::Tensor;
using regula::layers::Weight;

namespace {

const std::vector<double> kA = {1.0, 3.0, 0.5, 2.0, 1.5, 0.25};
const std::vector<double> kC = {0.5, -1.0, 2.0, 0.0, 1.0, -0.5};
const std::vector<double> kW0 = {1.0, -2.0, 0.5, 3.0, -1.0, 0.25};

// One reference step: (t, w, g) → updates w in place; keeps its own slots.
using ReferenceStep = std::function<void(int t, std::vector<double>& w, const std::vector<double>& g)>;

std::vector<double> gradient_at(const std::vector<double>& w) {
  std::vector<double> g(w.size());
  for (size_t i = 0; i < w.size(); ++i) g[i] = kA[i] * (w[i] - kC[i]);
  return g;
}

struct Model {
  Weight kernel{"kernel", Tensor({2, 2}, {1.0f, -2.0f, 0.5f, 3.0f}), Tensor({2, 2}), true, nullptr};
  Weight bias{"bias", Tensor({2}, {-1.0f, 0.25f}), Tensor({2}), true, nullptr};
  std::vector<Weight*> list() { return {&kernel, &bias}; }
  std::vector<double> values() const {
    std::vector<double> v;
    for (float x : kernel.value.values()) v.push_back(x);
    for (float x : bias.value.values()) v.push_back(x);
    return v;
  }
  void set_gradients() {
    const std::vector<double> g = gradient_at(values());
    for (int i = 0; i < 4; ++i) kernel.gradient[i] = static_cast<float>(g[static_cast<size_t>(i)]);
    for (int i = 0; i < 2; ++i) bias.gradient[i] = static_cast<float>(g[static_cast<size_t>(4 + i)]);
  }
};

// Runs `steps` steps of `optimizer` and of `reference` side by side; returns the final weights.
std::vector<double> check_trajectory(ro::Optimizer& optimizer, const ReferenceStep& reference, int steps,
                                     double tolerance = 2e-5) {
  Model model;
  std::vector<double> w = kW0;
  for (int t = 1; t <= steps; ++t) {
    model.set_gradients();
    optimizer.apply(model.list());
    reference(t, w, gradient_at(w));
    const std::vector<double> got = model.values();
    for (size_t i = 0; i < w.size(); ++i)
      EXPECT_NEAR(got[i], w[i], tolerance * std::max(1.0, std::fabs(w[i]))) << "step " << t << ", element " << i;
  }
  EXPECT_EQ(optimizer.iterations(), steps);
  return w;
}

template <class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const regula::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(SGD, Plain) {
  const double lr = 0.1;
  auto opt = ro::SGD({.learning_rate = lr});
  check_trajectory(*opt, [&](int, std::vector<double>& w, const std::vector<double>& g) {
    for (size_t i = 0; i < w.size(); ++i) w[i] -= lr * g[i];  // w ← w − lr·g
  }, 6);
  EXPECT_TRUE(opt->variables().empty());  // Keras creates no momentum slot when momentum = 0
}

TEST(SGD, Momentum) {
  const double lr = 0.05, mu = 0.9;
  auto opt = ro::SGD({.learning_rate = lr, .momentum = mu});
  std::vector<double> v(6, 0.0);
  check_trajectory(*opt, [&](int, std::vector<double>& w, const std::vector<double>& g) {
    for (size_t i = 0; i < w.size(); ++i) {
      v[i] = mu * v[i] - lr * g[i];  // velocity = momentum·velocity − lr·g
      w[i] += v[i];                  // w = w + velocity
    }
  }, 8);
  EXPECT_EQ(opt->variables().size(), 2u);
}

TEST(SGD, Nesterov) {
  const double lr = 0.05, mu = 0.8;
  auto opt = ro::SGD({.learning_rate = lr, .momentum = mu, .nesterov = true});
  std::vector<double> v(6, 0.0);
  check_trajectory(*opt, [&](int, std::vector<double>& w, const std::vector<double>& g) {
    for (size_t i = 0; i < w.size(); ++i) {
      v[i] = mu * v[i] - lr * g[i];
      w[i] += mu * v[i] - lr * g[i];  // w = w + momentum·velocity − lr·g
    }
  }, 8);
}

namespace {

ReferenceStep adam_reference(double lr, double b1, double b2, double eps, bool amsgrad) {
  auto m = std::make_shared<std::vector<double>>(6, 0.0);
  auto v = std::make_shared<std::vector<double>>(6, 0.0);
  auto vhat = std::make_shared<std::vector<double>>(6, 0.0);
  return [=](int t, std::vector<double>& w, const std::vector<double>& g) {
    // Keras: α = lr·√(1−β₂ᵗ)/(1−β₁ᵗ); w ← w − α·m/(√v + ε).
    const double alpha = lr * std::sqrt(1 - std::pow(b2, t)) / (1 - std::pow(b1, t));
    for (size_t i = 0; i < w.size(); ++i) {
      (*m)[i] = b1 * (*m)[i] + (1 - b1) * g[i];
      (*v)[i] = b2 * (*v)[i] + (1 - b2) * g[i] * g[i];
      (*vhat)[i] = std::max((*vhat)[i], (*v)[i]);
      const double denom = amsgrad ? (*vhat)[i] : (*v)[i];
      w[i] -= alpha * (*m)[i] / (std::sqrt(denom) + eps);
    }
  };
}

}  // namespace

TEST(Adam, DefaultsMatchKeras) {
  auto opt = ro::Adam();
  const auto config = opt->get_config();
  EXPECT_EQ(config["name"], "adam");
  EXPECT_DOUBLE_EQ(config["learning_rate"].get<double>(), 0.001);
  EXPECT_DOUBLE_EQ(config["beta_1"].get<double>(), 0.9);
  EXPECT_DOUBLE_EQ(config["beta_2"].get<double>(), 0.999);
  EXPECT_DOUBLE_EQ(config["epsilon"].get<double>(), 1e-7);
  EXPECT_EQ(config["amsgrad"], false);
  check_trajectory(*opt, adam_reference(0.001, 0.9, 0.999, 1e-7, false), 5);
}

TEST(Adam, EpsilonIsAddedAfterBiasCorrection) {
  // A large ε makes the placement visible: √v + ε with the bias correction folded into α.
  auto opt = ro::Adam({.learning_rate = 0.1, .beta_1 = 0.8, .beta_2 = 0.9, .epsilon = 0.05});
  check_trajectory(*opt, adam_reference(0.1, 0.8, 0.9, 0.05, false), 8);
}

TEST(Adam, Amsgrad) {
  // β₂ = 0.5 with shrinking gradients makes v fall, so max(v̂, v) matters.
  auto plain = adam_reference(0.2, 0.9, 0.5, 1e-7, false);
  auto opt = ro::Adam({.learning_rate = 0.2, .beta_1 = 0.9, .beta_2 = 0.5, .amsgrad = true});
  const std::vector<double> ams = check_trajectory(*opt, adam_reference(0.2, 0.9, 0.5, 1e-7, true), 10);
  std::vector<double> w = kW0;
  for (int t = 1; t <= 10; ++t) plain(t, w, gradient_at(w));
  double diff = 0.0;
  for (size_t i = 0; i < w.size(); ++i) diff = std::max(diff, std::fabs(w[i] - ams[i]));
  EXPECT_GT(diff, 1e-3) << "the test problem does not exercise amsgrad";
  EXPECT_EQ(opt->variables().size(), 6u);  // m, v, v̂ for two weights
}

TEST(Adam, SlotsAreGroupedByKindAsKerasOrdersThem) {
  auto opt = ro::Adam({.learning_rate = 0.01, .amsgrad = true});
  Model model;
  model.set_gradients();
  const float g_bias0 = model.bias.gradient[0];
  const float g_kernel0 = model.kernel.gradient[0];
  opt->apply(model.list());
  auto vars = opt->variables();
  ASSERT_EQ(vars.size(), 6u);
  // [m_kernel, m_bias, v_kernel, v_bias, v̂_kernel, v̂_bias]
  EXPECT_EQ(vars[0]->shape(), (regula::Shape{2, 2}));
  EXPECT_EQ(vars[1]->shape(), (regula::Shape{2}));
  EXPECT_NEAR((*vars[0])[0], 0.1 * g_kernel0, 1e-6);
  EXPECT_NEAR((*vars[1])[0], 0.1 * g_bias0, 1e-6);
  EXPECT_NEAR((*vars[3])[0], 0.001 * g_bias0 * g_bias0, 1e-6);
  EXPECT_NEAR((*vars[5])[0], 0.001 * g_bias0 * g_bias0, 1e-6);
}

namespace {

ReferenceStep rmsprop_reference(double lr, double rho, double mu, double eps, bool centered) {
  auto v = std::make_shared<std::vector<double>>(6, 0.0);
  auto avg = std::make_shared<std::vector<double>>(6, 0.0);
  auto mom = std::make_shared<std::vector<double>>(6, 0.0);
  return [=](int, std::vector<double>& w, const std::vector<double>& g) {
    for (size_t i = 0; i < w.size(); ++i) {
      (*v)[i] = rho * (*v)[i] + (1 - rho) * g[i] * g[i];
      double denom = (*v)[i] + eps;  // Keras 3: ε inside the square root
      if (centered) {
        (*avg)[i] = rho * (*avg)[i] + (1 - rho) * g[i];
        denom = (*v)[i] - (*avg)[i] * (*avg)[i] + eps;
      }
      const double increment = lr * g[i] / std::sqrt(denom);
      if (mu > 0) {
        (*mom)[i] = mu * (*mom)[i] + increment;
        w[i] -= (*mom)[i];
      } else {
        w[i] -= increment;
      }
    }
  };
}

}  // namespace

TEST(RMSprop, KerasDocstringExample) {
  // keras.optimizers.RMSprop docstring: var = 10, loss = var²/2, lr = 0.1 → 9.683772.
  auto opt = ro::RMSprop({.learning_rate = 0.1});
  Weight var{"var", Tensor({1}, {10.0f}), Tensor({1}, {10.0f}), true, nullptr};
  opt->apply({&var});
  EXPECT_NEAR(var.value[0], 9.683772, 1e-5);
}

TEST(RMSprop, Plain) {
  auto opt = ro::RMSprop({.learning_rate = 0.05, .epsilon = 0.01});  // large ε: placement visible
  check_trajectory(*opt, rmsprop_reference(0.05, 0.9, 0.0, 0.01, false), 8);
  EXPECT_EQ(opt->variables().size(), 2u);
}

TEST(RMSprop, Momentum) {
  auto opt = ro::RMSprop({.learning_rate = 0.01, .rho = 0.8, .momentum = 0.5});
  check_trajectory(*opt, rmsprop_reference(0.01, 0.8, 0.5, 1e-7, false), 8);
  EXPECT_EQ(opt->variables().size(), 4u);
}

TEST(RMSprop, Centered) {
  auto opt = ro::RMSprop({.learning_rate = 0.01, .rho = 0.9, .epsilon = 1e-3, .centered = true});
  check_trajectory(*opt, rmsprop_reference(0.01, 0.9, 0.0, 1e-3, true), 8);
}

TEST(RMSprop, CenteredWithMomentum) {
  auto opt = ro::RMSprop({.learning_rate = 0.01, .rho = 0.7, .momentum = 0.9, .epsilon = 1e-3, .centered = true});
  check_trajectory(*opt, rmsprop_reference(0.01, 0.7, 0.9, 1e-3, true), 8);
  EXPECT_EQ(opt->variables().size(), 6u);
}

TEST(Optimizer, SetLearningRateTakesEffectNextStep) {
  auto opt = ro::SGD({.learning_rate = 0.1});
  Weight w{"w", Tensor({1}, {1.0f}), Tensor({1}, {1.0f}), true, nullptr};
  opt->apply({&w});
  EXPECT_NEAR(w.value[0], 0.9, 1e-7);
  opt->set_learning_rate(0.01);
  EXPECT_DOUBLE_EQ(opt->learning_rate(), 0.01);
  opt->apply({&w});
  EXPECT_NEAR(w.value[0], 0.89, 1e-7);
  EXPECT_EQ(opt->iterations(), 2);
  EXPECT_THROW(opt->set_learning_rate(-1.0), regula::ValueError);
  EXPECT_THROW(opt->set_learning_rate(std::numeric_limits<double>::quiet_NaN()), regula::ValueError);
  EXPECT_DOUBLE_EQ(opt->learning_rate(), 0.01);
}

TEST(Optimizer, AdamBiasCorrectionFollowsIterations) {
  // set_iterations (restoring a checkpoint) changes t in the bias correction.
  auto opt = ro::Adam({.learning_rate = 0.1});
  opt->set_iterations(1000);
  Weight w{"w", Tensor({1}, {0.0f}), Tensor({1}, {1.0f}), true, nullptr};
  opt->apply({&w});
  const double t = 1001, m = 0.1, v = 0.001;
  const double alpha = 0.1 * std::sqrt(1 - std::pow(0.999, t)) / (1 - std::pow(0.9, t));
  EXPECT_NEAR(w.value[0], -alpha * m / (std::sqrt(v) + 1e-7), 1e-6);
}

TEST(Optimizer, SkipsNonTrainableAndChecksTheList) {
  auto opt = ro::SGD({.learning_rate = 0.1, .momentum = 0.5});
  Weight frozen{"moving_mean", Tensor({2}, {1.0f, 2.0f}), Tensor(), false, nullptr};
  Weight w{"kernel", Tensor({2}, {1.0f, 1.0f}), Tensor({2}, {1.0f, -1.0f}), true, nullptr};
  opt->apply({&w, &frozen});
  EXPECT_EQ(frozen.value[0], 1.0f);
  EXPECT_NEAR(w.value[0], 0.9, 1e-7);
  EXPECT_THROW(opt->apply({&w}), regula::StateError);
  Weight bad{"bias", Tensor({2}), Tensor({3}), true, nullptr};
  const std::string msg = message_of([&] { opt->apply({&bad, &frozen}); });
  EXPECT_NE(msg.find("bias"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(3,)"), std::string::npos) << msg;
  EXPECT_EQ(opt->iterations(), 1);
}

TEST(Optimizer, BadOptionsNameOptimizerOptionValueAndRange) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  struct Case {
    std::function<void()> make;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      {[] { ro::SGD({.learning_rate = -0.1}); }, {"SGD", "learning_rate=-0.1", ">= 0"}},
      {[&] { ro::SGD({.learning_rate = nan}); }, {"SGD", "learning_rate"}},
      {[&] { ro::Adam({.learning_rate = inf}); }, {"Adam", "learning_rate"}},
      {[] { ro::SGD({.momentum = 1.5}); }, {"SGD", "momentum=1.5", "[0, 1]"}},
      {[] { ro::SGD({.momentum = -0.5}); }, {"SGD", "momentum"}},
      {[] { ro::Adam({.beta_1 = 1.0}); }, {"Adam", "beta_1=1", "[0, 1)"}},
      {[] { ro::Adam({.beta_2 = -0.1}); }, {"Adam", "beta_2=-0.1"}},
      {[] { ro::Adam({.epsilon = 0.0}); }, {"Adam", "epsilon=0", "> 0"}},
      {[] { ro::RMSprop({.rho = 1.0}); }, {"RMSprop", "rho=1", "[0, 1)"}},
      {[] { ro::RMSprop({.momentum = 2.0}); }, {"RMSprop", "momentum=2"}},
      {[] { ro::RMSprop({.epsilon = -1e-7}); }, {"RMSprop", "epsilon"}},
  };
  for (const Case& c : cases) {
    std::string msg;
    try {
      c.make();
    } catch (const regula::ValueError& e) {
      msg = e.what();
    }
    ASSERT_FALSE(msg.empty()) << "no ValueError for " << c.expected[1];
    for (const std::string& part : c.expected) EXPECT_NE(msg.find(part), std::string::npos) << msg;
  }
}

TEST(Registry, GetByNameAnyCase) {
  EXPECT_EQ(ro::get("adam")->name(), "adam");
  EXPECT_EQ(ro::get("Adam")->name(), "adam");
  EXPECT_EQ(ro::get("SGD")->name(), "SGD");
  EXPECT_DOUBLE_EQ(ro::get("sgd")->learning_rate(), 0.01);
  EXPECT_EQ(ro::get("RMSProp")->name(), "rmsprop");
  const std::string msg = message_of([] { ro::get("adagrad"); });
  EXPECT_NE(msg.find("adagrad"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Adam, AdamW, RMSprop, SGD"), std::string::npos) << msg;
  EXPECT_EQ(ro::get("AdamW")->name(), ro::AdamW()->name());
}

TEST(Registry, FromConfigForms) {
  using nlohmann::json;
  auto keras = ro::from_config(json::parse(R"({"module": "keras.optimizers", "class_name": "Adam",
      "config": {"name": "adam", "learning_rate": 0.002, "beta_1": 0.8, "weight_decay": null, "clipnorm": null,
                 "use_ema": false, "ema_momentum": 0.99, "amsgrad": true}, "registered_name": null})"));
  EXPECT_EQ(keras->name(), "adam");
  EXPECT_DOUBLE_EQ(keras->learning_rate(), 0.002);
  EXPECT_DOUBLE_EQ(keras->get_config()["beta_1"].get<double>(), 0.8);
  EXPECT_EQ(keras->get_config()["amsgrad"], true);

  auto flat = ro::from_config(json::parse(R"({"class_name": "SGD", "learning_rate": 0.1, "momentum": 0.9,
                                              "nesterov": true})"));
  EXPECT_EQ(flat->get_config()["nesterov"], true);
  EXPECT_DOUBLE_EQ(flat->get_config()["momentum"].get<double>(), 0.9);

  // get_config round-trips.
  auto rms = ro::RMSprop({.learning_rate = 0.003, .rho = 0.8, .momentum = 0.1, .epsilon = 1e-6, .centered = true});
  auto again = ro::from_config(rms->get_config());
  EXPECT_EQ(again->get_config(), rms->get_config());
  EXPECT_EQ(ro::from_config(json("rmsprop"))->name(), "rmsprop");

  std::string msg = message_of([] { ro::from_config(json::parse(R"({"class_name": "Adam", "beta1": 0.9})")); });
  EXPECT_NE(msg.find("beta1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("beta_1"), std::string::npos) << msg;  // lists the known options
  msg = message_of([] { ro::from_config(json::parse(R"({"class_name": "Nadam"})")); });
  EXPECT_NE(msg.find("Nadam"), std::string::npos) << msg;
  EXPECT_NE(msg.find("RMSprop"), std::string::npos) << msg;
  EXPECT_THROW(ro::from_config(json::parse(R"({"class_name": "SGD", "config": {"clipnorm": 1.0}})")),
               regula::ValueError);
  msg = message_of([] {
    ro::from_config(json::parse(R"({"class_name": "Adam", "learning_rate": {"class_name": "ExponentialDecay"}})"));
  });
  EXPECT_NE(msg.find("unknown learning-rate schedule class_name 'ExponentialDecay'"), std::string::npos) << msg;
  EXPECT_THROW(ro::from_config(json::parse(R"({"class_name": "Adam", "beta_1": 1.5})")), regula::ValueError);
  EXPECT_THROW(ro::from_config(json::parse(R"({"class_name": "SGD", "nesterov": "yes"})")), regula::ValueError);
}

TEST(CosineDecay, FollowsKerasRuleWithAndWithoutWarmup) {
  const ro::CosineDecay plain({.initial_learning_rate = 0.1, .decay_steps = 100, .alpha = 0.2});
  EXPECT_DOUBLE_EQ(plain(0), 0.1);
  // Half way: cosine factor ½(1 + cos(π/2)) = ½, so lr = 0.1 · ((1 − 0.2) · 0.5 + 0.2) = 0.06.
  EXPECT_NEAR(plain(50), 0.06, 1e-15);
  EXPECT_NEAR(plain(100), 0.02, 1e-15);   // alpha · initial at the end
  EXPECT_NEAR(plain(1000), 0.02, 1e-15);  // and after it
  const ro::CosineDecay warm({.initial_learning_rate = 0.0, .decay_steps = 10, .warmup_target = 0.5, .warmup_steps = 4});
  EXPECT_DOUBLE_EQ(warm(0), 0.0);
  EXPECT_DOUBLE_EQ(warm(2), 0.25);  // linear warmup
  EXPECT_DOUBLE_EQ(warm(4), 0.5);   // then the cosine from the warmup target
  EXPECT_NEAR(warm(9), 0.25, 1e-15);
  EXPECT_NEAR(warm(14), 0.0, 1e-15);
  EXPECT_THROW(ro::CosineDecay({.decay_steps = 0}), regula::ValueError);
  EXPECT_THROW(ro::CosineDecay({.decay_steps = 5, .alpha = 1.5}), regula::ValueError);
  EXPECT_THROW(ro::CosineDecay({.decay_steps = 5, .warmup_target = 0.1, .warmup_steps = 0}), regula::ValueError);
}

TEST(CosineDecay, AnOptimizerStepsWithTheScheduledRateAndRoundTripsItsConfig) {
  using nlohmann::json;
  auto sgd = ro::from_config(json::parse(R"({"class_name": "SGD", "learning_rate":
      {"module": "keras.optimizers.schedules", "class_name": "CosineDecay",
       "config": {"initial_learning_rate": 0.4, "decay_steps": 2, "alpha": 0.0, "name": "CosineDecay",
                  "warmup_target": null, "warmup_steps": 0}, "registered_name": null}})"));
  ASSERT_NE(sgd->learning_rate_schedule(), nullptr);
  Weight w;
  w.value = Tensor(regula::Shape{1}, 1.0f);
  w.gradient = Tensor(regula::Shape{1}, 1.0f);
  w.trainable = true;
  std::vector<Weight*> list = {&w};
  // Steps 0, 1, 2 use 0.4, 0.2, 0: w = 1 − 0.4 − 0.2 − 0.
  for (int i = 0; i < 3; ++i) sgd->apply(list);
  EXPECT_NEAR(w.value[0], 0.4f, 1e-6f);
  EXPECT_DOUBLE_EQ(sgd->learning_rate(), 0.0);
  // The schedule is part of the config, and a fresh copy follows it from iteration 0.
  EXPECT_EQ(sgd->get_config()["learning_rate"]["class_name"], "CosineDecay");
  const auto copy = ro::fresh_copy(*sgd);
  EXPECT_DOUBLE_EQ(copy->learning_rate(), 0.4);
  EXPECT_EQ(copy->get_config(), ro::from_config(sgd->get_config())->get_config());
  // As in Keras, a scheduled learning rate is not settable.
  EXPECT_THROW(sgd->set_learning_rate(0.1), regula::StateError);
  const std::string m = message_of([] {
    ro::from_config(json::parse(R"({"class_name": "Adam", "learning_rate": {"class_name": "ExponentialDecay"}})"));
  });
  EXPECT_NE(m.find("known: CosineDecay"), std::string::npos) << m;
}
