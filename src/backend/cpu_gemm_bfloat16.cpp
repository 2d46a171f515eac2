// The bfloat16 GEMM of the CPU backend: operands rounded to bfloat16 (one pass each, in parallel),
// then oneDNN's matmul primitive with bfloat16 sources and a float32 destination, which runs on
// AMX tiles or AVX512_BF16 dot products where the CPU has them.
#include <omp.h>

#include <dnnl.hpp>
#include <map>
#include <tuple>

#include "regula/error.hpp"
#include "src/backend/cpu_backend.hpp"
#include "src/backend/onednn_engine.hpp"

namespace regula::backend {
namespace {

/// Below this many values a parallel region costs more than the conversion.
constexpr int64_t kParallelConversion = 1 << 15;

/// Rounds `rows` rows of `cols` values at row stride `ld` to bfloat16, packed (row stride cols).
void convert_to_bfloat16(const float* src, int64_t rows, int64_t cols, int64_t ld, uint16_t* dst) {
#pragma omp parallel for schedule(static) if (rows * cols > kParallelConversion)
  for (int64_t r = 0; r < rows; ++r) {
    const float* s = src + r * ld;
    uint16_t* d = dst + r * cols;
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) d[c] = to_bfloat16_bits(s[c]);
  }
}

/// One matmul per shape, transposition, alpha and beta (the seed model uses a handful).
using MatmulKey = std::tuple<bool, bool, int64_t, int64_t, int64_t, int64_t, float, float>;

/// A matmul and the layouts of its operands.
struct Matmul {
  dnnl::memory::desc a;
  dnnl::memory::desc b;
  dnnl::memory::desc c;
  dnnl::matmul primitive;
};

Matmul make_matmul(const MatmulKey& key) {
  const auto [trans_a, trans_b, m, n, k, ldc, alpha, beta] = key;
  using dt = dnnl::memory::data_type;
  Matmul matmul;
  // The operands are packed as stored: A is m×k (or k×m when transposed), B k×n (or n×k).
  matmul.a = dnnl::memory::desc({m, k}, dt::bf16, trans_a ? dnnl::memory::dims{1, m} : dnnl::memory::dims{k, 1});
  matmul.b = dnnl::memory::desc({k, n}, dt::bf16, trans_b ? dnnl::memory::dims{1, k} : dnnl::memory::dims{n, 1});
  matmul.c = dnnl::memory::desc({m, n}, dt::f32, dnnl::memory::dims{ldc, 1});
  dnnl::primitive_attr attr;
  if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
  if (beta != 0.0f) {
    dnnl::post_ops post;
    post.append_sum(beta);
    attr.set_post_ops(post);
  }
  matmul.primitive =
      dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(matmul.a, matmul.b, matmul.c), attr, cpu_engine()));
  return matmul;
}

}  // namespace

uint16_t* CpuBackend::grown(std::vector<uint16_t>& buffer, int64_t count) {
  if (static_cast<int64_t>(buffer.size()) < count) buffer.resize(static_cast<size_t>(count));
  return buffer.data();
}

const uint16_t* CpuBackend::to_bfloat16(const float* x, int64_t count, std::vector<uint16_t>& buffer) {
  uint16_t* converted = grown(buffer, count);
  convert_to_bfloat16(x, 1, count, count, converted);
  return converted;
}

void CpuBackend::gemm_bfloat16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                               const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                               int64_t ldc) {
  const int64_t a_rows = trans_a ? k : m;
  const int64_t a_cols = trans_a ? m : k;
  const int64_t b_rows = trans_b ? n : k;
  const int64_t b_cols = trans_b ? k : n;
  uint16_t* a_bf16 = grown(bfloat16_a_, a_rows * a_cols);
  uint16_t* b_bf16 = grown(bfloat16_b_, b_rows * b_cols);
  convert_to_bfloat16(a, a_rows, a_cols, lda, a_bf16);
  convert_to_bfloat16(b, b_rows, b_cols, ldb, b_bf16);
  if (alpha != 1.0f) {
    // alpha scales the rounded product: fold it into C's update (every caller passes 1).
    throw ValueError("gemm (bfloat16): alpha=" + std::to_string(alpha) + " is not supported; only alpha = 1");
  }
  matmul_bfloat16(trans_a, trans_b, m, n, k, a_bf16, b_bf16, beta, c, ldc);
}

void CpuBackend::matmul_bfloat16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const uint16_t* a,
                                 const uint16_t* b, float beta, float* c, int64_t ldc) {
  const MatmulKey key{trans_a, trans_b, m, n, k, ldc, 1.0f, beta};
  static thread_local std::map<MatmulKey, Matmul> matmuls;
  auto found = matmuls.find(key);
  if (found == matmuls.end()) {
    try {
      found = matmuls.emplace(key, make_matmul(key)).first;
    } catch (const dnnl::error& e) {
      throw ValueError("gemm (bfloat16): oneDNN has no matmul for m=" + std::to_string(m) + " n=" + std::to_string(n) +
                       " k=" + std::to_string(k) + " ldc=" + std::to_string(ldc) + ": " + e.what());
    }
  }
  const Matmul& matmul = found->second;
  const dnnl::memory a_memory(matmul.a, cpu_engine(), const_cast<uint16_t*>(a));
  const dnnl::memory b_memory(matmul.b, cpu_engine(), const_cast<uint16_t*>(b));
  const dnnl::memory c_memory(matmul.c, cpu_engine(), c);
  matmul.primitive.execute(cpu_stream(), {{DNNL_ARG_SRC, a_memory}, {DNNL_ARG_WEIGHTS, b_memory}, {DNNL_ARG_DST, c_memory}});
  cpu_stream().wait();
}

}  // namespace regula::backend
