#pragma once
// The zip container of NumPy's .npz files: reading members through the central directory
// (stored or deflated, zip64 extra fields and end records understood, CRC-32 checked) and
// writing a simple archive (no zip64; members below 4 GiB).

#include <cstdint>
#include <string>
#include <vector>

namespace regula::io::zip {

/// One member as the central directory describes it.
struct Entry {
  std::string name;
  uint16_t flags = 0;
  uint16_t method = 0;
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t local_header_offset = 0;
};

/// A zip archive held in memory. Throws `IOError` naming `path` for a corrupt archive.
class Reader {
 public:
  Reader(std::string path, std::vector<uint8_t> bytes);

  const std::vector<Entry>& entries() const { return entries_; }
  /// The uncompressed bytes of `entry` (stored or deflate), CRC-32 checked.
  std::vector<uint8_t> read(const Entry& entry) const;

 private:
  [[noreturn]] void fail(const std::string& what) const;
  void read_central_directory();

  std::string path_;
  std::vector<uint8_t> bytes_;
  std::vector<Entry> entries_;
};

/// A member to write.
struct Member {
  std::string name;
  std::vector<uint8_t> data;
};

/// The bytes of a zip archive holding `members` in order, deflated when `compress` is true,
/// stored otherwise. `path` is only used in error messages.
std::vector<uint8_t> write_archive(const std::vector<Member>& members, bool compress, const std::string& path);

}  // namespace regula::io::zip
