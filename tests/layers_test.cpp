// Keras behaviour of the layers: output shapes, option and shape errors, Dropout's rate and
// scaling, BatchNormalization's statistics. Each test names the Keras rule it checks.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "regula/error.hpp"
#include "regula/layers/activation.hpp"
#include "regula/layers/activations.hpp"
#include "regula/layers/batch_normalization.hpp"
#include "regula/layers/conv2d.hpp"
#include "regula/layers/dropout.hpp"
#include "regula/layers/flatten.hpp"
#include "regula/layers/merge.hpp"
#include "regula/layers/pooling.hpp"
#include "regula/layers/reshape.hpp"
#include "regula/utils/random.hpp"

namespace rl = regula::layers;
using regula::Shape;
using regula::ShapeError;
using regula::Tensor;
using regula::ValueError;

namespace {

// Expects `f` to throw E with a message containing every one of `parts`.
template <class E, class F>
void expect_error(F f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no exception thrown";
  } catch (const E& e) {
    const std::string message = e.what();
    for (const std::string& part : parts) EXPECT_NE(message.find(part), std::string::npos) << message;
  }
}

TEST(Activations, ReluZeroesNegativesAndPassesNaN) {
  // Keras / TensorFlow: relu(x) = max(x, 0) elementwise, and relu(NaN) is NaN (a NaN must reach
  // the loss so that training stops on it). Large enough for the vectorized, threaded path.
  regula::Tensor x({100000});
  for (int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 7) - 3.0f;
  x[12345] = std::nanf("");
  regula::Tensor y(x.shape());
  rl::activation_forward(rl::ActivationKind::relu, x, y);
  for (int64_t i = 0; i < x.size(); ++i) {
    if (i == 12345) continue;
    ASSERT_EQ(y[i], x[i] > 0.0f ? x[i] : 0.0f) << i;
  }
  EXPECT_TRUE(std::isnan(y[12345]));
}

TEST(Conv2D, OutputShapes) {
  // Keras: "valid" out = floor((in - k) / s) + 1; "same" out = ceil(in / s).
  EXPECT_EQ(rl::Conv2D(64, 3, {.padding = "same"}).build({{28, 28, 1}}), Shape({28, 28, 64}));
  EXPECT_EQ(rl::Conv2D(8, 3).build({{28, 28, 1}}), Shape({26, 26, 8}));
  EXPECT_EQ(rl::Conv2D(8, {3, 2}, {.strides = 2}).build({{7, 8, 3}}), Shape({3, 4, 8}));
  EXPECT_EQ(rl::Conv2D(8, 3, {.strides = 2, .padding = "same"}).build({{7, 8, 3}}), Shape({4, 4, 8}));
  // Keras: kernel (kh, kw, in, filters), bias (filters); 3·3·1·64 + 64 = 640 parameters.
  rl::Conv2D conv(64, 3, {.padding = "same"});
  conv.build({{28, 28, 1}});
  EXPECT_EQ(conv.weights()[0].value.shape(), Shape({3, 3, 1, 64}));
  EXPECT_EQ(conv.count_params(), 640);
  const auto config = conv.get_config();
  EXPECT_EQ(config["kernel_size"], nlohmann::json({3, 3}));
  EXPECT_EQ(config["padding"], "same");
}

TEST(Conv2D, SamePaddingPutsTheOddRowAfter) {
  // Keras/TensorFlow "same": pad_total = max((out-1)·s + k - in, 0), pad_before = pad_total / 2.
  EXPECT_EQ(rl::window_output_length(5, 2, 1, rl::Padding::same).pad_before, 0);  // total 1: after
  EXPECT_EQ(rl::window_output_length(5, 3, 1, rl::Padding::same).pad_before, 1);
  EXPECT_EQ(rl::window_output_length(6, 3, 2, rl::Padding::same).pad_before, 0);  // out 3, total 1
  EXPECT_EQ(rl::window_output_length(7, 4, 2, rl::Padding::same).out, 4);
  EXPECT_EQ(rl::window_output_length(7, 4, 2, rl::Padding::same).pad_before, 1);  // total 3
}

TEST(Conv2D, RejectsBadOptionsAndShapes) {
  expect_error<ValueError>([] { rl::Conv2D(0, 3); }, {"Conv2D", "filters=0"});
  expect_error<ValueError>([] { rl::Conv2D(4, {3, 0}); }, {"kernel_size=(3, 0)"});
  expect_error<ValueError>([] { rl::Conv2D(4, 3, {.strides = {1, -1}}); }, {"strides=(1, -1)"});
  expect_error<ValueError>([] { rl::Conv2D(4, 3, {.padding = "full"}); }, {"padding='full'", "'valid', 'same'"});
  expect_error<ValueError>([] { rl::Conv2D(4, 3, {.activation = "swish2"}); }, {"swish2"});
  expect_error<ValueError>([] { rl::Conv2D(4, 3, {.kernel_initializer = "nope"}); }, {"kernel_initializer='nope'"});
  expect_error<ShapeError>([] { rl::Conv2D(4, 3).build({{28, 28}}); }, {"Conv2D", "(None, 28, 28)"});
  expect_error<ShapeError>([] { rl::Conv2D(4, 5).build({{4, 8, 1}}); }, {"(None, 4, 8, 1)", "smaller than the kernel"});
  EXPECT_NO_THROW(rl::Conv2D(4, 3, {.padding = "SAME"}));  // Keras lower-cases padding
}

TEST(Pooling, OutputShapesAndErrors) {
  // Keras: strides default to pool_size; same rules as Conv2D for the output size.
  EXPECT_EQ(rl::MaxPooling2D().build({{28, 28, 64}}), Shape({14, 14, 64}));
  EXPECT_EQ(rl::MaxPooling2D(2).build({{7, 7, 3}}), Shape({3, 3, 3}));
  EXPECT_EQ(rl::MaxPooling2D(2, {.padding = "same"}).build({{7, 7, 3}}), Shape({4, 4, 3}));
  EXPECT_EQ(rl::AveragePooling2D(3, {.strides = 1}).build({{5, 6, 2}}), Shape({3, 4, 2}));
  rl::MaxPooling2D pool;
  EXPECT_EQ(pool.strides(), rl::Size2D(2, 2));
  EXPECT_EQ(rl::GlobalAveragePooling2D().build({{5, 6, 7}}), Shape({7}));
  EXPECT_EQ(rl::GlobalAveragePooling2D({.keepdims = true}).build({{5, 6, 7}}), Shape({1, 1, 7}));
  expect_error<ValueError>([] { rl::MaxPooling2D({0, 2}); }, {"MaxPooling2D", "pool_size=(0, 2)"});
  expect_error<ValueError>([] { rl::AveragePooling2D(2, {.padding = "causal"}); }, {"AveragePooling2D", "causal"});
  expect_error<ShapeError>([] { rl::MaxPooling2D(3).build({{2, 8, 1}}); }, {"(None, 2, 8, 1)"});
  expect_error<ShapeError>([] { rl::GlobalAveragePooling2D().build({{8, 1}}); }, {"GlobalAveragePooling2D"});
}

TEST(ShapeLayers, FlattenReshapeMerge) {
  EXPECT_EQ(rl::Flatten().build({{7, 7, 128}}), Shape({6272}));
  // Keras Reshape: one -1 is inferred from the element count.
  EXPECT_EQ(rl::Reshape({-1, 4}).build({{6, 2}}), Shape({3, 4}));
  expect_error<ValueError>([] { rl::Reshape({-1, -1}); }, {"Reshape", "at most one"});
  expect_error<ValueError>([] { rl::Reshape({0, 2}); }, {"Reshape", "(0, 2)"});
  expect_error<ShapeError>([] { rl::Reshape({5}).build({{6, 2}}); }, {"Reshape", "(None, 6, 2)", "(5,)"});
  expect_error<ShapeError>([] { rl::Reshape({-1, 5}).build({{6, 2}}); }, {"not divisible"});
  EXPECT_EQ(rl::Add().build({{3, 4}, {3, 4}}), Shape({3, 4}));
  expect_error<ShapeError>([] { rl::Add().build({{3, 4}, {3, 5}}); }, {"Add", "(None, 3, 4), (None, 3, 5)"});
  // Keras Concatenate: axis counts the batch axis; shapes equal except along it.
  EXPECT_EQ(rl::Concatenate().build({{3, 4}, {3, 5}}), Shape({3, 9}));
  EXPECT_EQ(rl::Concatenate(1).build({{3, 4}, {2, 4}}), Shape({5, 4}));
  EXPECT_EQ(rl::Concatenate(-2).build({{3, 4}, {2, 4}}), Shape({5, 4}));
  expect_error<ShapeError>([] { rl::Concatenate().build({{3, 4}, {2, 5}}); }, {"Concatenate", "except along axis -1"});
  expect_error<ShapeError>([] { rl::Concatenate(3).build({{3, 4}, {3, 4}}); }, {"axis=3", "out of range"});
  expect_error<ValueError>([] { rl::Concatenate(0); }, {"batch axis"});
}

TEST(Concatenate, JoinsAlongTheAxis) {
  rl::Concatenate cat(1);
  cat.build({{1, 2}, {2, 2}});
  Tensor a({2, 1, 2}, {1, 2, 3, 4});
  Tensor b({2, 2, 2}, {5, 6, 7, 8, 9, 10, 11, 12});
  Tensor out({2, 3, 2});
  cat.forward({&a, &b}, out, {});
  EXPECT_EQ(std::vector<float>(out.data(), out.data() + out.size()),
            (std::vector<float>{1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12}));
}

TEST(Activation, NamesAndSoftmaxFusion) {
  EXPECT_TRUE(rl::Activation("softmax").ends_in_softmax());
  EXPECT_FALSE(rl::Activation("relu").ends_in_softmax());
  expect_error<ValueError>([] { rl::Activation("sigmoidd"); }, {"Activation", "sigmoidd", "relu"});
}

TEST(Dropout, RejectsRatesOutsideZeroOne) {
  // Keras: "rate: Float between 0 and 1" (1 would drop everything: rejected).
  expect_error<ValueError>([] { rl::Dropout(1.0); }, {"Dropout", "rate=1", "[0, 1)"});
  expect_error<ValueError>([] { rl::Dropout(-0.1); }, {"rate=-0.1"});
}

TEST(Dropout, DropsAtTheRateAndScalesKeptValues) {
  // Keras inverted dropout: keep with probability 1 - rate, scale kept values by 1 / (1 - rate);
  // at inference the layer is the identity.
  const double rate = 0.3;
  rl::Dropout dropout(rate, {.seed = 5});
  const int64_t n = 200000;
  dropout.build({{n}});
  Tensor x({1, n}, 2.0f);
  Tensor y({1, n});
  dropout.forward({&x}, y, {.training = true, .step = 1});
  int64_t dropped = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (y[i] == 0.0f)
      ++dropped;
    else
      ASSERT_FLOAT_EQ(y[i], static_cast<float>(2.0 / (1.0 - rate)));
  }
  // Binomial: σ = √(n·p·(1-p)) ≈ 205; allow 5σ.
  EXPECT_NEAR(static_cast<double>(dropped), rate * n, 5 * std::sqrt(n * rate * (1 - rate)));

  // The same step repeats its mask; another step draws a new one.
  Tensor again({1, n}), other({1, n});
  dropout.forward({&x}, again, {.training = true, .step = 1});
  dropout.forward({&x}, other, {.training = true, .step = 2});
  int64_t same = 0, differ = 0;
  for (int64_t i = 0; i < n; ++i) {
    same += again[i] == y[i];
    differ += other[i] != y[i];
  }
  EXPECT_EQ(same, n);
  EXPECT_GT(differ, n / 4);

  // Backward routes the gradient through the same mask.
  Tensor g({1, n}, 1.0f), gx({1, n});
  dropout.forward({&x}, y, {.training = true, .step = 3});
  dropout.backward({&x}, y, g, {&gx});
  for (int64_t i = 0; i < 1000; ++i) ASSERT_FLOAT_EQ(gx[i], y[i] / 2.0f);

  Tensor inference({1, n});
  dropout.forward({&x}, inference, {.training = false, .step = 1});
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(inference[i], 2.0f);
}

TEST(BatchNormalization, WeightsInKerasOrder) {
  // Keras: gamma, beta (trainable), moving_mean, moving_variance (non-trainable): 4·C values.
  rl::BatchNormalization bn;
  bn.build({{14, 14, 64}});
  ASSERT_EQ(bn.weights().size(), 4u);
  EXPECT_EQ(bn.weights()[0].name, "gamma");
  EXPECT_EQ(bn.weights()[1].name, "beta");
  EXPECT_EQ(bn.weights()[2].name, "moving_mean");
  EXPECT_EQ(bn.weights()[3].name, "moving_variance");
  EXPECT_EQ(bn.count_params(), 256);
  EXPECT_EQ(bn.count_trainable_params(), 128);
  expect_error<ValueError>([] { rl::BatchNormalization({.momentum = 1.5}); }, {"BatchNormalization", "momentum=1.5"});
  expect_error<ValueError>([] { rl::BatchNormalization({.epsilon = 0}); }, {"epsilon"});
  expect_error<ShapeError>([] { rl::BatchNormalization({.axis = 1}).build({{4, 4, 3}}); }, {"axis=1", "-1 or 3"});
}

TEST(BatchNormalization, TrainingUsesBatchStatisticsAndUpdatesMovingAverages) {
  // Keras 3 (batch_normalization.py, call): training normalizes with the batch mean and the biased
  // batch variance, then moving = moving·momentum + batch·(1 - momentum) for both statistics.
  const double momentum = 0.9, epsilon = 1e-3;
  rl::BatchNormalization bn({.momentum = momentum, .epsilon = epsilon});
  bn.build({{2, 2, 2}});  // rank 4 with batch: statistics over (batch, h, w)
  regula::Rng rng(3);
  const int64_t batch = 3, channels = 2, rows = batch * 4;
  Tensor x({batch, 2, 2, channels});
  for (int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(rng.normal() * 2.0 + (i % 2 == 0 ? 1.0 : -3.0));
  Tensor y(x.shape());
  bn.forward({&x}, y, {.training = true});
  for (int64_t c = 0; c < channels; ++c) {
    double mean = 0, var = 0;
    for (int64_t r = 0; r < rows; ++r) mean += x[r * channels + c];
    mean /= rows;
    for (int64_t r = 0; r < rows; ++r) var += (x[r * channels + c] - mean) * (x[r * channels + c] - mean);
    var /= rows;  // biased
    for (int64_t r = 0; r < rows; ++r)
      EXPECT_NEAR(y[r * channels + c], (x[r * channels + c] - mean) / std::sqrt(var + epsilon), 1e-5);
    EXPECT_NEAR(bn.moving_mean().value[c], 0.0 * momentum + mean * (1 - momentum), 1e-6);
    EXPECT_NEAR(bn.moving_variance().value[c], 1.0 * momentum + var * (1 - momentum), 1e-6);
  }
  // Inference: the moving statistics (not the batch's) normalize.
  bn.forward({&x}, y, {.training = false});
  for (int64_t c = 0; c < channels; ++c) {
    const double mm = bn.moving_mean().value[c], mv = bn.moving_variance().value[c];
    for (int64_t r = 0; r < rows; ++r)
      EXPECT_NEAR(y[r * channels + c], (x[r * channels + c] - mm) / std::sqrt(mv + epsilon), 1e-5);
  }
}

TEST(BatchNormalization, Rank2DenseOutputs) {
  // Keras on (batch, features): statistics over the batch axis only.
  rl::BatchNormalization bn({.center = false, .scale = false});
  EXPECT_EQ(bn.build({{3}}), Shape({3}));
  EXPECT_EQ(bn.weights().size(), 2u);  // only the moving statistics
  Tensor x({4, 3}, {1, 2, 3, 3, 2, 1, 5, 2, 0, 7, 2, 4});
  Tensor y(x.shape());
  bn.forward({&x}, y, {.training = true});
  for (int64_t c = 0; c < 3; ++c) {
    double sum = 0;
    for (int64_t r = 0; r < 4; ++r) sum += y[r * 3 + c];
    EXPECT_NEAR(sum, 0.0, 1e-5);
  }
  EXPECT_NEAR(y[1], 0.0, 1e-6);  // a constant feature normalizes to 0 (variance 0 + epsilon)
}

}  // namespace
