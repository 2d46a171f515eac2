// Layer fusion (Model::set_layer_fusion): BatchNormalization → ReLU → Dropout (→ MaxPooling2D) chains run as one
// pass. The rule: fusion changes nothing but speed and memory. Two identical models, one fused and
// one not, trained on the same batches give the same losses, weights and predictions bit for bit;
// an output read by two layers is never folded away.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "regula/model/seed_model.hpp"
#include "regula/regula.hpp"

namespace rg = regula;
namespace rl = regula::layers;

namespace {

struct Batch {
  rg::Tensor x, y;
};

Batch random_batch(const rg::Shape& sample_shape, int64_t batch, int64_t classes, uint64_t seed) {
  rg::Rng rng(seed);
  Batch b{rg::Tensor(sample_shape.with_batch(batch)), rg::Tensor({batch})};
  for (int64_t i = 0; i < b.x.size(); ++i) b.x[i] = static_cast<float>(rng.normal());
  for (int64_t i = 0; i < batch; ++i) b.y[i] = static_cast<float>(rng.uniform_int(static_cast<uint64_t>(classes)));
  return b;
}

// Trains `fused` and `plain` (built alike, from the same seed) side by side and expects every
// observable result to be identical.
void expect_identical_training(rg::Model& fused, rg::Model& plain, const rg::Shape& sample_shape, int64_t classes) {
  plain.set_layer_fusion(false);
  ASSERT_TRUE(fused.layer_fusion());
  for (rg::Model* m : {&fused, &plain})
    m->compile({.optimizer = "adam", .loss = "sparse_categorical_crossentropy", .metrics = {"accuracy"}});
  for (int step = 0; step < 3; ++step) {
    const Batch b = random_batch(sample_shape, 64, classes, 100 + static_cast<uint64_t>(step));
    const double loss_fused = fused.train_on_batch(b.x, b.y);
    const double loss_plain = plain.train_on_batch(b.x, b.y);
    EXPECT_EQ(loss_fused, loss_plain) << "step " << step;
  }
  const std::vector<rg::Tensor> wf = fused.get_weights(), wp = plain.get_weights();
  ASSERT_EQ(wf.size(), wp.size());
  for (size_t k = 0; k < wf.size(); ++k)
    for (int64_t i = 0; i < wf[k].size(); ++i) ASSERT_EQ(wf[k][i], wp[k][i]) << "weight " << k << " element " << i;
  const Batch test = random_batch(sample_shape, 33, classes, 999);
  const rg::Tensor pf = fused.predict_on_batch(test.x).clone();
  const rg::Tensor& pp = plain.predict_on_batch(test.x);
  for (int64_t i = 0; i < pf.size(); ++i) ASSERT_EQ(pf[i], pp[i]) << "prediction element " << i;
}

TEST(LayerFusion, SeedModelTrainsAndPredictsExactlyAsUnfused) {
  // The seed model has three BatchNormalization → ReLU → Dropout chains (rates 0.25, 0.25, 0.5).
  rg::set_random_seed(7);
  auto fused = rg::models::seed_model();
  rg::set_random_seed(7);
  auto plain = rg::models::seed_model();
  expect_identical_training(*fused, *plain, {28, 28, 1}, 10);
}

std::unique_ptr<rg::Model> branching_model() {
  // norm_a → relu_a → drop_a: a full chain. norm_b is read by relu_b and by the Add, so it must
  // stay a separate layer; relu_c → drop_c without a BatchNormalization is no chain either; norm_d
  // → drop_d (no ReLU) is a chain.
  auto input = rl::Input({12});
  auto h = rl::Dense(16)(input);
  h = rl::BatchNormalization({.name = "norm_a"})(h);
  h = rl::Activation("relu", {.name = "relu_a"})(h);
  h = rl::Dropout(0.3, {.name = "drop_a"})(h);
  auto n = rl::Dense(16)(h);
  n = rl::BatchNormalization({.name = "norm_b"})(n);
  auto r = rl::Activation("relu", {.name = "relu_b"})(n);
  auto sum = rl::Add()({r, n});
  auto c = rl::Activation("relu", {.name = "relu_c"})(sum);
  c = rl::Dropout(0.2, {.name = "drop_c"})(c);
  auto d = rl::Dense(8)(c);
  d = rl::BatchNormalization({.name = "norm_d"})(d);
  d = rl::Dropout(0.1, {.name = "drop_d"})(d);
  auto out = rl::Dense(4, {.activation = "softmax"})(d);
  return std::make_unique<rg::Model>(input, out);
}

TEST(LayerFusion, BranchingGraphTrainsExactlyAsUnfused) {
  rg::set_random_seed(8);
  auto fused = branching_model();
  rg::set_random_seed(8);
  auto plain = branching_model();
  expect_identical_training(*fused, *plain, {12}, 4);
}

}  // namespace
