// Loss values on hand-computed inputs, against Keras 3's rules (keras/src/losses/losses.py and
// keras/src/backend/numpy/nn.py). Gradients are checked numerically in gradcheck_test.cpp; here
// only closed forms that document a rule (normalisation, fused softmax, weights) are checked.

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "regula/error.hpp"
#include "regula/losses/loss.hpp"

namespace rl = regula::losses;
using regula::Shape;
using regula::Tensor;

namespace {

std::vector<float> per_sample(const rl::Loss& loss, const Tensor& y_true, const Tensor& y_pred) {
  loss.validate(y_true, y_pred);
  std::vector<float> out(static_cast<size_t>(y_pred.dim(0)));
  loss.per_sample(y_true, y_pred, out.data());
  return out;
}

// Keras's "sum_over_batch_size" reduction: Σ w_i·l_i / N, not divided by Σw.
double reduce(const std::vector<float>& l, const std::vector<float>& w) {
  double s = 0.0;
  for (size_t i = 0; i < l.size(); ++i) s += static_cast<double>(w[i]) * l[i];
  return s / static_cast<double>(l.size());
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

constexpr double kEps = 1e-7;  // Keras's backend.epsilon()

}  // namespace

TEST(CategoricalCrossentropy, KerasDocstringExample) {
  // keras.losses.categorical_crossentropy docstring: [0.0513, 2.303].
  auto loss = rl::categorical_crossentropy();
  Tensor y({2, 3}, {0, 1, 0, 0, 0, 1});
  Tensor p({2, 3}, {0.05f, 0.95f, 0.0f, 0.1f, 0.8f, 0.1f});
  auto l = per_sample(*loss, y, p);
  EXPECT_NEAR(l[0], -std::log(0.95), 1e-6);
  EXPECT_NEAR(l[1], -std::log(0.1), 1e-6);
  // CategoricalCrossentropy()(y, p) in the Keras docs: 1.177.
  EXPECT_NEAR(reduce(l, {1, 1}), 1.1769392, 1e-5);
}

TEST(CategoricalCrossentropy, NormalisesRowsBeforeTheLog) {
  // numpy/jax backends: output = output / sum(output, axis); then clip; then log.
  auto loss = rl::categorical_crossentropy();
  Tensor y({1, 3}, {0, 1, 0});
  Tensor p({1, 3}, {1.0f, 2.0f, 1.0f});
  EXPECT_NEAR(per_sample(*loss, y, p)[0], -std::log(0.5), 1e-6);
}

TEST(CategoricalCrossentropy, ClipsToEpsilon) {
  // A zero probability for the true class is clipped to 1e-7: loss = −log(1e-7) ≈ 16.118.
  auto loss = rl::categorical_crossentropy();
  Tensor y({1, 3}, {1, 0, 0});
  Tensor p({1, 3}, {0.0f, 1.0f, 0.0f});
  EXPECT_NEAR(per_sample(*loss, y, p)[0], -std::log(kEps), 1e-4);
}

TEST(CategoricalCrossentropy, FromLogitsUsesStableLogSoftmax) {
  auto loss = rl::categorical_crossentropy({.from_logits = true});
  Tensor y({2, 3}, {0, 0, 1, 0, 1, 0});
  Tensor z({2, 3}, {1.0f, 2.0f, 3.0f, 1000.0f, 0.0f, -1000.0f});
  auto l = per_sample(*loss, y, z);
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  EXPECT_NEAR(l[0], lse - 3.0, 1e-6);
  EXPECT_NEAR(l[1], 1000.0, 1e-3);  // would be inf with a naive softmax
  EXPECT_FALSE(loss->fuses_with_softmax());
}

TEST(CategoricalCrossentropy, LabelSmoothing) {
  // y ← y·(1 − s) + s / C (keras.losses.categorical_crossentropy).
  const double s = 0.1;
  auto loss = rl::categorical_crossentropy({.label_smoothing = s});
  Tensor y({1, 3}, {0, 1, 0});
  Tensor p({1, 3}, {0.2f, 0.5f, 0.3f});
  const double t0 = s / 3, t1 = 1 - s + s / 3;
  const double expected = -(t0 * std::log(0.2) + t1 * std::log(0.5) + t0 * std::log(0.3));
  EXPECT_NEAR(per_sample(*loss, y, p)[0], expected, 1e-6);
}

TEST(CategoricalCrossentropy, ProbabilityGradientFollowsTheNormalisation) {
  // l = −log(p_1 / Σp) ⇒ ∂l/∂p_k = −δ_k1 / p_1 + 1 / Σp; times scale·w_i.
  auto loss = rl::categorical_crossentropy();
  Tensor y({1, 3}, {0, 1, 0});
  Tensor p({1, 3}, {0.2f, 0.3f, 0.5f});
  Tensor grad({1, 3});
  const float w = 2.0f;
  loss->gradient(y, p, &w, 0.5f, grad);
  EXPECT_NEAR(grad[0], 1.0, 1e-5);
  EXPECT_NEAR(grad[1], 1.0 - 1.0 / 0.3, 1e-5);
  EXPECT_NEAR(grad[2], 1.0, 1e-5);
}

TEST(CategoricalCrossentropy, FusedGradientIsScaledPMinusSmoothedY) {
  auto loss = rl::categorical_crossentropy({.label_smoothing = 0.3});
  ASSERT_TRUE(loss->fuses_with_softmax());
  Tensor y({2, 2}, {1, 0, 0, 1});
  Tensor p({2, 2}, {0.25f, 0.75f, 0.6f, 0.4f});
  std::vector<float> w = {1.0f, 3.0f};
  Tensor grad({2, 2});
  const float scale = 0.5f;  // 1 / N
  loss->gradient_wrt_logits(y, p, w.data(), scale, grad);
  // Smoothed labels: 1 → 0.7 + 0.15 = 0.85, 0 → 0.15.
  EXPECT_NEAR(grad[0], 0.5 * 1 * (0.25 - 0.85), 1e-6);
  EXPECT_NEAR(grad[1], 0.5 * 1 * (0.75 - 0.15), 1e-6);
  EXPECT_NEAR(grad[2], 0.5 * 3 * (0.6 - 0.15), 1e-6);
  EXPECT_NEAR(grad[3], 0.5 * 3 * (0.4 - 0.85), 1e-6);
}

TEST(CategoricalCrossentropy, RejectsMismatchedShapesWithAHint) {
  auto loss = rl::categorical_crossentropy();
  const std::string msg = message_of([&] { loss->validate(Tensor({2}, {0, 1}), Tensor({2, 3})); });
  EXPECT_NE(msg.find("categorical_crossentropy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("sparse_categorical_crossentropy"), std::string::npos) << msg;
  EXPECT_THROW(loss->validate(Tensor({3, 3}), Tensor({2, 3})), regula::ShapeError);
}

TEST(SparseCategoricalCrossentropy, KerasDocstringExampleBothLabelShapes) {
  // keras.losses.sparse_categorical_crossentropy docstring: [0.0513, 2.303].
  auto loss = rl::sparse_categorical_crossentropy();
  Tensor p({2, 3}, {0.05f, 0.95f, 0.0f, 0.1f, 0.8f, 0.1f});
  for (const Shape& shape : {Shape{2}, Shape{2, 1}}) {
    auto l = per_sample(*loss, Tensor(shape, {1, 2}), p);
    EXPECT_NEAR(l[0], -std::log(0.95), 1e-6);
    EXPECT_NEAR(l[1], -std::log(0.1), 1e-6);
  }
}

TEST(SparseCategoricalCrossentropy, SampleWeightsScaleTheGradient) {
  // Reduction Σ w_i·l_i / N: the trainer passes scale = 1/N, and sample i's gradient carries w_i.
  auto loss = rl::sparse_categorical_crossentropy();
  Tensor y({3}, {0, 1, 1});
  Tensor p({3, 2}, {0.9f, 0.1f, 0.4f, 0.6f, 0.5f, 0.5f});
  std::vector<float> w = {1.0f, 0.0f, 4.0f};
  auto l = per_sample(*loss, y, p);
  EXPECT_NEAR(reduce(l, w), (-std::log(0.9) + 0.0 - 4 * std::log(0.5)) / 3.0, 1e-6);  // not / Σw = 5
  Tensor grad({3, 2});
  loss->gradient_wrt_logits(y, p, w.data(), 1.0f / 3.0f, grad);
  EXPECT_NEAR(grad[0], (0.9 - 1) / 3.0, 1e-6);
  EXPECT_EQ(grad[2], 0.0f);
  EXPECT_EQ(grad[3], 0.0f);
  EXPECT_NEAR(grad[5], 4 * (0.5 - 1) / 3.0, 1e-6);
  // Null weights mean 1.
  loss->gradient_wrt_logits(y, p, nullptr, 1.0f, grad);
  EXPECT_NEAR(grad[3], 0.6 - 1.0, 1e-6);
}

TEST(SparseCategoricalCrossentropy, LabelSmoothingMatchesCategorical) {
  // Keras PR #23488: smoothed target (1 − s)·one_hot(y) + s / C, as the categorical loss.
  auto sparse = rl::sparse_categorical_crossentropy({.label_smoothing = 0.2});
  auto dense = rl::categorical_crossentropy({.label_smoothing = 0.2});
  Tensor p({2, 4}, {0.1f, 0.2f, 0.3f, 0.4f, 0.7f, 0.1f, 0.1f, 0.1f});
  auto ls = per_sample(*sparse, Tensor({2}, {2, 0}), p);
  auto ld = per_sample(*dense, Tensor({2, 4}, {0, 0, 1, 0, 1, 0, 0, 0}), p);
  EXPECT_NEAR(ls[0], ld[0], 1e-6);
  EXPECT_NEAR(ls[1], ld[1], 1e-6);
  const double t = 0.05, hit = 0.8 + 0.05;
  EXPECT_NEAR(ls[0], -(t * std::log(0.1) + t * std::log(0.2) + hit * std::log(0.3) + t * std::log(0.4)), 1e-6);
}

TEST(SparseCategoricalCrossentropy, FromLogits) {
  auto loss = rl::sparse_categorical_crossentropy({.from_logits = true});
  auto l = per_sample(*loss, Tensor({1}, {0}), Tensor({1, 2}, {0.0f, 0.0f}));
  EXPECT_NEAR(l[0], std::log(2.0), 1e-6);
  Tensor grad({1, 2});
  loss->gradient(Tensor({1}, {0}), Tensor({1, 2}, {0.0f, 0.0f}), nullptr, 1.0f, grad);
  EXPECT_NEAR(grad[0], -0.5, 1e-6);
  EXPECT_NEAR(grad[1], 0.5, 1e-6);
  EXPECT_THROW(loss->gradient_wrt_logits(Tensor({1}, {0}), Tensor({1, 2}), nullptr, 1.0f, grad), regula::StateError);
}

TEST(SparseCategoricalCrossentropy, ValidateNamesLossValueSampleAndRange) {
  auto loss = rl::sparse_categorical_crossentropy();
  Tensor p({3, 3}, std::vector<float>(9, 1.0f / 3));
  std::string msg = message_of([&] { loss->validate(Tensor({3}, {0, 3, 1}), p); });
  EXPECT_NE(msg.find("sparse_categorical_crossentropy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("label 3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("sample 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[0, 3)"), std::string::npos) << msg;
  msg = message_of([&] { loss->validate(Tensor({3, 1}, {0, 1, 1.5f}), p); });
  EXPECT_NE(msg.find("1.5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("sample 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not an integer"), std::string::npos) << msg;
  EXPECT_THROW(loss->validate(Tensor({3}, {-1, 0, 0}), p), regula::ValueError);
  EXPECT_THROW(loss->validate(Tensor({3}, {NAN, 0, 0}), p), regula::ValueError);
  // per_sample checks too: a bad index must not read out of bounds.
  std::vector<float> out(3);
  EXPECT_THROW(loss->per_sample(Tensor({3}, {0, 7, 1}), p, out.data()), regula::ValueError);
  // One-hot labels given to the sparse loss: a shape error with a hint.
  msg = message_of([&] { loss->validate(Tensor({3, 3}), p); });
  EXPECT_NE(msg.find("use categorical_crossentropy"), std::string::npos) << msg;
  EXPECT_THROW(loss->validate(Tensor({2}, {0, 1}), p), regula::ShapeError);
}

TEST(BinaryCrossentropy, KerasDocstringExample) {
  // keras.losses.binary_crossentropy docstring: [0.916, 0.714] (mean over the last axis).
  auto loss = rl::binary_crossentropy();
  Tensor y({2, 2}, {0, 1, 0, 0});
  Tensor p({2, 2}, {0.6f, 0.4f, 0.4f, 0.6f});
  auto l = per_sample(*loss, y, p);
  EXPECT_NEAR(l[0], -(std::log(0.4) + std::log(0.4)) / 2, 1e-6);
  EXPECT_NEAR(l[1], -(std::log(0.6) + std::log(0.4)) / 2, 1e-6);
  EXPECT_FALSE(loss->fuses_with_softmax());
}

TEST(BinaryCrossentropy, ClipsAndSmoothsAndAcceptsFlatLabels) {
  auto loss = rl::binary_crossentropy();
  // p = 0 for y = 1 → clipped to 1e-7; labels (N,) fit predictions (N, 1).
  auto l = per_sample(*loss, Tensor({2}, {1, 0}), Tensor({2, 1}, {0.0f, 0.0f}));
  EXPECT_NEAR(l[0], -std::log(kEps), 1e-4);
  EXPECT_NEAR(l[1], -std::log(1 - kEps), 1e-6);
  // y ← y·(1 − s) + 0.5·s: with s = 0.2, 1 → 0.9.
  auto smooth = rl::binary_crossentropy({.label_smoothing = 0.2});
  auto ls = per_sample(*smooth, Tensor({1, 1}, {1}), Tensor({1, 1}, {0.7f}));
  EXPECT_NEAR(ls[0], -(0.9 * std::log(0.7) + 0.1 * std::log(0.3)), 1e-6);
}

TEST(BinaryCrossentropy, FromLogitsIsStable) {
  auto loss = rl::binary_crossentropy({.from_logits = true});
  auto l = per_sample(*loss, Tensor({3, 1}, {1, 0, 0}), Tensor({3, 1}, {0.0f, 100.0f, -100.0f}));
  EXPECT_NEAR(l[0], std::log(2.0), 1e-6);
  EXPECT_NEAR(l[1], 100.0, 1e-4);
  EXPECT_NEAR(l[2], 0.0, 1e-6);
  Tensor grad({3, 1});
  loss->gradient(Tensor({3, 1}, {1, 0, 0}), Tensor({3, 1}, {0.0f, 100.0f, -100.0f}), nullptr, 1.0f, grad);
  EXPECT_NEAR(grad[0], -0.5, 1e-6);  // sigmoid(z) − y
  EXPECT_NEAR(grad[1], 1.0, 1e-6);
}

TEST(BinaryCrossentropy, RejectsMismatchedShapes) {
  auto loss = rl::binary_crossentropy();
  EXPECT_THROW(loss->validate(Tensor({2, 3}), Tensor({2, 2})), regula::ShapeError);
}

TEST(MeanSquaredError, MeanOverTheLastAxesPerSample) {
  auto loss = rl::mean_squared_error();
  auto l = per_sample(*loss, Tensor({2, 2}, {0, 1, 0, 0}), Tensor({2, 2}, {1, 1, 1, 0}));
  EXPECT_NEAR(l[0], 0.5, 1e-7);
  EXPECT_NEAR(l[1], 0.5, 1e-7);
  // (N, 2, 2): every non-batch element is averaged.
  auto l3 = per_sample(*loss, Tensor({1, 2, 2}, {0, 0, 0, 0}), Tensor({1, 2, 2}, {1, 2, 3, 4}));
  EXPECT_NEAR(l3[0], (1 + 4 + 9 + 16) / 4.0, 1e-6);
  // Gradient: scale·w_i·2(p − y)/M.
  Tensor grad({2, 2});
  std::vector<float> w = {3.0f, 1.0f};
  loss->gradient(Tensor({2, 2}, {0, 1, 0, 0}), Tensor({2, 2}, {1, 1, 1, 0}), w.data(), 0.5f, grad);
  EXPECT_NEAR(grad[0], 0.5 * 3 * 2 * 1 / 2.0, 1e-6);
  EXPECT_NEAR(grad[1], 0.0, 1e-7);
  EXPECT_NEAR(grad[2], 0.5 * 1 * 2 * 1 / 2.0, 1e-6);
  EXPECT_THROW(loss->validate(Tensor({2, 3}), Tensor({2, 2})), regula::ShapeError);
  auto flat = per_sample(*loss, Tensor({2}, {1, 2}), Tensor({2, 1}, {0, 0}));
  EXPECT_NEAR(flat[1], 4.0, 1e-7);
}

TEST(Losses, OptionsAreValidated) {
  std::string msg = message_of([] { rl::categorical_crossentropy({.label_smoothing = 1.5}); });
  EXPECT_NE(msg.find("categorical_crossentropy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("label_smoothing=1.5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[0, 1]"), std::string::npos) << msg;
  EXPECT_THROW(rl::binary_crossentropy({.label_smoothing = -0.1}), regula::ValueError);
  EXPECT_THROW(rl::sparse_categorical_crossentropy({.label_smoothing = NAN}), regula::ValueError);
}

TEST(Losses, GetByKerasNames) {
  EXPECT_EQ(rl::get("categorical_crossentropy")->name(), "categorical_crossentropy");
  EXPECT_EQ(rl::get("sparse_categorical_crossentropy")->name(), "sparse_categorical_crossentropy");
  EXPECT_EQ(rl::get("SparseCategoricalCrossentropy")->name(), "sparse_categorical_crossentropy");
  EXPECT_EQ(rl::get("binary_crossentropy")->name(), "binary_crossentropy");
  EXPECT_EQ(rl::get("mse")->name(), "mean_squared_error");
  EXPECT_EQ(rl::get("mean_squared_error")->name(), "mean_squared_error");
  const std::string msg = message_of([] { rl::get("hinge"); });
  EXPECT_NE(msg.find("hinge"), std::string::npos) << msg;
  EXPECT_NE(msg.find("sparse_categorical_crossentropy"), std::string::npos) << msg;
  const auto config = rl::categorical_crossentropy({.from_logits = true, .label_smoothing = 0.1})->get_config();
  EXPECT_EQ(config["name"], "categorical_crossentropy");
  EXPECT_EQ(config["from_logits"], true);
  EXPECT_DOUBLE_EQ(config["label_smoothing"].get<double>(), 0.1);
  Tensor grad({1, 1});
  EXPECT_FALSE(rl::mean_squared_error()->fuses_with_softmax());
  EXPECT_THROW(rl::mean_squared_error()->gradient_wrt_logits(Tensor({1, 1}), Tensor({1, 1}), nullptr, 1.0f, grad),
               regula::StateError);
}
