// The fast CPU backend against the reference backend (the oracle) on random shapes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "regula/backend/context.hpp"
#include "regula/utils/random.hpp"

namespace rb = regula::backend;

namespace {

std::vector<float> random_values(int64_t n, regula::Rng& rng) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = static_cast<float>(rng.normal());
  return v;
}

// Max |a − b| / (1 + |b|): float32 kernels against the double-accumulating oracle.
double max_error(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]) / (1.0 + std::abs(b[i])));
  return worst;
}

// Keras's output length and leading pad (see layers/conv2d.hpp), recomputed here from the rules.
void axis(int64_t in, int64_t k, int64_t s, bool same, int64_t& out, int64_t& pad) {
  if (same) {
    out = (in + s - 1) / s;
    pad = std::max<int64_t>((out - 1) * s + k - in, 0) / 2;
  } else {
    out = (in - k) / s + 1;
    pad = 0;
  }
}

rb::Conv2DGeometry random_conv(regula::Rng& rng, int64_t in_c, int64_t stride, bool same) {
  rb::Conv2DGeometry g;
  g.batch = 1 + static_cast<int64_t>(rng.uniform_int(3));
  g.kernel_h = 1 + static_cast<int64_t>(rng.uniform_int(4));
  g.kernel_w = 1 + static_cast<int64_t>(rng.uniform_int(4));
  g.in_h = g.kernel_h + static_cast<int64_t>(rng.uniform_int(7));
  g.in_w = g.kernel_w + static_cast<int64_t>(rng.uniform_int(7));
  g.in_c = in_c;
  g.out_c = 1 + static_cast<int64_t>(rng.uniform_int(9));
  g.stride_h = stride;
  g.stride_w = stride == 1 ? 1 : 1 + static_cast<int64_t>(rng.uniform_int(2));
  axis(g.in_h, g.kernel_h, g.stride_h, same, g.out_h, g.pad_top);
  axis(g.in_w, g.kernel_w, g.stride_w, same, g.out_w, g.pad_left);
  return g;
}

std::string describe(const rb::Conv2DGeometry& g) {
  return "batch " + std::to_string(g.batch) + " in " + std::to_string(g.in_h) + "x" + std::to_string(g.in_w) + "x" +
         std::to_string(g.in_c) + " kernel " + std::to_string(g.kernel_h) + "x" + std::to_string(g.kernel_w) + " out_c " +
         std::to_string(g.out_c) + " stride " + std::to_string(g.stride_h) + "," + std::to_string(g.stride_w) +
         " pad " + std::to_string(g.pad_top) + "," + std::to_string(g.pad_left);
}

// How far the CPU backend's convolution may be from the oracle's. By default each value within
// 1e-4 relative (max_error); `of_largest` > 0 bounds instead max |cpu − ref| / max |ref|.
struct ConvTolerance {
  double per_value = 1e-4;
  double of_largest = 0.0;
};

double max_abs(const std::vector<float>& v) {
  double largest = 0.0;
  for (float x : v) largest = std::max(largest, std::abs(static_cast<double>(x)));
  return largest;
}

void expect_close(const std::vector<float>& cpu, const std::vector<float>& ref, const ConvTolerance& tolerance,
                  const std::string& what) {
  if (tolerance.of_largest > 0.0) {
    double worst = 0.0;
    for (size_t i = 0; i < cpu.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(cpu[i]) - ref[i]));
    EXPECT_LT(worst / max_abs(ref), tolerance.of_largest) << what;
  } else {
    EXPECT_LT(max_error(cpu, ref), tolerance.per_value) << what;
  }
}

void compare_conv(const rb::Conv2DGeometry& g, regula::Rng& rng, bool with_bias, const ConvTolerance& tolerance = {}) {
  rb::Backend& ref = rb::get(rb::BackendKind::reference);
  rb::Backend& cpu = rb::get(rb::BackendKind::cpu);
  const int64_t src_n = g.batch * g.in_h * g.in_w * g.in_c;
  const int64_t dst_n = g.batch * g.out_h * g.out_w * g.out_c;
  const int64_t k_n = g.kernel_h * g.kernel_w * g.in_c * g.out_c;
  const auto src = random_values(src_n, rng);
  const auto kernel = random_values(k_n, rng);
  const auto bias = random_values(g.out_c, rng);
  const auto grad_dst = random_values(dst_n, rng);
  const float* b = with_bias ? bias.data() : nullptr;

  std::vector<float> dst_ref(static_cast<size_t>(dst_n)), dst_cpu(static_cast<size_t>(dst_n), 99.0f);
  ref.conv2d_forward(g, src.data(), kernel.data(), b, dst_ref.data());
  cpu.conv2d_forward(g, src.data(), kernel.data(), b, dst_cpu.data());
  // float32 sums of K products against double ones: rounding grows like √K (K = 576 in the seed model).
  expect_close(dst_cpu, dst_ref, tolerance, "forward " + describe(g));

  std::vector<float> gs_ref(static_cast<size_t>(src_n)), gs_cpu(static_cast<size_t>(src_n), 99.0f);
  ref.conv2d_backward_data(g, grad_dst.data(), kernel.data(), gs_ref.data());
  cpu.conv2d_backward_data(g, grad_dst.data(), kernel.data(), gs_cpu.data());
  expect_close(gs_cpu, gs_ref, tolerance, "backward data " + describe(g));

  std::vector<float> gk_ref(static_cast<size_t>(k_n)), gk_cpu(static_cast<size_t>(k_n), 99.0f);
  std::vector<float> gb_ref(static_cast<size_t>(g.out_c)), gb_cpu(static_cast<size_t>(g.out_c), 99.0f);
  ref.conv2d_backward_weights(g, src.data(), grad_dst.data(), gk_ref.data(), with_bias ? gb_ref.data() : nullptr);
  cpu.conv2d_backward_weights(g, src.data(), grad_dst.data(), gk_cpu.data(), with_bias ? gb_cpu.data() : nullptr);
  expect_close(gk_cpu, gk_ref, tolerance, "backward weights " + describe(g));
  if (with_bias) {
    EXPECT_LT(max_error(gb_cpu, gb_ref), 1e-4) << "backward bias " << describe(g);
  }
}

TEST(CpuBackend, ConvMatchesReferenceOnRandomShapes) {
  regula::Rng rng(11);
  for (int64_t in_c : {1, 2, 5, 16})
    for (int64_t stride : {1, 2})
      for (bool same : {false, true})
        for (int trial = 0; trial < 4; ++trial) compare_conv(random_conv(rng, in_c, stride, same), rng, trial % 2 == 0);
}

TEST(CpuBackend, ConvSpecialPaths) {
  regula::Rng rng(12);
  // 1x1 stride-1 unpadded and the seed model's first layer at a small batch (the direct
  // small-patch kernel's weight gradient); its second layer is in ConvAlgorithms… below.
  rb::Conv2DGeometry pointwise{.batch = 3, .in_h = 5, .in_w = 4, .in_c = 7, .out_h = 5, .out_w = 4, .out_c = 6,
                               .kernel_h = 1, .kernel_w = 1};
  compare_conv(pointwise, rng, true);
  rb::Conv2DGeometry conv1{.batch = 2, .in_h = 28, .in_w = 28, .in_c = 1, .out_h = 28, .out_w = 28, .out_c = 64,
                           .kernel_h = 3, .kernel_w = 3, .pad_top = 1, .pad_left = 1};
  compare_conv(conv1, rng, true);
}

// Sets the process's convolution algorithm for the lifetime of the guard.
class ScopedConvolutionAlgorithm {
 public:
  explicit ScopedConvolutionAlgorithm(rb::ConvolutionAlgorithm algorithm)
      : previous_(rb::context().convolution_algorithm()) {
    rb::context().set_convolution_algorithm(algorithm);
  }
  ~ScopedConvolutionAlgorithm() { rb::context().set_convolution_algorithm(previous_); }
  ScopedConvolutionAlgorithm(const ScopedConvolutionAlgorithm&) = delete;
  ScopedConvolutionAlgorithm& operator=(const ScopedConvolutionAlgorithm&) = delete;

 private:
  rb::ConvolutionAlgorithm previous_;
};

TEST(CpuBackend, ConvAlgorithmsMatchTheReferenceWithinTheirRounding) {
  // The convolutions the automatic algorithm gives to Winograd F(4×4, 3×3) on CPUs with AVX-512
  // (float32, 3×3, stride 1, channels in multiples of 16), the seed model's second layer among
  // them, padded and not, with sides that are and are not multiples of Winograd's 4×4 tiles.
  // Direct: each value within 1e-4 relative. Automatic: Winograd's transforms form sums and
  // differences of inputs scaled by constants up to 8 before multiplying, so each output carries
  // the rounding of intermediates larger than itself: its error is bounded against the largest
  // output (measured: up to 1.9e-6 of it here), not against each output. Where the CPU has no
  // Winograd, automatic is direct and passes both bounds.
  const std::vector<rb::Conv2DGeometry> geometries = {
      {.batch = 1, .in_h = 14, .in_w = 14, .in_c = 64, .out_h = 14, .out_w = 14, .out_c = 128, .kernel_h = 3,
       .kernel_w = 3, .pad_top = 1, .pad_left = 1},
      {.batch = 2, .in_h = 8, .in_w = 8, .in_c = 16, .out_h = 8, .out_w = 8, .out_c = 32, .kernel_h = 3,
       .kernel_w = 3, .pad_top = 1, .pad_left = 1},
      {.batch = 3, .in_h = 9, .in_w = 7, .in_c = 32, .out_h = 7, .out_w = 5, .out_c = 16, .kernel_h = 3,
       .kernel_w = 3},
  };
  for (const auto algorithm : {rb::ConvolutionAlgorithm::direct, rb::ConvolutionAlgorithm::automatic}) {
    ScopedConvolutionAlgorithm use(algorithm);
    regula::Rng rng(15);
    for (const rb::Conv2DGeometry& g : geometries) {
      SCOPED_TRACE(algorithm == rb::ConvolutionAlgorithm::direct ? "direct" : "automatic");
      const ConvTolerance tolerance =
          algorithm == rb::ConvolutionAlgorithm::direct ? ConvTolerance{} : ConvTolerance{.of_largest = 1e-5};
      compare_conv(g, rng, true, tolerance);
    }
  }
}

TEST(CpuBackend, SmallPatchKernelsCoverEveryChannelBlockAndTile) {
  regula::Rng rng(14);
  // The direct small-patch kernels (kh·kw·in_c <= 32) run output channels in blocks of 16 and 8
  // with a scalar remainder, and rows in tiles of 64 split across threads: out_c from 1 to 64 and
  // 2 x 28 x 28 = 1568 rows (24 full tiles and a partial one) reach every block and tile edge.
  for (int64_t out_c : {1, 7, 8, 9, 16, 17, 24, 31, 64})
    for (int64_t in_c : {1, 3}) {
      rb::Conv2DGeometry g{.batch = 2, .in_h = 28, .in_w = 28, .in_c = in_c, .out_h = 28, .out_w = 28,
                           .out_c = out_c, .kernel_h = 3, .kernel_w = 3, .pad_top = 1, .pad_left = 1};
      compare_conv(g, rng, out_c % 2 == 1);
    }
  // The largest small patch (4 x 4 x 2 = 32 values), strided and unpadded.
  rb::Conv2DGeometry widest{.batch = 3, .in_h = 11, .in_w = 9, .in_c = 2, .out_h = 4, .out_w = 3, .out_c = 20,
                            .kernel_h = 4, .kernel_w = 4, .stride_h = 2, .stride_w = 2};
  compare_conv(widest, rng, true);
}

void compare_pool(const rb::Pool2DGeometry& g, regula::Rng& rng) {
  rb::Backend& ref = rb::get(rb::BackendKind::reference);
  rb::Backend& cpu = rb::get(rb::BackendKind::cpu);
  const int64_t src_n = g.batch * g.in_h * g.in_w * g.channels;
  const int64_t dst_n = g.batch * g.out_h * g.out_w * g.channels;
  const auto src = random_values(src_n, rng);
  const auto grad_dst = random_values(dst_n, rng);
  std::vector<float> d_ref(static_cast<size_t>(dst_n)), d_cpu(static_cast<size_t>(dst_n), 99.0f);
  std::vector<int32_t> a_ref(static_cast<size_t>(dst_n)), a_cpu(static_cast<size_t>(dst_n), -7);
  ref.max_pool2d_forward(g, src.data(), d_ref.data(), a_ref.data());
  cpu.max_pool2d_forward(g, src.data(), d_cpu.data(), a_cpu.data());
  EXPECT_EQ(d_cpu, d_ref);
  EXPECT_EQ(a_cpu, a_ref);
  std::vector<float> gs_ref(static_cast<size_t>(src_n)), gs_cpu(static_cast<size_t>(src_n), 99.0f);
  ref.max_pool2d_backward(g, grad_dst.data(), a_ref.data(), gs_ref.data());
  cpu.max_pool2d_backward(g, grad_dst.data(), a_cpu.data(), gs_cpu.data());
  EXPECT_LT(max_error(gs_cpu, gs_ref), 1e-6);
  ref.avg_pool2d_forward(g, src.data(), d_ref.data());
  cpu.avg_pool2d_forward(g, src.data(), d_cpu.data());
  EXPECT_LT(max_error(d_cpu, d_ref), 1e-6);
  ref.avg_pool2d_backward(g, grad_dst.data(), gs_ref.data());
  cpu.avg_pool2d_backward(g, grad_dst.data(), gs_cpu.data());
  EXPECT_LT(max_error(gs_cpu, gs_ref), 1e-6);
}

TEST(CpuBackend, PoolingMatchesReferenceOnRandomShapes) {
  regula::Rng rng(13);
  for (bool same : {false, true})
    for (int trial = 0; trial < 12; ++trial) {
      rb::Pool2DGeometry g;
      g.batch = 1 + static_cast<int64_t>(rng.uniform_int(3));
      g.pool_h = 1 + static_cast<int64_t>(rng.uniform_int(3));
      g.pool_w = 1 + static_cast<int64_t>(rng.uniform_int(3));
      g.stride_h = 1 + static_cast<int64_t>(rng.uniform_int(3));  // overlapping, tiling and gapped windows
      g.stride_w = 1 + static_cast<int64_t>(rng.uniform_int(3));
      g.in_h = g.pool_h + static_cast<int64_t>(rng.uniform_int(6));
      g.in_w = g.pool_w + static_cast<int64_t>(rng.uniform_int(6));
      g.channels = 1 + static_cast<int64_t>(rng.uniform_int(9));
      axis(g.in_h, g.pool_h, g.stride_h, same, g.out_h, g.pad_top);
      axis(g.in_w, g.pool_w, g.stride_w, same, g.out_w, g.pad_left);
      compare_pool(g, rng);
    }
}

TEST(CpuBackend, PoolingWhoseWindowsTileTheImageMatchesReference) {
  // Windows that tile the image exactly (the seed model's 2x2 poolings) take the CPU backend's
  // gather path backward, which writes every input once.
  regula::Rng rng(16);
  struct Case {
    int64_t batch, in_h, in_w, channels, pool_h, pool_w;
  };
  for (const Case k : {Case{2, 28, 28, 64, 2, 2}, Case{3, 6, 4, 5, 3, 2}, Case{1, 4, 4, 1, 1, 1}}) {
    rb::Pool2DGeometry g{.batch = k.batch, .in_h = k.in_h, .in_w = k.in_w, .channels = k.channels,
                         .out_h = k.in_h / k.pool_h, .out_w = k.in_w / k.pool_w, .pool_h = k.pool_h,
                         .pool_w = k.pool_w, .stride_h = k.pool_h, .stride_w = k.pool_w};
    compare_pool(g, rng);
  }
}

TEST(CpuBackend, GemmMatchesReferenceForAllTransposes) {
  regula::Rng rng(14);
  rb::Backend& ref = rb::get(rb::BackendKind::reference);
  rb::Backend& cpu = rb::get(rb::BackendKind::cpu);
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (float beta : {0.0f, 0.5f}) {
        const int64_t m = 1 + static_cast<int64_t>(rng.uniform_int(17));
        const int64_t n = 1 + static_cast<int64_t>(rng.uniform_int(17));
        const int64_t k = 1 + static_cast<int64_t>(rng.uniform_int(17));
        // Stored shapes (with a padded row stride to exercise lda/ldb/ldc).
        const int64_t a_rows = ta ? k : m, a_cols = ta ? m : k;
        const int64_t b_rows = tb ? n : k, b_cols = tb ? k : n;
        const int64_t lda = a_cols + 2, ldb = b_cols + 1, ldc = n + 3;
        const auto a = random_values(a_rows * lda, rng);
        const auto b = random_values(b_rows * ldb, rng);
        const auto c0 = random_values(m * ldc, rng);
        auto c_ref = c0, c_cpu = c0;
        ref.gemm(ta, tb, m, n, k, 1.5f, a.data(), lda, b.data(), ldb, beta, c_ref.data(), ldc, rb::ComputeDtype::float32);
        cpu.gemm(ta, tb, m, n, k, 1.5f, a.data(), lda, b.data(), ldb, beta, c_cpu.data(), ldc, rb::ComputeDtype::float32);
        EXPECT_LT(max_error(c_cpu, c_ref), 1e-5) << "trans_a " << ta << " trans_b " << tb << " beta " << beta;
      }
}

}  // namespace

namespace {

/// Every output of one convolution geometry under `compute`, from one backend.
struct ConvOutputs {
  std::vector<float> dst, grad_src, grad_kernel, grad_bias;
};

ConvOutputs run_conv(rb::Backend& backend, rb::Conv2DGeometry g, rb::ComputeDtype compute, const std::vector<float>& src,
                     const std::vector<float>& kernel, const std::vector<float>& bias,
                     const std::vector<float>& grad_dst) {
  g.compute = compute;
  ConvOutputs out{std::vector<float>(grad_dst.size()), std::vector<float>(src.size()),
                  std::vector<float>(kernel.size()), std::vector<float>(bias.size())};
  backend.conv2d_forward(g, src.data(), kernel.data(), bias.data(), out.dst.data());
  backend.conv2d_backward_data(g, grad_dst.data(), kernel.data(), out.grad_src.data());
  backend.conv2d_backward_weights(g, src.data(), grad_dst.data(), out.grad_kernel.data(), out.grad_bias.data());
  return out;
}

}  // namespace

TEST(CpuBackend, ConvBackwardBothGradientsAtOnceEqualsTheTwoCalls) {
  // conv2d_backward prepares grad_dst once for both primitives (rounded to bfloat16, staged in
  // Winograd's layout); its three gradients are those of conv2d_backward_weights and
  // conv2d_backward_data called one by one, bit for bit, on each path: direct, automatic
  // (Winograd where the CPU has it), bfloat16 (float32 where the CPU lacks it), and the first
  // layer's small-patch weight gradient.
  rb::Backend& cpu = rb::get(rb::BackendKind::cpu);
  const rb::Conv2DGeometry second{.batch = 2, .in_h = 14, .in_w = 14, .in_c = 64, .out_h = 14, .out_w = 14,
                                  .out_c = 128, .kernel_h = 3, .kernel_w = 3, .pad_top = 1, .pad_left = 1};
  const rb::Conv2DGeometry first{.batch = 2, .in_h = 28, .in_w = 28, .in_c = 1, .out_h = 28, .out_w = 28,
                                 .out_c = 64, .kernel_h = 3, .kernel_w = 3, .pad_top = 1, .pad_left = 1};
  struct Case {
    rb::Conv2DGeometry g;
    rb::ConvolutionAlgorithm algorithm;
    rb::ComputeDtype compute;
  };
  const Case cases[] = {{second, rb::ConvolutionAlgorithm::direct, rb::ComputeDtype::float32},
                        {second, rb::ConvolutionAlgorithm::automatic, rb::ComputeDtype::float32},
                        {second, rb::ConvolutionAlgorithm::automatic, rb::ComputeDtype::bfloat16},
                        {first, rb::ConvolutionAlgorithm::automatic, rb::ComputeDtype::float32}};
  regula::Rng rng(17);
  for (const Case& k : cases) {
    ScopedConvolutionAlgorithm use(k.algorithm);
    rb::Conv2DGeometry g = k.g;
    g.compute = k.compute;
    const auto src = random_values(g.batch * g.in_h * g.in_w * g.in_c, rng);
    const auto kernel = random_values(g.kernel_h * g.kernel_w * g.in_c * g.out_c, rng);
    const auto grad_dst = random_values(g.batch * g.out_h * g.out_w * g.out_c, rng);
    std::vector<float> gs_one(src.size()), gk_one(kernel.size()), gb_one(static_cast<size_t>(g.out_c));
    cpu.conv2d_backward_weights(g, src.data(), grad_dst.data(), gk_one.data(), gb_one.data());
    cpu.conv2d_backward_data(g, grad_dst.data(), kernel.data(), gs_one.data());
    std::vector<float> gs_both(src.size(), 7.0f), gk_both(kernel.size(), 7.0f), gb_both(gb_one.size(), 7.0f);
    cpu.conv2d_backward(g, src.data(), grad_dst.data(), kernel.data(), gs_both.data(), gk_both.data(), gb_both.data());
    const std::string what = "in_c " + std::to_string(g.in_c) + (k.compute == rb::ComputeDtype::bfloat16 ? " bfloat16" : "") +
                             (k.algorithm == rb::ConvolutionAlgorithm::direct ? " direct" : " automatic");
    EXPECT_EQ(gs_both, gs_one) << what;
    EXPECT_EQ(gk_both, gk_one) << what;
    EXPECT_EQ(gb_both, gb_one) << what;
    // Without grad_src (a first layer): the weight gradients alone, the same.
    std::fill(gk_both.begin(), gk_both.end(), 7.0f);
    cpu.conv2d_backward(g, src.data(), grad_dst.data(), kernel.data(), nullptr, gk_both.data(), gb_both.data());
    EXPECT_EQ(gk_both, gk_one) << what << " without grad_src";
  }
}

TEST(CpuBackend, Bfloat16ConvolutionsAndGemmsRoundTheirOperands) {
  // Keras's mixed_bfloat16: the products' operands in bfloat16, sums in float32. The reference
  // rounds first and sums exactly; the CPU backend runs oneDNN's bfloat16 matmul where the CPU
  // has the instructions (then it must match the reference as float32 matches it), and float32
  // elsewhere (then it must equal its float32 result bit for bit).
  regula::Rng rng(15);
  rb::Backend& ref = rb::get(rb::BackendKind::reference);
  rb::Backend& cpu = rb::get(rb::BackendKind::cpu);
  std::vector<rb::Conv2DGeometry> geometries = {
      {.batch = 2, .in_h = 28, .in_w = 28, .in_c = 1, .out_h = 28, .out_w = 28, .out_c = 64, .kernel_h = 3,
       .kernel_w = 3, .pad_top = 1, .pad_left = 1},
      {.batch = 1, .in_h = 14, .in_w = 14, .in_c = 64, .out_h = 14, .out_w = 14, .out_c = 128, .kernel_h = 3,
       .kernel_w = 3, .pad_top = 1, .pad_left = 1},
      {.batch = 3, .in_h = 5, .in_w = 4, .in_c = 7, .out_h = 5, .out_w = 4, .out_c = 6, .kernel_h = 1, .kernel_w = 1}};
  for (int trial = 0; trial < 4; ++trial) geometries.push_back(random_conv(rng, 3 + trial, 1 + trial % 2, trial % 2 == 0));
  for (const rb::Conv2DGeometry& g : geometries) {
    const auto src = random_values(g.batch * g.in_h * g.in_w * g.in_c, rng);
    const auto kernel = random_values(g.kernel_h * g.kernel_w * g.in_c * g.out_c, rng);
    const auto bias = random_values(g.out_c, rng);
    const auto grad_dst = random_values(g.batch * g.out_h * g.out_w * g.out_c, rng);
    const ConvOutputs exact = run_conv(ref, g, rb::ComputeDtype::float32, src, kernel, bias, grad_dst);
    const ConvOutputs rounded = run_conv(ref, g, rb::ComputeDtype::bfloat16, src, kernel, bias, grad_dst);
    // Rounding to 8 significant bits moves the sums by far more than float32 noise...
    EXPECT_GT(max_error(rounded.dst, exact.dst), 1e-4) << describe(g);
    // ...and by at most K products each off by 2⁻⁸ of the largest product.
    const auto largest = [](const std::vector<float>& v) {
      double m = 0.0;
      for (float x : v) m = std::max(m, std::abs(static_cast<double>(x)));
      return m;
    };
    const double k = static_cast<double>(g.kernel_h * g.kernel_w * g.in_c);
    EXPECT_LT(max_error(rounded.dst, exact.dst), std::ldexp(k, -8) * largest(src) * largest(kernel)) << describe(g);
    // The bias gradient sums grad_dst unrounded.
    EXPECT_LT(max_error(rounded.grad_bias, exact.grad_bias), 1e-6) << describe(g);
    const ConvOutputs fast = run_conv(cpu, g, rb::ComputeDtype::bfloat16, src, kernel, bias, grad_dst);
    if (rb::cpu_has_bfloat16()) {
      EXPECT_LT(max_error(fast.dst, rounded.dst), 1e-4) << "forward " << describe(g);
      EXPECT_LT(max_error(fast.grad_src, rounded.grad_src), 1e-4) << "backward data " << describe(g);
      EXPECT_LT(max_error(fast.grad_kernel, rounded.grad_kernel), 1e-4) << "backward weights " << describe(g);
      EXPECT_LT(max_error(fast.grad_bias, rounded.grad_bias), 1e-4) << "backward bias " << describe(g);
    } else {
      const ConvOutputs fast32 = run_conv(cpu, g, rb::ComputeDtype::float32, src, kernel, bias, grad_dst);
      EXPECT_EQ(fast.dst, fast32.dst) << describe(g);
      EXPECT_EQ(fast.grad_src, fast32.grad_src) << describe(g);
      EXPECT_EQ(fast.grad_kernel, fast32.grad_kernel) << describe(g);
    }
  }
  // The GEMM, every transposition, with strides and beta.
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const int64_t m = 37, n = 19, k = 70;
      const int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
      const auto a = random_values((ta ? k : m) * lda, rng);
      const auto b = random_values((tb ? n : k) * ldb, rng);
      const auto c0 = random_values(m * ldc, rng);
      auto c_ref = c0, c_cpu = c0, c_cpu32 = c0;
      ref.gemm(ta, tb, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, 1.0f, c_ref.data(), ldc, rb::ComputeDtype::bfloat16);
      cpu.gemm(ta, tb, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, 1.0f, c_cpu.data(), ldc, rb::ComputeDtype::bfloat16);
      cpu.gemm(ta, tb, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, 1.0f, c_cpu32.data(), ldc, rb::ComputeDtype::float32);
      if (rb::cpu_has_bfloat16())
        EXPECT_LT(max_error(c_cpu, c_ref), 1e-5) << "trans_a " << ta << " trans_b " << tb;
      else
        EXPECT_EQ(c_cpu, c_cpu32);
    }
}

TEST(ComputeDtype, RoundsToTheNearestBfloat16TiesToEven) {
  EXPECT_EQ(rb::round_to_bfloat16(1.0f), 1.0f);
  // 1 + 2⁻⁸ is halfway between 1 and 1 + 2⁻⁷: ties go to the even significand (1).
  EXPECT_EQ(rb::round_to_bfloat16(1.0f + 0x1.0p-8f), 1.0f);
  EXPECT_EQ(rb::round_to_bfloat16(1.0f + 0x1.8p-8f), 1.0f + 0x1.0p-7f);
  EXPECT_EQ(rb::round_to_bfloat16(1.0f + 3 * 0x1.0p-8f), 1.0f + 0x1.0p-6f);  // tie, odd below: up
  EXPECT_EQ(rb::round_to_bfloat16(-3.0f), -3.0f);
  EXPECT_TRUE(std::isnan(rb::round_to_bfloat16(std::nanf(""))));
  EXPECT_EQ(rb::round_to_bfloat16(INFINITY), INFINITY);
}
