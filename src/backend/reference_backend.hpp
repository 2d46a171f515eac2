#pragma once
// The reference backend: plain serial loops, no threads, no library, no state (several threads may
// call it at once). The oracle for the fast backend. Its kernels are defined one family per file:
// reference_gemm.cpp, reference_conv.cpp, reference_pool.cpp, reference_elementwise.cpp,
// reference_batch_norm.cpp, reference_crossentropy.cpp, reference_updates.cpp.

#include "regula/backend/backend.hpp"

namespace regula::backend {

class ReferenceBackend final : public Backend {
 public:
  std::string name() const override { return "reference"; }
#include "src/backend/kernel_overrides.inc"
};

}  // namespace regula::backend
