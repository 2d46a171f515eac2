#pragma once
// The direct weight-gradient kernel of the CPU backend for small patches (see cpu_conv_small_patch.cpp).

#include <cstdint>
#include <vector>

#include "regula/backend/backend.hpp"

namespace regula::backend {

/// Patches of up to this many values (kh·kw·in_c) go to the direct kernel.
inline constexpr int64_t kSmallPatchMax = 32;

/// Whether `g`'s patch is small enough for the direct kernel.
bool is_small_patch(const Conv2DGeometry& g);

/// Backend::conv2d_backward_weights for a small patch; `partial_buffer` holds the per-thread
/// partial sums (grown as needed, reused across calls).
void small_patch_conv_backward_weights(const Conv2DGeometry& g, const float* src, const float* grad_dst,
                                       float* grad_kernel, float* grad_bias, std::vector<float>& partial_buffer);

}  // namespace regula::backend
