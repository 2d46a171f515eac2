#include <dnnl.h>

#include "regula/error.hpp"
#include "src/backend/cpu_backend.hpp"

namespace regula::backend {

// oneDNN's sgemm: JIT kernels chosen for the running CPU (AVX2, AVX-512) and OpenMP threads.
// Debian's OpenBLAS 0.3.21 does not recognise recent Xeons and falls back to its SSE3 kernel,
// measured here at a quarter of oneDNN's speed on the seed model's convolution GEMMs.
// A bfloat16 request goes to cpu_gemm_bfloat16.cpp where the CPU has the instructions; elsewhere
// it computes in float32 (the dtype policy has warned).
void CpuBackend::gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                      int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
                      ComputeDtype compute) {
  if (m == 0 || n == 0) return;
  if (compute == ComputeDtype::bfloat16 && k > 0 && cpu_has_bfloat16()) {
    gemm_bfloat16(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  const dnnl_status_t status =
      dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  if (status != dnnl_success)
    throw ValueError("gemm: oneDNN rejected m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" +
                     std::to_string(k) + " lda=" + std::to_string(lda) + " ldb=" + std::to_string(ldb) +
                     " ldc=" + std::to_string(ldc) + " (status " + std::to_string(static_cast<int>(status)) + ")");
}

}  // namespace regula::backend
