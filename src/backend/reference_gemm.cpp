#include "src/backend/reference_backend.hpp"

namespace regula::backend {

void ReferenceBackend::gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                            const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                            int64_t ldc, ComputeDtype compute) {
  // bfloat16: each operand rounded before its product (exact in double), as the CPU's bf16 GEMM.
  const auto operand = [compute](float x) { return compute == ComputeDtype::bfloat16 ? round_to_bfloat16(x) : x; };
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0.0;
      for (int64_t p = 0; p < k; ++p) {
        const float av = operand(trans_a ? a[p * lda + i] : a[i * lda + p]);
        const float bv = operand(trans_b ? b[j * ldb + p] : b[p * ldb + j]);
        sum += static_cast<double>(av) * bv;
      }
      float& dst = c[i * ldc + j];
      dst = static_cast<float>(alpha * sum + (beta == 0.0f ? 0.0 : static_cast<double>(beta) * dst));
    }
  }
}

}  // namespace regula::backend
