#pragma once
/// @file
/// CRC-32C (Castagnoli), the checksum of TFRecord files, and TFRecord's masking of it.
///
/// CRC-32C uses the reflected polynomial 0x82F63B78 (0x1EDC6F41 in normal form), an initial
/// value of 0xFFFFFFFF and a final XOR of 0xFFFFFFFF, as iSCSI and SSE4.2's `crc32` instruction:
/// `crc32c("123456789") == 0xE3069283`. TFRecord stores every checksum masked, so that a CRC
/// computed over data that itself holds CRCs stays well-distributed:
/// `masked = ((crc >> 15) | (crc << 17)) + 0xA282EAD8` (modulo 2^32).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace regula::io {

/// CRC-32C of `size` bytes at `data`. `crc` continues an earlier checksum: crc32c(ab) ==
/// crc32c(b, crc32c(a)).
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);
inline uint32_t crc32c(std::string_view bytes, uint32_t crc = 0) { return crc32c(bytes.data(), bytes.size(), crc); }

/// TFRecord's mask of a CRC: rotate right by 15 bits, add 0xA282EAD8.
constexpr uint32_t mask_crc32c(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u; }
/// The inverse of `mask_crc32c`.
constexpr uint32_t unmask_crc32c(uint32_t masked) {
  const uint32_t rotated = masked - 0xA282EAD8u;
  return (rotated >> 17) | (rotated << 15);
}
/// `mask_crc32c(crc32c(bytes))`, the checksum as TFRecord stores it.
inline uint32_t masked_crc32c(std::string_view bytes) { return mask_crc32c(crc32c(bytes)); }

}  // namespace regula::io
