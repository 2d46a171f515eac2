#pragma once
/// @file
/// The precision of a kernel's products: float32, or bfloat16 as Keras's `mixed_bfloat16` policy
/// computes (inputs rounded to bfloat16 — 8 exponent bits, 8 significant bits — products summed
/// in float32, results stored in float32).

#include <cstdint>
#include <cstring>

namespace regula::backend {

enum class ComputeDtype { float32, bfloat16 };

/// "float32" or "bfloat16".
const char* to_string(ComputeDtype dtype);

/// Whether this CPU multiplies bfloat16 in hardware (AVX512_BF16 or AMX-BF16, as oneDNN detects
/// them); without it the CPU backend computes a bfloat16 request in float32.
bool cpu_has_bfloat16();

/// The bfloat16 nearest to `x` (ties to even), as its 16 bits; NaN stays a (quiet) NaN and
/// infinities stay infinite.
inline uint16_t to_bfloat16_bits(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((bits >> 16) | 0x0040u);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

/// The float32 value of bfloat16 bits.
inline float from_bfloat16_bits(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float x;
  std::memcpy(&x, &wide, sizeof x);
  return x;
}

/// `x` rounded to the nearest bfloat16 (ties to even), as a float32.
inline float round_to_bfloat16(float x) { return from_bfloat16_bits(to_bfloat16_bits(x)); }

}  // namespace regula::backend
