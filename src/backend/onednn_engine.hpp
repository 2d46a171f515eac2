#pragma once
// The oneDNN engine and stream the CPU backend's primitives (convolutions, the bfloat16 matmul)
// run on.

#include <dnnl.hpp>

namespace regula::backend {

/// The process's CPU engine.
dnnl::engine& cpu_engine();

/// The calling thread's in-order stream on the CPU engine.
dnnl::stream& cpu_stream();

}  // namespace regula::backend
