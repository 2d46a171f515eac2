// Keras's mixed precision (keras.mixed_precision): dtype policies, the global policy that layers
// take when they are made, per-layer "dtype" in configurations, and a mixed_bfloat16 model whose
// outputs stay close to float32's. On a CPU without bfloat16 instructions the policy computes in
// float32, and the tests check that instead.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "regula/backend/compute_dtype.hpp"
#include "regula/error.hpp"
#include "regula/experiment/experiment.hpp"
#include "regula/layers/dense.hpp"
#include "regula/layers/dtype_policy.hpp"
#include "regula/layers/layer_factory.hpp"
#include "regula/model/seed_model.hpp"
#include "regula/utils/random.hpp"
#include "test_support.hpp"

namespace rg = regula;
namespace mp = regula::mixed_precision;
using regula::testing_support::expect_error;

TEST(DTypePolicy, NamesItsVariableAndComputeDtypesAsKeras) {
  const mp::DTypePolicy mixed("mixed_bfloat16");
  EXPECT_EQ(mixed.variable_dtype(), "float32");
  EXPECT_EQ(mixed.compute_dtype(), "bfloat16");
  EXPECT_EQ(mixed.kernel_compute(),
            rg::backend::cpu_has_bfloat16() ? rg::backend::ComputeDtype::bfloat16 : rg::backend::ComputeDtype::float32);
  const mp::DTypePolicy plain;
  EXPECT_EQ(plain.name(), "float32");
  EXPECT_EQ(plain.compute_dtype(), "float32");
  expect_error<rg::ValueError>([] { mp::DTypePolicy("mixed_float16"); }, {"'mixed_float16' is not built", "'mixed_bfloat16'"});
  expect_error<rg::ValueError>([] { mp::DTypePolicy("fp8"); }, {"'fp8'", "'float32', 'mixed_bfloat16'"});
  // Configurations: "float32" as a string, Keras 3's DTypePolicy object otherwise, and Keras 2's
  // {class_name: Policy} read too.
  EXPECT_EQ(plain.get_config(), "float32");
  EXPECT_EQ(mixed.get_config()["class_name"], "DTypePolicy");
  EXPECT_EQ(mp::DTypePolicy::from_config(mixed.get_config(), "x"), mixed);
  EXPECT_EQ(mp::DTypePolicy::from_config({{"class_name", "Policy"}, {"config", {{"name", "mixed_bfloat16"}}}}, "x"), mixed);
  expect_error<rg::ValueError>([] { mp::DTypePolicy::from_config(3, "model.layers[2]: dtype"); },
                               {"model.layers[2]: dtype", "must be a policy name"});
}

TEST(DTypePolicy, LayersTakeTheGlobalPolicyWhenTheyAreMade) {
  const rg::layers::Dense before(4);
  {
    const mp::ScopedGlobalPolicy mixed("mixed_bfloat16");
    EXPECT_EQ(mp::global_policy().name(), "mixed_bfloat16");
    const rg::layers::Dense during(4);
    EXPECT_EQ(during.dtype_policy().name(), "mixed_bfloat16");
    EXPECT_EQ(during.get_config()["dtype"]["config"]["name"], "mixed_bfloat16");
    EXPECT_EQ(before.dtype_policy().name(), "float32");
  }
  EXPECT_EQ(mp::global_policy().name(), "float32");
  // A configuration's dtype sets the layer's policy, whatever the global one.
  const auto layer = rg::layers::layer_from_config({{"class_name", "Dense"}, {"units", 3}, {"dtype", "mixed_bfloat16"}}, "l");
  EXPECT_EQ(layer->dtype_policy().name(), "mixed_bfloat16");
}

TEST(DTypePolicy, StrictRefusesACpuWithoutBfloat16) {
  if (rg::backend::cpu_has_bfloat16()) {
    EXPECT_NO_THROW(mp::ScopedGlobalPolicy("mixed_bfloat16", {.strict = true}));
  } else {
    expect_error<rg::ValueError>([] { mp::ScopedGlobalPolicy("mixed_bfloat16", {.strict = true}); },
                                 {"no bfloat16 instructions", "strict"});
  }
  EXPECT_EQ(mp::global_policy().name(), "float32");
}

TEST(MixedBfloat16, TheSeedModelTrainsCloseToFloat32) {
  // The same weights and batch under both policies: predictions within bfloat16's precision;
  // variables stay float32. Where the CPU has bfloat16, the outputs differ (the products really
  // are rounded); elsewhere they are equal.
  rg::set_random_seed(3);
  auto plain = rg::models::seed_model();
  std::unique_ptr<rg::Model> mixed;
  {
    // The same seed: the same dropout streams, so training steps compare too.
    rg::set_random_seed(3);
    const mp::ScopedGlobalPolicy policy("mixed_bfloat16");
    mixed = rg::models::seed_model();
  }
  mixed->set_weights(plain->get_weights());
  rg::Rng rng(4);
  rg::Tensor x({16, 28, 28, 1});
  for (float& v : x.values()) v = static_cast<float>(rng.uniform());
  const rg::Tensor p = plain->predict_on_batch(x);
  const rg::Tensor q = mixed->predict_on_batch(x);
  double worst = 0.0;
  for (int64_t i = 0; i < p.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(p[i]) - q[i]));
  EXPECT_LT(worst, 0.02);
  if (rg::backend::cpu_has_bfloat16())
    EXPECT_GT(worst, 1e-6);
  else
    EXPECT_EQ(worst, 0.0);

  rg::Tensor y({16});
  for (float& v : y.values()) v = static_cast<float>(rng.uniform_int(10));
  plain->compile({.optimizer = rg::optimizers::Adam(), .loss = "sparse_categorical_crossentropy"});
  mixed->compile({.optimizer = rg::optimizers::Adam(), .loss = "sparse_categorical_crossentropy"});
  const double loss_plain = plain->train_on_batch(x, y);
  const double loss_mixed = mixed->train_on_batch(x, y);
  EXPECT_NEAR(loss_mixed, loss_plain, 0.01 * loss_plain);
}

TEST(MixedBfloat16, AnExperimentSetsThePolicyByName) {
  nlohmann::json e = rg::experiment::default_experiment();
  e["dtype_policy"] = "mixed_bfloat16";
  const auto model = rg::experiment::summary_model(e);
  for (const auto* layer : model->layers())
    if (layer->class_name() == "Conv2D" || layer->class_name() == "Dense") {
      EXPECT_EQ(layer->dtype_policy().name(), "mixed_bfloat16") << layer->name();
    }
  EXPECT_EQ(mp::global_policy().name(), "float32");
  e["dtype_policy"] = "half";
  expect_error<rg::ValueError>([&] { rg::experiment::summary_model(e); }, {"experiment: dtype_policy", "'half'"});
}
