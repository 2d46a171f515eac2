// Regularization: SpatialDropout2D, GaussianNoise and GaussianDropout against their documented
// distributions (Keras's rules; bounds in standard deviations of the estimator), the weight
// constraints against Keras's formulas (keras/src/constraints/constraints.py), AdamW's trajectory
// against Keras 3's rule computed independently in double, and compute_class_weight against
// scikit-learn's "balanced" formula.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "regula/constraints/constraint.hpp"
#include "regula/error.hpp"
#include "regula/layers/gaussian_dropout.hpp"
#include "regula/layers/gaussian_noise.hpp"
#include "regula/layers/spatial_dropout2d.hpp"
#include "regula/optimizers/adamw.hpp"
#include "regula/utils/class_weight.hpp"
#include "regula/utils/random.hpp"

namespace rl = regula::layers;
namespace rc = regula::constraints;
namespace ro = regula::optimizers;
using regula::Shape;
using regula::ShapeError;
using regula::Tensor;
using regula::ValueError;

namespace {

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

Tensor random_tensor(Shape shape, uint64_t seed) {
  Tensor t(std::move(shape));
  regula::Rng rng(seed);
  for (int64_t i = 0; i < t.size(); ++i) t[i] = static_cast<float>(rng.normal());
  return t;
}

struct Moments {
  double mean = 0.0, variance = 0.0;
};
Moments moments(const std::vector<double>& v) {
  Moments m;
  for (double x : v) m.mean += x;
  m.mean /= static_cast<double>(v.size());
  for (double x : v) m.variance += (x - m.mean) * (x - m.mean);
  m.variance /= static_cast<double>(v.size() - 1);
  return m;
}

// Runs `f` with one OpenMP thread, then restores the default.
template <class F>
void single_threaded(F f) {
  const int before = omp_get_max_threads();
  omp_set_num_threads(1);
  f();
  omp_set_num_threads(before);
}

// ---------------------------------------------------------------- SpatialDropout2D

TEST(SpatialDropout2D, DropsWholeChannelsAtTheRate) {
  // Keras: Dropout with noise_shape (batch, 1, 1, channels); kept maps scaled by 1 / (1 - rate).
  const double rate = 0.3;
  rl::SpatialDropout2D layer(rate, {.seed = 11});
  const int64_t n = 500, h = 3, w = 4, c = 40;
  EXPECT_EQ(layer.build({{h, w, c}}), Shape({h, w, c}));
  const Tensor x = random_tensor({n, h, w, c}, 3);
  Tensor y({n, h, w, c});
  layer.forward({&x}, y, {.training = true, .step = 1});
  const auto keep = static_cast<float>(1.0 / (1.0 - rate));
  int64_t dropped = 0;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch) {
      const bool drop = y[((b * h) * w) * c + ch] == 0.0f && x[((b * h) * w) * c + ch] != 0.0f;
      dropped += drop;
      for (int64_t p = 0; p < h * w; ++p) {
        const int64_t i = (b * h * w + p) * c + ch;
        ASSERT_FLOAT_EQ(y[i], drop ? 0.0f : x[i] * keep) << "map (" << b << ", " << ch << ") is not uniform";
      }
    }
  const double maps = static_cast<double>(n * c);  // Binomial(maps, rate): allow 5σ
  EXPECT_NEAR(static_cast<double>(dropped), rate * maps, 5 * std::sqrt(maps * rate * (1 - rate)));

  // Backward routes the gradient through the same per-channel mask.
  Tensor g({n, h, w, c}, 1.0f), gx({n, h, w, c});
  layer.backward({&x}, y, g, {&gx});
  for (int64_t i = 0; i < y.size(); ++i) ASSERT_FLOAT_EQ(gx[i], y[i] == 0.0f && x[i] != 0.0f ? 0.0f : keep);
}

TEST(SpatialDropout2D, RepeatsPerStepIdentityAtInferenceAndValidates) {
  rl::SpatialDropout2D layer(0.5, {.seed = 2});
  layer.build({{4, 4, 8}});
  const Tensor x = random_tensor({300, 4, 4, 8}, 5);  // > 32768 elements: the parallel path
  Tensor a(x.shape()), b(x.shape()), other(x.shape()), infer(x.shape());
  layer.forward({&x}, a, {.training = true, .step = 9});
  single_threaded([&] { layer.forward({&x}, b, {.training = true, .step = 9}); });
  layer.forward({&x}, other, {.training = true, .step = 10});
  layer.forward({&x}, infer, {.training = false, .step = 9});
  int64_t differ = 0;
  for (int64_t i = 0; i < x.size(); ++i) {
    ASSERT_EQ(a[i], b[i]);
    ASSERT_EQ(infer[i], x[i]);
    differ += other[i] != a[i];
  }
  EXPECT_GT(differ, x.size() / 4);

  expect_error<ValueError>([] { rl::SpatialDropout2D(1.0); }, {"SpatialDropout2D", "rate=1", "[0, 1)"});
  expect_error<ValueError>([] { rl::SpatialDropout2D(0.2, {.data_format = "channels_first"}); },
                           {"data_format='channels_first'", "channels_last"});
  expect_error<ValueError>([] { rl::SpatialDropout2D(0.2, {.seed = -2}); }, {"seed=-2"});
  expect_error<ShapeError>([] { rl::SpatialDropout2D(0.2).build({{5, 3}}); }, {"SpatialDropout2D", "(batch, rows"});
  const auto config = layer.get_config();
  EXPECT_EQ(config["rate"], 0.5);
  EXPECT_EQ(config["seed"], 2);
  EXPECT_EQ(config["data_format"], "channels_last");
  EXPECT_EQ(rl::SpatialDropout2D(0.1).name().rfind("spatial_dropout2d", 0), 0u);
}

// ---------------------------------------------------------------- GaussianNoise

TEST(GaussianNoise, AddsZeroMeanNoiseOfTheStddev) {
  // Keras: training output = input + N(0, stddev²); inference output = input.
  const double sd = 0.4;
  rl::GaussianNoise layer(sd, {.seed = 7});
  const int64_t n = 200000;
  layer.build({{n}});
  const Tensor x = random_tensor({1, n}, 9);
  Tensor y({1, n});
  layer.forward({&x}, y, {.training = true, .step = 1});
  std::vector<double> noise(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) noise[static_cast<size_t>(i)] = static_cast<double>(y[i]) - x[i];
  const Moments m = moments(noise);
  const double dn = static_cast<double>(n);
  EXPECT_NEAR(m.mean, 0.0, 5 * sd / std::sqrt(dn));                      // σ(mean) = sd/√n
  EXPECT_NEAR(m.variance, sd * sd, 5 * sd * sd * std::sqrt(2.0 / dn));   // σ(s²) = σ²√(2/n)
  // Normal shape: P(|z| < 1) = 0.6827, P(|z| < 2) = 0.9545 (binomial bounds, 5σ).
  int64_t within1 = 0, within2 = 0;
  for (double e : noise) {
    within1 += std::abs(e) < sd;
    within2 += std::abs(e) < 2 * sd;
  }
  EXPECT_NEAR(within1 / dn, 0.682689, 5 * std::sqrt(0.6827 * 0.3173 / dn));
  EXPECT_NEAR(within2 / dn, 0.954500, 5 * std::sqrt(0.9545 * 0.0455 / dn));
  // Neighbouring elements are uncorrelated: σ(r) ≈ 1/√n.
  double cov = 0.0;
  for (size_t i = 1; i < noise.size(); ++i) cov += (noise[i] - m.mean) * (noise[i - 1] - m.mean);
  EXPECT_NEAR(cov / (dn - 1) / m.variance, 0.0, 5 / std::sqrt(dn));

  // Repeatable per step and thread count; another step draws new noise; identity at inference;
  // the gradient passes through unchanged.
  Tensor again({1, n}), other({1, n}), infer({1, n});
  single_threaded([&] { layer.forward({&x}, again, {.training = true, .step = 1}); });
  layer.forward({&x}, other, {.training = true, .step = 2});
  layer.forward({&x}, infer, {.training = false, .step = 1});
  int64_t differ = 0;
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(again[i], y[i]);
    ASSERT_EQ(infer[i], x[i]);
    differ += other[i] != y[i];
  }
  EXPECT_GT(differ, n * 9 / 10);
  Tensor g = random_tensor({1, n}, 4), gx({1, n});
  layer.forward({&x}, y, {.training = true, .step = 3});
  layer.backward({&x}, y, g, {&gx});
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(gx[i], g[i]);
}

TEST(GaussianNoise, ValidatesAndConfigures) {
  // Keras: "Expected a float value between 0 and 1" for stddev.
  expect_error<ValueError>([] { rl::GaussianNoise(1.5); }, {"GaussianNoise", "stddev=1.5", "[0, 1]"});
  expect_error<ValueError>([] { rl::GaussianNoise(-0.1); }, {"stddev=-0.1"});
  rl::GaussianNoise layer(0.2);
  EXPECT_EQ(layer.name().rfind("gaussian_noise", 0), 0u);
  const auto config = layer.get_config();
  EXPECT_EQ(config["stddev"], 0.2);
  EXPECT_TRUE(config["seed"].is_null());
}

// ---------------------------------------------------------------- GaussianDropout

TEST(GaussianDropout, MultipliesByOneCentredNoise) {
  // Keras: training output = input · N(1, rate / (1 - rate)); inference output = input.
  const double rate = 0.3;
  const double var = rate / (1 - rate);
  rl::GaussianDropout layer(rate, {.seed = 13});
  const int64_t n = 200000;
  layer.build({{n}});
  Tensor x({1, n}, 2.0f);
  Tensor y({1, n});
  layer.forward({&x}, y, {.training = true, .step = 4});
  std::vector<double> factor(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) factor[static_cast<size_t>(i)] = static_cast<double>(y[i]) / 2.0;
  const Moments m = moments(factor);
  const double dn = static_cast<double>(n);
  EXPECT_NEAR(m.mean, 1.0, 5 * std::sqrt(var / dn));
  EXPECT_NEAR(m.variance, var, 5 * var * std::sqrt(2.0 / dn));

  Tensor again({1, n}), other({1, n}), infer({1, n});
  single_threaded([&] { layer.forward({&x}, again, {.training = true, .step = 4}); });
  layer.forward({&x}, other, {.training = true, .step = 5});
  layer.forward({&x}, infer, {.training = false, .step = 4});
  int64_t differ = 0;
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(again[i], y[i]);
    ASSERT_EQ(infer[i], x[i]);
    differ += other[i] != y[i];
  }
  EXPECT_GT(differ, n * 9 / 10);

  // Backward multiplies by the same factor: ∂(x·n)/∂x = n.
  layer.forward({&x}, y, {.training = true, .step = 4});
  Tensor g({1, n}, 3.0f), gx({1, n});
  layer.backward({&x}, y, g, {&gx});
  for (int64_t i = 0; i < n; ++i) ASSERT_FLOAT_EQ(gx[i], 3.0f * y[i] / 2.0f);

  expect_error<ValueError>([] { rl::GaussianDropout(1.0); }, {"GaussianDropout", "rate=1", "[0, 1)"});
  EXPECT_EQ(layer.get_config()["rate"], rate);
  EXPECT_EQ(layer.get_config()["seed"], 13);
}

// ---------------------------------------------------------------- constraints

// Keras's formula in double: norms over `reduced` axes (keepdims), w · f(norm).
template <class F>
std::vector<double> keras_norm_rule(const Tensor& w, const std::vector<int>& reduced, F factor) {
  const int rank = w.rank();
  std::vector<int64_t> stride(static_cast<size_t>(rank), 1);
  for (int k = rank - 2; k >= 0; --k) stride[static_cast<size_t>(k)] = stride[static_cast<size_t>(k + 1)] * w.dim(k + 1);
  auto key = [&](int64_t i) {  // the flat index with the reduced coordinates zeroed
    int64_t out = 0;
    for (int k = 0; k < rank; ++k) {
      const int64_t coord = (i / stride[static_cast<size_t>(k)]) % w.dim(k);
      if (std::find(reduced.begin(), reduced.end(), k) == reduced.end()) out += coord * stride[static_cast<size_t>(k)];
    }
    return out;
  };
  std::vector<double> sq(static_cast<size_t>(w.size()), 0.0);
  for (int64_t i = 0; i < w.size(); ++i) sq[static_cast<size_t>(key(i))] += static_cast<double>(w[i]) * w[i];
  std::vector<double> out(static_cast<size_t>(w.size()));
  for (int64_t i = 0; i < w.size(); ++i)
    out[static_cast<size_t>(i)] = w[i] * factor(std::sqrt(sq[static_cast<size_t>(key(i))]));
  return out;
}

void expect_close(const Tensor& got, const std::vector<double>& want) {
  for (int64_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[static_cast<size_t>(i)], 1e-6 * std::max(1.0, std::abs(want[static_cast<size_t>(i)])))
        << "element " << i;
}

TEST(Constraints, MaxNormMatchesKeras) {
  // Keras: w · clip(norm, 0, max_value) / (epsilon + norm), epsilon = 1e-7.
  const double max_value = 1.5;
  auto rule = [&](double norm) { return std::clamp(norm, 0.0, max_value) / (1e-7 + norm); };
  // Dense kernel (in, out), axis 0: one norm per output unit. Scaled so some columns exceed 1.5.
  Tensor dense = random_tensor({6, 5}, 21);
  for (int64_t i = 0; i < dense.size(); ++i) dense[i] *= (i % 5) < 2 ? 0.2f : 1.0f;
  std::vector<double> want = keras_norm_rule(dense, {0}, rule);
  rc::MaxNorm({.max_value = max_value}).apply(dense);
  expect_close(dense, want);
  int small = 0;  // columns 0 and 1 are under the bound and stay (factor norm/(ε+norm))
  for (int64_t j = 0; j < 5; ++j) {
    double norm = 0.0;
    for (int64_t i = 0; i < 6; ++i) norm += static_cast<double>(dense[i * 5 + j]) * dense[i * 5 + j];
    EXPECT_LE(std::sqrt(norm), max_value + 1e-5);
    small += std::sqrt(norm) < max_value - 1e-3;
  }
  EXPECT_EQ(small, 2);

  // Conv2D kernel (kh, kw, in, filters), axis [0, 1, 2]: one norm per filter; also as negative axes.
  Tensor conv = random_tensor({3, 3, 2, 4}, 22);
  Tensor conv_neg = conv.clone();
  want = keras_norm_rule(conv, {0, 1, 2}, rule);
  rc::MaxNorm({.max_value = max_value, .axis = {0, 1, 2}}).apply(conv);
  rc::MaxNorm({.max_value = max_value, .axis = {-4, -3, -2}}).apply(conv_neg);
  expect_close(conv, want);
  expect_close(conv_neg, want);

  // An inner axis: norms over axis 1 of a (kh, kw, in, filters) kernel.
  Tensor mid = random_tensor({2, 3, 2, 2}, 23);
  want = keras_norm_rule(mid, {1}, rule);
  rc::MaxNorm({.max_value = max_value, .axis = {1}}).apply(mid);
  expect_close(mid, want);

  EXPECT_EQ(rc::MaxNorm().get_config(), nlohmann::json({{"max_value", 2.0}, {"axis", 0}}));
  EXPECT_EQ(rc::MaxNorm({.axis = {0, 1, 2}}).get_config()["axis"], nlohmann::json({0, 1, 2}));
  expect_error<ValueError>([] { rc::MaxNorm({.max_value = -1.0}); }, {"MaxNorm", "max_value=-1"});
  expect_error<ShapeError>([] {
    Tensor t({2, 3});
    rc::MaxNorm({.axis = {2}}).apply(t);
  }, {"MaxNorm", "axis=[2]", "(2, 3)"});
  expect_error<ShapeError>([] {
    Tensor t({2, 3});
    rc::UnitNorm({.axis = {0, -2}}).apply(t);
  }, {"UnitNorm", "appear once"});
}

TEST(Constraints, UnitNormAndNonNegMatchKeras) {
  // Keras UnitNorm: w / (epsilon + norm); NonNeg: max(w, 0).
  Tensor dense = random_tensor({4, 3}, 31);
  std::vector<double> want = keras_norm_rule(dense, {0}, [](double norm) { return 1.0 / (1e-7 + norm); });
  rc::UnitNorm().apply(dense);
  expect_close(dense, want);
  Tensor conv = random_tensor({2, 2, 3, 5}, 32);
  want = keras_norm_rule(conv, {0, 1, 2}, [](double norm) { return 1.0 / (1e-7 + norm); });
  rc::UnitNorm({.axis = {0, 1, 2}}).apply(conv);
  expect_close(conv, want);
  for (int64_t f = 0; f < 5; ++f) {
    double norm = 0.0;
    for (int64_t i = 0; i < 12; ++i) norm += static_cast<double>(conv[i * 5 + f]) * conv[i * 5 + f];
    EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-6);
  }
  EXPECT_EQ(rc::UnitNorm().get_config(), nlohmann::json({{"axis", 0}}));
  expect_error<ValueError>([] { rc::UnitNorm({.axis = {}}); }, {"UnitNorm", "axis=[]"});

  Tensor w({5}, std::vector<float>{-1.5f, 0.0f, 2.0f, -0.0f, 1e-8f});
  rc::NonNeg().apply(w);
  const std::vector<float> expected = {0.0f, 0.0f, 2.0f, 0.0f, 1e-8f};
  for (int64_t i = 0; i < 5; ++i) EXPECT_EQ(w[i], expected[static_cast<size_t>(i)]);
  EXPECT_EQ(rc::NonNeg().class_name(), "NonNeg");
  EXPECT_TRUE(rc::NonNeg().get_config().empty());
}

// ---------------------------------------------------------------- AdamW

struct AdamWReference {
  double lr, wd, b1, b2, eps;
  bool amsgrad = false;
  std::vector<double> w, m, v, vhat;
  // Keras 3: base_optimizer._apply_weight_decay, then adam.update_step, with t = iterations + 1.
  void step(const std::vector<double>& g, int t) {
    const double alpha = lr * std::sqrt(1 - std::pow(b2, t)) / (1 - std::pow(b1, t));
    for (size_t i = 0; i < w.size(); ++i) {
      w[i] -= w[i] * wd * lr;
      m[i] += (g[i] - m[i]) * (1 - b1);
      v[i] += (g[i] * g[i] - v[i]) * (1 - b2);
      vhat[i] = std::max(vhat[i], v[i]);
      w[i] -= alpha * m[i] / (std::sqrt(amsgrad ? vhat[i] : v[i]) + eps);
    }
  }
};

std::vector<double> gradient_at(int step, size_t n) {
  std::vector<double> g(n);
  for (size_t i = 0; i < n; ++i) g[i] = std::sin(0.7 * step + 1.3 * static_cast<double>(i)) * (1.0 + 0.5 * i);
  return g;
}

TEST(AdamW, FollowsKerasDecoupledDecayThenAdam) {
  for (bool amsgrad : {false, true}) {
    SCOPED_TRACE(amsgrad ? "amsgrad" : "adam");
    const ro::AdamWOptions o{.learning_rate = 0.01, .weight_decay = 0.1, .amsgrad = amsgrad};
    auto opt = ro::AdamW(o);
    EXPECT_EQ(opt->name(), "adamw");
    const std::vector<double> w0 = {0.5, -1.2, 2.0, 0.0, -0.3};
    regula::layers::Weight kernel{.name = "kernel", .value = Tensor({5}), .gradient = Tensor({5})};
    regula::layers::Weight frozen{.name = "frozen", .value = Tensor({2}, 1.0f), .trainable = false};
    for (size_t i = 0; i < 5; ++i) kernel.value[static_cast<int64_t>(i)] = static_cast<float>(w0[i]);
    AdamWReference ref{.lr = o.learning_rate, .wd = o.weight_decay, .b1 = 0.9, .b2 = 0.999, .eps = 1e-7,
                       .amsgrad = amsgrad, .w = w0, .m = std::vector<double>(5), .v = std::vector<double>(5),
                       .vhat = std::vector<double>(5)};
    for (int t = 1; t <= 8; ++t) {
      if (t == 5) {  // a callback lowering the learning rate: both decay and step use the new one
        opt->set_learning_rate(0.003);
        ref.lr = 0.003;
      }
      const std::vector<double> g = gradient_at(t, 5);
      for (size_t i = 0; i < 5; ++i) kernel.gradient[static_cast<int64_t>(i)] = static_cast<float>(g[i]);
      opt->apply({&kernel, &frozen});
      ref.step(g, t);
      for (size_t i = 0; i < 5; ++i)
        ASSERT_NEAR(kernel.value[static_cast<int64_t>(i)], ref.w[i], 1e-5) << "step " << t << " element " << i;
    }
    EXPECT_EQ(opt->iterations(), 8);
    EXPECT_EQ(frozen.value[0], 1.0f);
    // Adam's slots in Keras's order: m of each weight, then v (then v̂).
    const std::vector<Tensor*> vars = opt->variables();
    ASSERT_EQ(vars.size(), amsgrad ? 6u : 4u);
    for (size_t i = 0; i < 5; ++i) {
      EXPECT_NEAR((*vars[0])[static_cast<int64_t>(i)], ref.m[i], 1e-5);
      EXPECT_NEAR((*vars[2])[static_cast<int64_t>(i)], ref.v[i], 1e-5);
    }
    EXPECT_EQ((*vars[1])[0], 0.0f);  // the frozen weight's slot stays zero
  }
}

TEST(AdamW, RestoredSlotsContinueTheTrajectory) {
  // Saving variables + iterations and loading them into a fresh AdamW continues bit for bit, also
  // when the restore rebinds the slot tensors instead of copying into them.
  auto make_weight = [] {
    regula::layers::Weight w{.name = "w", .value = Tensor({3}, std::vector<float>{1.0f, -2.0f, 0.5f}),
                             .gradient = Tensor({3})};
    return w;
  };
  auto run = [](ro::Optimizer& opt, regula::layers::Weight& w, int from, int to) {
    for (int t = from; t <= to; ++t) {
      const std::vector<double> g = gradient_at(t, 3);
      for (int64_t i = 0; i < 3; ++i) w.gradient[i] = static_cast<float>(g[static_cast<size_t>(i)]);
      opt.apply({&w});
    }
  };
  auto straight = ro::AdamW();
  regula::layers::Weight a = make_weight();
  run(*straight, a, 1, 6);

  auto first = ro::AdamW();
  regula::layers::Weight b = make_weight();
  run(*first, b, 1, 3);
  for (bool rebind : {false, true}) {
    auto second = ro::AdamW();
    regula::layers::Weight c{.name = "w", .value = b.value.clone(), .gradient = Tensor({3})};
    second->build_for({&c});
    const std::vector<Tensor*> from = first->variables(), to = second->variables();
    for (size_t k = 0; k < from.size(); ++k) {
      if (rebind)
        *to[k] = from[k]->clone();
      else
        to[k]->copy_from(*from[k]);
    }
    second->set_iterations(first->iterations());
    run(*second, c, 4, 6);
    for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(c.value[i], a.value[i]) << (rebind ? "rebind" : "copy");
  }
}

TEST(AdamW, ZeroDecayIsAdamAndOptionsAreValidated) {
  auto adamw = ro::AdamW({.weight_decay = 0.0});
  auto adam = ro::Adam();
  regula::layers::Weight a{.name = "w", .value = Tensor({4}, std::vector<float>{1, 2, -3, 4}), .gradient = Tensor({4})};
  regula::layers::Weight b{.name = "w", .value = a.value.clone(), .gradient = Tensor({4})};
  for (int t = 1; t <= 4; ++t) {
    const std::vector<double> g = gradient_at(t, 4);
    for (int64_t i = 0; i < 4; ++i) a.gradient[i] = b.gradient[i] = static_cast<float>(g[static_cast<size_t>(i)]);
    adamw->apply({&a});
    adam->apply({&b});
  }
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(a.value[i], b.value[i]);

  // Keras defaults: learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7.
  const auto config = ro::AdamW()->get_config();
  EXPECT_EQ(config["name"], "adamw");
  EXPECT_EQ(config["learning_rate"], 0.001);
  EXPECT_EQ(config["weight_decay"], 0.004);
  EXPECT_EQ(config["beta_1"], 0.9);
  EXPECT_EQ(config["beta_2"], 0.999);
  EXPECT_EQ(config["epsilon"], 1e-7);
  EXPECT_EQ(config["amsgrad"], false);
  expect_error<ValueError>([] { ro::AdamW({.weight_decay = -0.1}); }, {"AdamW", "weight_decay=-0.1"});
  expect_error<ValueError>([] { ro::AdamW({.beta_1 = 1.0}); }, {"AdamW", "beta_1=1"});
  expect_error<ValueError>([] { ro::AdamW({.epsilon = 0.0}); }, {"AdamW", "epsilon=0"});
}

// ---------------------------------------------------------------- compute_class_weight

TEST(ComputeClassWeight, BalancedMatchesScikitLearn) {
  // scikit-learn "balanced": n_samples / (n_classes · np.bincount(y)) over the classes present.
  // y: six 0s, two 1s, one 3 (class 2 absent) → 9 / (3·6), 9 / (3·2), 9 / (3·1).
  const Tensor y({9}, std::vector<float>{0, 1, 0, 0, 3, 0, 1, 0, 0});
  const std::map<int, double> expected = {{0, 0.5}, {1, 1.5}, {3, 3.0}};
  EXPECT_EQ(regula::utils::compute_class_weight("balanced", y), expected);
  EXPECT_EQ(regula::utils::compute_class_weight("balanced", y.reshaped({9, 1})), expected);
  // One-hot rows give the same weights.
  Tensor one_hot({9, 4});
  for (int64_t i = 0; i < 9; ++i) one_hot[i * 4 + static_cast<int64_t>(y[i])] = 1.0f;
  EXPECT_EQ(regula::utils::compute_class_weight("balanced", one_hot), expected);
  // Weighted counts balance: Σ_c count[c] · weight[c] = n_samples, each class contributing n/k.
  for (const auto& [c, w] : expected) EXPECT_DOUBLE_EQ(w * (c == 0 ? 6 : c == 1 ? 2 : 1), 3.0);

  expect_error<ValueError>([&] { regula::utils::compute_class_weight("auto", y); }, {"mode='auto'", "balanced"});
  expect_error<ValueError>([] { regula::utils::compute_class_weight("balanced", Tensor()); }, {"empty"});
  expect_error<ValueError>([] { regula::utils::compute_class_weight("balanced", Tensor({2}, std::vector<float>{0, 1.5f})); },
                           {"1.5", "sample 1"});
  expect_error<ValueError>([] { regula::utils::compute_class_weight("balanced", Tensor({2}, std::vector<float>{-1, 0})); },
                           {"-1", "sample 0"});
}

}  // namespace
