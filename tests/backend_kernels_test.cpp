// The fast CPU backend's element-wise, batch-normalization, crossentropy, update and penalty
// kernels against the reference backend (the oracle) on random shapes: small ones, and ones above
// the sizes where the fast kernels split their loops over threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "regula/backend/context.hpp"
#include "regula/utils/random.hpp"

namespace rb = regula::backend;

namespace {

std::vector<float> random_values(int64_t n, regula::Rng& rng, double scale = 1.0) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = static_cast<float>(scale * rng.normal());
  return v;
}

std::vector<float> random_positive(int64_t n, regula::Rng& rng) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = static_cast<float>(0.05 + rng.uniform());
  return v;
}

// Max |a − b| / (1 + |b|).
double max_error(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]) / (1.0 + std::abs(static_cast<double>(b[i]))));
  return worst;
}

double max_error(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]) / (1.0 + std::abs(b[i])));
  return worst;
}

rb::Backend& reference() { return rb::get(rb::BackendKind::reference); }
rb::Backend& cpu() { return rb::get(rb::BackendKind::cpu); }

struct Size {
  int64_t rows, cols;
};

// Random (rows, cols), then two above the fast kernels' parallel thresholds (32768 values).
std::vector<Size> random_sizes(regula::Rng& rng) {
  std::vector<Size> sizes;
  for (int i = 0; i < 6; ++i)
    sizes.push_back({1 + static_cast<int64_t>(rng.uniform_int(40)), 1 + static_cast<int64_t>(rng.uniform_int(70))});
  sizes.push_back({600, 64});
  sizes.push_back({257, 131});
  return sizes;
}

std::string describe(rb::ActivationKind kind, Size s) {
  return "activation " + std::to_string(static_cast<int>(kind)) + " at " + std::to_string(s.rows) + "x" +
         std::to_string(s.cols);
}

rb::ElementMask random_mask(regula::Rng& rng, double rate) {
  return {.active = true,
          .rng = regula::CounterRng(rng.next_u64()),
          .threshold = static_cast<uint32_t>(std::ldexp(rate, 32)),
          .keep_scale = static_cast<float>(1.0 / (1.0 - rate))};
}

TEST(CpuKernels, ActivationsMatchReference) {
  regula::Rng rng(21);
  for (const Size s : random_sizes(rng))
    for (rb::ActivationKind kind :
         {rb::ActivationKind::linear, rb::ActivationKind::relu, rb::ActivationKind::sigmoid, rb::ActivationKind::tanh,
          rb::ActivationKind::softmax, rb::ActivationKind::elu, rb::ActivationKind::leaky_relu,
          rb::ActivationKind::gelu}) {
      const int64_t n = s.rows * s.cols;
      const auto x = random_values(n, rng, 3.0);
      const auto grad = random_values(n, rng);
      std::vector<float> y_ref(static_cast<size_t>(n)), y_cpu(static_cast<size_t>(n), 99.0f);
      reference().activation_forward(kind, s.rows, s.cols, x.data(), y_ref.data());
      cpu().activation_forward(kind, s.rows, s.cols, x.data(), y_cpu.data());
      EXPECT_LT(max_error(y_cpu, y_ref), 2e-6) << "forward " << describe(kind, s);
      std::vector<float> g_ref(static_cast<size_t>(n)), g_cpu(static_cast<size_t>(n), 99.0f);
      reference().activation_backward(kind, s.rows, s.cols, x.data(), y_ref.data(), grad.data(), g_ref.data());
      cpu().activation_backward(kind, s.rows, s.cols, x.data(), y_ref.data(), grad.data(), g_cpu.data());
      EXPECT_LT(max_error(g_cpu, g_ref), 2e-6) << "backward " << describe(kind, s);
    }
}

TEST(CpuKernels, InPlaceActivationEqualsOutOfPlace) {
  regula::Rng rng(22);
  const auto x = random_values(40000, rng);
  std::vector<float> out(x.size()), in_place = x;
  cpu().activation_forward(rb::ActivationKind::gelu, 400, 100, x.data(), out.data());
  cpu().activation_forward(rb::ActivationKind::gelu, 400, 100, in_place.data(), in_place.data());
  EXPECT_EQ(out, in_place);
}

TEST(CpuKernels, MaskAndProductMatchReferenceExactly) {
  regula::Rng rng(23);
  for (const Size s : random_sizes(rng)) {
    const int64_t n = s.rows * s.cols;
    const auto x = random_values(n, rng);
    const auto f = random_values(n, rng);
    for (double rate : {0.0, 0.25, 0.5, 0.9}) {
      const rb::ElementMask mask = random_mask(rng, rate);
      std::vector<float> ref(static_cast<size_t>(n)), fast(static_cast<size_t>(n), 99.0f);
      reference().apply_mask(mask, n, x.data(), ref.data());
      cpu().apply_mask(mask, n, x.data(), fast.data());
      EXPECT_EQ(fast, ref) << "mask rate " << rate << " over " << n;
    }
    std::vector<float> ref(static_cast<size_t>(n)), fast(static_cast<size_t>(n), 99.0f);
    reference().multiply(n, x.data(), f.data(), ref.data());
    cpu().multiply(n, x.data(), f.data(), fast.data());
    EXPECT_EQ(fast, ref);
  }
}

TEST(CpuKernels, SumsChannelScalesAndNormalNoiseMatchReference) {
  regula::Rng rng(28);
  for (const Size s : random_sizes(rng)) {
    const int64_t n = s.rows * s.cols;
    const auto a = random_values(n, rng), b = random_values(n, rng);
    std::vector<float> ref(static_cast<size_t>(n)), fast(static_cast<size_t>(n), 99.0f);
    reference().add(n, a.data(), b.data(), ref.data());
    cpu().add(n, a.data(), b.data(), fast.data());
    EXPECT_EQ(fast, ref) << "add over " << n;

    // (samples, positions, channels) with per-(sample, channel) factors.
    const int64_t samples = 1 + static_cast<int64_t>(rng.uniform_int(4)), channels = s.cols;
    const int64_t positions = std::max<int64_t>(1, s.rows / samples), m = samples * positions * channels;
    const auto factors = random_values(samples * channels, rng);
    std::vector<float> sref(static_cast<size_t>(m)), sfast(static_cast<size_t>(m), 99.0f);
    reference().scale_channels(samples, positions, channels, a.data(), factors.data(), sref.data());
    cpu().scale_channels(samples, positions, channels, a.data(), factors.data(), sfast.data());
    EXPECT_EQ(sfast, sref) << "scale_channels " << samples << "x" << positions << "x" << channels;

    const regula::CounterRng step(rng.next_u64());
    reference().add_normal_noise(step, 0.3f, n, a.data(), ref.data());
    cpu().add_normal_noise(step, 0.3f, n, a.data(), fast.data());
    EXPECT_LT(max_error(fast, ref), 1e-6) << "normal noise over " << n;
    std::vector<float> fref(static_cast<size_t>(n)), ffast(static_cast<size_t>(n), 99.0f);
    reference().multiply_normal_factors(step, 0.5f, n, a.data(), fref.data(), ref.data());
    cpu().multiply_normal_factors(step, 0.5f, n, a.data(), ffast.data(), fast.data());
    EXPECT_LT(max_error(ffast, fref), 1e-6) << "normal factors over " << n;
    EXPECT_LT(max_error(fast, ref), 1e-6) << "normal factors applied over " << n;
  }
}

TEST(CpuKernels, BatchNormalizationMatchesReferenceWithEveryTail) {
  regula::Rng rng(24);
  for (const Size s : random_sizes(rng))
    for (bool relu : {false, true})
      for (bool masked : {false, true}) {
        const int64_t rows = s.rows, channels = s.cols, n = rows * channels;
        const auto x = random_values(n, rng, 2.0);
        const auto grad = random_values(n, rng);
        const auto a = random_values(channels, rng), b = random_values(channels, rng);
        const auto p = random_values(channels, rng), q = random_values(channels, rng), r = random_values(channels, rng);
        std::vector<double> mean(static_cast<size_t>(channels));
        for (double& m : mean) m = rng.normal();
        rb::ElementwiseTail tail{.relu = relu};
        if (masked) tail.mask = random_mask(rng, 0.3);
        const std::string where = std::to_string(rows) + "x" + std::to_string(channels) + " relu " +
                                  std::to_string(relu) + " mask " + std::to_string(masked);

        std::vector<double> s_ref(static_cast<size_t>(channels)), s2_ref(s_ref), s_cpu(s_ref), s2_cpu(s_ref);
        reference().batch_norm_moments(rows, channels, x.data(), s_ref.data(), s2_ref.data());
        cpu().batch_norm_moments(rows, channels, x.data(), s_cpu.data(), s2_cpu.data());
        // The CPU backend sums blocks of 16 rows in float (shifted by the first row for the
        // moments), the blocks in double: each block's sum is off by at most 16 roundings of its
        // largest term.
        double largest = 1.0;
        for (float v : x) largest = std::max(largest, 2.0 * std::abs(static_cast<double>(v)));
        const double float_blocks = 16.0 * std::ldexp(1.0, -24) * static_cast<double>(rows);
        EXPECT_LT(max_error(s_cpu, s_ref), float_blocks * largest) << "moments " << where;
        EXPECT_LT(max_error(s2_cpu, s2_ref), float_blocks * 2.0 * largest * largest) << "moments " << where;

        std::vector<float> y_ref(static_cast<size_t>(n)), y_cpu(static_cast<size_t>(n), 99.0f);
        reference().batch_norm_apply(rows, channels, x.data(), a.data(), b.data(), tail, y_ref.data());
        cpu().batch_norm_apply(rows, channels, x.data(), a.data(), b.data(), tail, y_cpu.data());
        // The same float operations in the same order, up to fused multiply-add contraction.
        EXPECT_LT(max_error(y_cpu, y_ref), 4e-6) << "apply " << where;

        reference().batch_norm_backward_sums(rows, channels, x.data(), grad.data(), a.data(), b.data(), mean.data(),
                                             tail, s_ref.data(), s2_ref.data());
        cpu().batch_norm_backward_sums(rows, channels, x.data(), grad.data(), a.data(), b.data(), mean.data(), tail,
                                       s_cpu.data(), s2_cpu.data());
        double largest_grad = 1.0, largest_centered = 1.0;
        for (float v : grad) largest_grad = std::max(largest_grad, std::abs(static_cast<double>(v)));
        for (int64_t i = 0; i < n; ++i)
          largest_centered = std::max(largest_centered, std::abs(x[static_cast<size_t>(i)] - mean[static_cast<size_t>(i % channels)]));
        EXPECT_LT(max_error(s_cpu, s_ref), float_blocks * largest_grad) << "backward sums " << where;
        EXPECT_LT(max_error(s2_cpu, s2_ref), float_blocks * largest_grad * largest_centered) << "backward sums " << where;

        std::vector<float> gx_ref(static_cast<size_t>(n)), gx_cpu(static_cast<size_t>(n), 99.0f);
        reference().batch_norm_backward_data(rows, channels, x.data(), grad.data(), a.data(), b.data(), tail, p.data(),
                                             q.data(), r.data(), gx_ref.data());
        cpu().batch_norm_backward_data(rows, channels, x.data(), grad.data(), a.data(), b.data(), tail, p.data(),
                                       q.data(), r.data(), gx_cpu.data());
        EXPECT_LT(max_error(gx_cpu, gx_ref), 4e-6) << "backward data " << where;
      }
}

TEST(CpuKernels, BatchNormalizationWithAPoolingTailMatchesReference) {
  // A tail that ends in a max pooling (layer fusion of BatchNormalization → ReLU → Dropout →
  // MaxPooling2D): the pooled values and winners equal the reference's, and backward routes the
  // pooled gradient to the winners before the element-wise steps' gradient.
  regula::Rng rng(29);
  struct Case {
    int64_t images, in_h, in_w, channels, pool_h, pool_w;
  };
  for (const Case k : {Case{3, 4, 6, 5, 2, 2}, Case{2, 6, 4, 16, 3, 2}, Case{1, 2, 2, 1, 2, 2}, Case{2, 3, 3, 19, 1, 1}})
    for (bool relu : {false, true})
      for (bool masked : {false, true}) {
        const int64_t rows = k.images * k.in_h * k.in_w, channels = k.channels, n = rows * channels;
        rb::ElementwiseTail tail{.relu = relu};
        if (masked) tail.mask = random_mask(rng, 0.3);
        tail.pool = {.active = true, .in_h = k.in_h, .in_w = k.in_w, .pool_h = k.pool_h, .pool_w = k.pool_w};
        const int64_t pooled = k.images * tail.pool.out_h() * tail.pool.out_w() * channels;
        auto x = random_values(n, rng, 2.0);
        // Ties inside windows: the first position in window order must win in both backends.
        for (int64_t i = 0; i + channels < n; i += 7) x[static_cast<size_t>(i + channels)] = x[static_cast<size_t>(i)];
        const auto a = random_values(channels, rng), b = random_values(channels, rng);
        const auto p = random_values(channels, rng), q = random_values(channels, rng), r = random_values(channels, rng);
        std::vector<double> mean(static_cast<size_t>(channels));
        for (double& m : mean) m = rng.normal();
        const std::string where = std::to_string(k.in_h) + "x" + std::to_string(k.in_w) + "x" +
                                  std::to_string(channels) + " pool " + std::to_string(k.pool_h) + "x" +
                                  std::to_string(k.pool_w) + " relu " + std::to_string(relu) + " mask " +
                                  std::to_string(masked);

        std::vector<int32_t> winners_ref(static_cast<size_t>(pooled)), winners_cpu(static_cast<size_t>(pooled), -7);
        std::vector<float> y_ref(static_cast<size_t>(pooled)), y_cpu(static_cast<size_t>(pooled), 99.0f);
        rb::ElementwiseTail ref_tail = tail, cpu_tail = tail;
        ref_tail.pool.argmax = winners_ref.data();
        cpu_tail.pool.argmax = winners_cpu.data();
        reference().batch_norm_apply(rows, channels, x.data(), a.data(), b.data(), ref_tail, y_ref.data());
        cpu().batch_norm_apply(rows, channels, x.data(), a.data(), b.data(), cpu_tail, y_cpu.data());
        EXPECT_LT(max_error(y_cpu, y_ref), 4e-6) << "apply " << where;
        EXPECT_EQ(winners_cpu, winners_ref) << "winners " << where;

        // The pooled values are the maxima of the unpooled tail's values over each window.
        std::vector<float> unpooled(static_cast<size_t>(n));
        rb::ElementwiseTail no_pool = tail;
        no_pool.pool = {};
        reference().batch_norm_apply(rows, channels, x.data(), a.data(), b.data(), no_pool, unpooled.data());
        for (int64_t i = 0; i < n; ++i)
          ASSERT_LE(unpooled[static_cast<size_t>(i)], y_ref[static_cast<size_t>(tail.pool.pooled_index(i, channels))])
              << where;

        const auto grad = random_values(pooled, rng);
        std::vector<double> s_ref(static_cast<size_t>(channels)), s2_ref(s_ref), s_cpu(s_ref), s2_cpu(s_ref);
        reference().batch_norm_backward_sums(rows, channels, x.data(), grad.data(), a.data(), b.data(), mean.data(),
                                             ref_tail, s_ref.data(), s2_ref.data());
        cpu().batch_norm_backward_sums(rows, channels, x.data(), grad.data(), a.data(), b.data(), mean.data(), cpu_tail,
                                       s_cpu.data(), s2_cpu.data());
        EXPECT_LT(max_error(s_cpu, s_ref), 1e-5) << "backward sums " << where;
        EXPECT_LT(max_error(s2_cpu, s2_ref), 1e-4) << "backward sums " << where;
        // Only winners receive a gradient: routing the pooled gradient by hand and running the
        // tail without pooling gives the same sums.
        std::vector<float> routed(static_cast<size_t>(n), 0.0f);
        for (size_t o = 0; o < winners_ref.size(); ++o) {
          const int64_t image = static_cast<int64_t>(o) / (tail.pool.out_h() * tail.pool.out_w() * channels);
          routed[static_cast<size_t>(image * k.in_h * k.in_w * channels + winners_ref[o])] = 0.0f + grad[o];
        }
        std::vector<double> s_routed(s_ref), s2_routed(s_ref);
        reference().batch_norm_backward_sums(rows, channels, x.data(), routed.data(), a.data(), b.data(), mean.data(),
                                             no_pool, s_routed.data(), s2_routed.data());
        EXPECT_EQ(s_routed, s_ref) << "routed by hand " << where;
        EXPECT_EQ(s2_routed, s2_ref) << "routed by hand " << where;

        std::vector<float> gx_ref(static_cast<size_t>(n)), gx_cpu(static_cast<size_t>(n), 99.0f);
        reference().batch_norm_backward_data(rows, channels, x.data(), grad.data(), a.data(), b.data(), ref_tail,
                                             p.data(), q.data(), r.data(), gx_ref.data());
        cpu().batch_norm_backward_data(rows, channels, x.data(), grad.data(), a.data(), b.data(), cpu_tail, p.data(),
                                       q.data(), r.data(), gx_cpu.data());
        EXPECT_LT(max_error(gx_cpu, gx_ref), 4e-6) << "backward data " << where;

        // With ReLU, the layer hands the backward pass its pooled values (TailMaxPool::pooled),
        // and the CPU kernels gate the winners by them instead of recomputing ReLU and the mask:
        // the same sums and gradients (== also takes −0 for +0, the one difference allowed).
        if (relu) {
          rb::ElementwiseTail gated_tail = cpu_tail;
          gated_tail.pool.pooled = y_cpu.data();
          std::vector<double> s_gated(s_ref), s2_gated(s_ref);
          cpu().batch_norm_backward_sums(rows, channels, x.data(), grad.data(), a.data(), b.data(), mean.data(),
                                         gated_tail, s_gated.data(), s2_gated.data());
          EXPECT_EQ(s_gated, s_cpu) << "gated backward sums " << where;
          EXPECT_EQ(s2_gated, s2_cpu) << "gated backward sums " << where;
          std::vector<float> gx_gated(static_cast<size_t>(n), 99.0f);
          cpu().batch_norm_backward_data(rows, channels, x.data(), grad.data(), a.data(), b.data(), gated_tail,
                                         p.data(), q.data(), r.data(), gx_gated.data());
          EXPECT_EQ(gx_gated, gx_cpu) << "gated backward data " << where;
        }
      }
}

TEST(CpuKernels, BatchNormalizationMomentsKeepTheVarianceOfAChannelWithALargeMean) {
  // Float sums of x² for x near 1000 would lose the variance (0.01²) to rounding: the moments
  // are summed shifted by the first row, so E[x²] − E[x]² from the returned sums keeps it.
  regula::Rng rng(31);
  const int64_t rows = 4096, channels = 3;
  std::vector<float> x(static_cast<size_t>(rows * channels));
  for (float& v : x) v = static_cast<float>(1000.0 + 0.01 * rng.normal());
  std::vector<double> sum(channels), sum_squares(channels);
  cpu().batch_norm_moments(rows, channels, x.data(), sum.data(), sum_squares.data());
  for (int64_t c = 0; c < channels; ++c) {
    double mean = 0.0, variance = 0.0;
    for (int64_t r = 0; r < rows; ++r) mean += x[static_cast<size_t>(r * channels + c)];
    mean /= static_cast<double>(rows);
    for (int64_t r = 0; r < rows; ++r) {
      const double d = x[static_cast<size_t>(r * channels + c)] - mean;
      variance += d * d;
    }
    variance /= static_cast<double>(rows);
    const double from_sums = sum_squares[c] / rows - (sum[c] / rows) * (sum[c] / rows);
    EXPECT_NEAR(from_sums, variance, 0.01 * variance) << "channel " << c;
  }
}

TEST(CpuKernels, SoftmaxCrossentropyMatchesReference) {
  regula::Rng rng(25);
  for (const Size s : random_sizes(rng))
    for (bool sparse : {false, true})
      for (bool logits : {false, true})
        for (double smoothing : {0.0, 0.1}) {
          const int64_t samples = std::max<int64_t>(1, s.rows / 2), per = s.rows >= 4 ? 2 : 1;
          const int64_t classes = s.cols, rows = samples * per, n = rows * classes;
          const auto scores = logits ? random_values(n, rng, 3.0) : random_positive(n, rng);
          std::vector<float> labels(static_cast<size_t>(rows)), dense(static_cast<size_t>(n), 0.0f);
          for (int64_t r = 0; r < rows; ++r) {
            labels[static_cast<size_t>(r)] = static_cast<float>(rng.uniform_int(static_cast<uint64_t>(classes)));
            dense[static_cast<size_t>(r * classes + static_cast<int64_t>(labels[static_cast<size_t>(r)]))] = 1.0f;
          }
          const auto weights = random_positive(samples, rng);
          const rb::CrossentropyRows batch{.samples = samples,
                                           .rows_per_sample = per,
                                           .classes = classes,
                                           .scores = scores.data(),
                                           .from_logits = logits,
                                           .dense_labels = sparse ? nullptr : dense.data(),
                                           .labels = sparse ? labels.data() : nullptr,
                                           .label_smoothing = smoothing};
          const std::string where = std::to_string(samples) + "x" + std::to_string(per) + "x" + std::to_string(classes) +
                                    (sparse ? " sparse" : " dense") + (logits ? " logits" : " probabilities") +
                                    " smoothing " + std::to_string(smoothing);
          std::vector<float> l_ref(static_cast<size_t>(samples)), l_cpu(static_cast<size_t>(samples), 99.0f);
          reference().softmax_crossentropy(batch, l_ref.data());
          cpu().softmax_crossentropy(batch, l_cpu.data());
          EXPECT_LT(max_error(l_cpu, l_ref), 1e-6) << "loss " << where;
          for (rb::CrossentropyGradient wrt : {rb::CrossentropyGradient::scores, rb::CrossentropyGradient::logits_of_softmax}) {
            std::vector<float> g_ref(static_cast<size_t>(n)), g_cpu(static_cast<size_t>(n), 99.0f);
            const rb::LossScale scale{0.37, weights.data()};
            reference().softmax_crossentropy_gradient(batch, wrt, scale, g_ref.data());
            cpu().softmax_crossentropy_gradient(batch, wrt, scale, g_cpu.data());
            EXPECT_LT(max_error(g_cpu, g_ref), 1e-6) << "gradient " << static_cast<int>(wrt) << " " << where;
          }
        }
}

TEST(CpuKernels, BinaryCrossentropyAndMeanSquaredErrorMatchReference) {
  regula::Rng rng(31);
  for (const Size& s : random_sizes(rng))
    for (bool logits : {false, true})
      for (double smoothing : {0.0, 0.2}) {
        const int64_t n = s.rows * s.cols;
        // Probabilities from 0.05 to 1.05: some beyond 1 − 1e-7, where the clip passes no gradient.
        const auto predictions = logits ? random_values(n, rng, 3.0) : random_positive(n, rng);
        std::vector<float> targets(static_cast<size_t>(n));
        for (float& t : targets) t = rng.uniform() < 0.5 ? static_cast<float>(rng.uniform()) : (rng.uniform() < 0.5 ? 0.0f : 1.0f);
        const auto weights = random_positive(s.rows, rng);
        const rb::ElementwiseLossRows rows{
            .samples = s.rows, .values_per_sample = s.cols, .predictions = predictions.data(), .targets = targets.data()};
        const rb::BinaryCrossentropyForm form{.from_logits = logits, .label_smoothing = smoothing};
        const rb::LossScale scale{0.37, weights.data()};
        const std::string where = std::to_string(s.rows) + "x" + std::to_string(s.cols) + (logits ? " logits" : " probabilities") +
                                  " smoothing " + std::to_string(smoothing);
        std::vector<float> l_ref(static_cast<size_t>(s.rows)), l_cpu(static_cast<size_t>(s.rows), 99.0f);
        reference().binary_crossentropy(rows, form, l_ref.data());
        cpu().binary_crossentropy(rows, form, l_cpu.data());
        EXPECT_LT(max_error(l_cpu, l_ref), 1e-6) << "binary crossentropy " << where;
        std::vector<float> g_ref(static_cast<size_t>(n)), g_cpu(static_cast<size_t>(n), 99.0f);
        reference().binary_crossentropy_gradient(rows, form, scale, g_ref.data());
        cpu().binary_crossentropy_gradient(rows, form, scale, g_cpu.data());
        EXPECT_LT(max_error(g_cpu, g_ref), 1e-5) << "binary crossentropy gradient " << where;

        reference().mean_squared_error(rows, l_ref.data());
        cpu().mean_squared_error(rows, l_cpu.data());
        EXPECT_LT(max_error(l_cpu, l_ref), 1e-6) << "mean squared error " << where;
        reference().mean_squared_error_gradient(rows, scale, g_ref.data());
        cpu().mean_squared_error_gradient(rows, scale, g_cpu.data());
        EXPECT_LT(max_error(g_cpu, g_ref), 1e-6) << "mean squared error gradient " << where;
      }
}

TEST(CpuKernels, ConcatenationAndSplitMatchReferenceExactly) {
  regula::Rng rng(32);
  for (const Size& s : random_sizes(rng)) {
    const int parts = 1 + static_cast<int>(rng.uniform_int(3));
    std::vector<int64_t> blocks;
    std::vector<std::vector<float>> sources;
    int64_t row_length = 0;
    for (int k = 0; k < parts; ++k) {
      blocks.push_back(1 + static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(s.cols))));
      sources.push_back(random_values(s.rows * blocks.back(), rng));
      row_length += blocks.back();
    }
    std::vector<const float*> source_data;
    for (const auto& v : sources) source_data.push_back(v.data());
    std::vector<float> ref(static_cast<size_t>(s.rows * row_length)), fast(ref.size(), 99.0f);
    reference().concatenate_rows(s.rows, source_data, blocks, ref.data());
    cpu().concatenate_rows(s.rows, source_data, blocks, fast.data());
    EXPECT_EQ(fast, ref) << s.rows << " rows of " << parts << " parts";

    // The split back, with the first part left out (a null part is skipped).
    std::vector<std::vector<float>> ref_parts, fast_parts;
    std::vector<float*> ref_ptrs, fast_ptrs;
    for (int k = 0; k < parts; ++k) {
      ref_parts.emplace_back(static_cast<size_t>(s.rows * blocks[static_cast<size_t>(k)]), -1.0f);
      fast_parts.emplace_back(ref_parts.back());
    }
    for (int k = 0; k < parts; ++k) {
      ref_ptrs.push_back(k == 0 && parts > 1 ? nullptr : ref_parts[static_cast<size_t>(k)].data());
      fast_ptrs.push_back(k == 0 && parts > 1 ? nullptr : fast_parts[static_cast<size_t>(k)].data());
    }
    reference().split_rows(s.rows, ref.data(), blocks, ref_ptrs);
    cpu().split_rows(s.rows, ref.data(), blocks, fast_ptrs);
    for (int k = 0; k < parts; ++k) {
      EXPECT_EQ(fast_parts[static_cast<size_t>(k)], ref_parts[static_cast<size_t>(k)]) << "part " << k;
      if (ref_ptrs[static_cast<size_t>(k)] != nullptr) {
        EXPECT_EQ(ref_parts[static_cast<size_t>(k)], sources[static_cast<size_t>(k)]);
      }
    }
  }
}

// Runs one update of each backend on copies of the same weight and slots; returns the largest error
// over the weight and every slot.
template <class Update>
double compare_update(regula::Rng& rng, int64_t n, int slots, Update update) {
  const auto g = random_values(n, rng);
  std::vector<std::vector<float>> ref(static_cast<size_t>(slots + 1));
  for (auto& v : ref) v = random_positive(n, rng);  // slots such as velocities are non-negative
  auto fast = ref;
  update(reference(), g, ref);
  update(cpu(), g, fast);
  double worst = 0.0;
  for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, max_error(fast[i], ref[i]));
  return worst;
}

float* slot_or_null(std::vector<std::vector<float>>& s, size_t i) { return i < s.size() ? s[i].data() : nullptr; }

TEST(CpuKernels, OptimizerUpdatesMatchReference) {
  regula::Rng rng(26);
  for (int64_t n : {1, 7, 1000, 70001}) {
    for (float momentum : {0.0f, 0.9f})
      for (bool nesterov : {false, true}) {
        const rb::SgdStep step{.learning_rate = 0.05f, .momentum = momentum, .nesterov = nesterov};
        EXPECT_LT(compare_update(rng, n, 1,
                                 [&](rb::Backend& b, const std::vector<float>& g, std::vector<std::vector<float>>& s) {
                                   b.sgd_update(step, n, s[0].data(), g.data(), momentum == 0.0f ? nullptr : s[1].data());
                                 }),
                  1e-6)
            << "sgd n " << n << " momentum " << momentum << " nesterov " << nesterov;
      }
    for (bool amsgrad : {false, true}) {
      const rb::AdamStep step{.alpha = 0.01f, .one_minus_beta_1 = 0.1f, .one_minus_beta_2 = 0.001f, .epsilon = 1e-7f};
      EXPECT_LT(compare_update(rng, n, amsgrad ? 3 : 2,
                               [&](rb::Backend& b, const std::vector<float>& g, std::vector<std::vector<float>>& s) {
                                 b.adam_update(step, n, s[0].data(), g.data(), s[1].data(), s[2].data(),
                                               slot_or_null(s, 3));
                               }),
                1e-5)
          << "adam n " << n << " amsgrad " << amsgrad;
    }
    for (bool with_momentum : {false, true})
      for (bool centered : {false, true}) {
        const rb::RmspropStep step{.learning_rate = 0.01f, .rho = 0.9f, .one_minus_rho = 0.1f,
                                   .momentum = with_momentum ? 0.5f : 0.0f, .epsilon = 1e-7f};
        const int slots = 1 + (with_momentum ? 1 : 0) + (centered ? 1 : 0);
        EXPECT_LT(compare_update(rng, n, slots,
                                 [&](rb::Backend& b, const std::vector<float>& g, std::vector<std::vector<float>>& s) {
                                   float* m = with_momentum ? s[2].data() : nullptr;
                                   float* avg = centered ? s[with_momentum ? 3 : 2].data() : nullptr;
                                   // A centered denominator v − a² must stay positive: a small average.
                                   if (avg != nullptr)
                                     for (float& v : s[with_momentum ? 3 : 2]) v *= 0.01f;
                                   b.rmsprop_update(step, n, s[0].data(), g.data(), s[1].data(), m, avg);
                                 }),
                  1e-5)
            << "rmsprop n " << n << " momentum " << with_momentum << " centered " << centered;
      }
    EXPECT_LT(compare_update(rng, n, 0,
                             [&](rb::Backend& b, const std::vector<float>&, std::vector<std::vector<float>>& s) {
                               b.decay_weights(0.004f, 0.01f, n, s[0].data());
                             }),
              1e-7)
        << "weight decay n " << n;
  }
}

TEST(CpuKernels, PenaltiesMatchReference) {
  regula::Rng rng(27);
  for (int64_t n : {1, 9, 5000, 70001}) {
    auto x = random_values(n, rng);
    x[0] = 0.0f;  // sign(0) = 0
    EXPECT_NEAR(cpu().l1_l2_penalty(n, x.data(), 0.01, 0.002), reference().l1_l2_penalty(n, x.data(), 0.01, 0.002),
                1e-12 * static_cast<double>(n))
        << n;
    auto g_ref = random_values(n, rng);
    auto g_cpu = g_ref;
    reference().add_l1_l2_gradient(n, x.data(), 0.01f, 0.004f, g_ref.data());
    cpu().add_l1_l2_gradient(n, x.data(), 0.01f, 0.004f, g_cpu.data());
    EXPECT_LT(max_error(g_cpu, g_ref), 1e-6) << n;
  }
}

}  // namespace
