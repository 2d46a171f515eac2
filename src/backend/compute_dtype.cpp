#include "regula/backend/compute_dtype.hpp"

#include <dnnl.h>

namespace regula::backend {

const char* to_string(ComputeDtype dtype) { return dtype == ComputeDtype::bfloat16 ? "bfloat16" : "float32"; }

bool cpu_has_bfloat16() {
  // oneDNN's ISA masks are cumulative: an ISA includes the bits of those below it.
  static const bool has = [] {
    const auto isa = static_cast<unsigned>(dnnl_get_effective_cpu_isa());
    const auto bf16 = static_cast<unsigned>(dnnl_cpu_isa_avx512_core_bf16);
    return (isa & bf16) == bf16;
  }();
  return has;
}

}  // namespace regula::backend
