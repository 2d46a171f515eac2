#include "src/io/zip_archive.hpp"

#include <zlib.h>

#include <algorithm>
#include <limits>
#include <new>

#include "regula/error.hpp"

namespace regula::io::zip {
namespace {

constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kZip64EndSignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr size_t kLocalHeaderSize = 30;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kEndSize = 22;
constexpr size_t kZip64EndSize = 56;
constexpr size_t kZip64LocatorSize = 20;
constexpr uint16_t kStored = 0;
constexpr uint16_t kDeflate = 8;
// DOS date of 1980-01-01, the earliest a zip archive can express.
constexpr uint16_t kDosDate1980 = (1 << 5) | 1;

uint64_t get_le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void put_le(std::vector<uint8_t>& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

/// The fields a local file header and its central directory record share, from "version needed
/// to extract" to "extra field length": no flags, time 00:00:00 of 1980-01-01, no extra field.
void put_shared_header_fields(std::vector<uint8_t>& out, uint16_t version_needed, uint16_t method, uint32_t crc,
                              uint64_t compressed_size, uint64_t uncompressed_size, uint64_t name_size) {
  put_le(out, version_needed, 2);
  put_le(out, 0, 2);  // flags
  put_le(out, method, 2);
  put_le(out, 0, 2);  // time 00:00:00
  put_le(out, kDosDate1980, 2);
  put_le(out, crc, 4);
  put_le(out, compressed_size, 4);
  put_le(out, uncompressed_size, 4);
  put_le(out, name_size, 2);
  put_le(out, 0, 2);  // extra length
}

uint32_t crc_of(const uint8_t* data, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (size > 0) {
    uInt chunk = static_cast<uInt>(std::min<size_t>(size, std::numeric_limits<uInt>::max()));
    crc = crc32(crc, data, chunk);
    data += chunk;
    size -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

}  // namespace

Reader::Reader(std::string path, std::vector<uint8_t> bytes) : path_(std::move(path)), bytes_(std::move(bytes)) {
  read_central_directory();
}

void Reader::fail(const std::string& what) const {
  throw IOError("corrupt zip archive '" + path_ + "': " + what);
}

void Reader::read_central_directory() {
  const size_t size = bytes_.size();
  if (size < kEndSize)
    fail("the file is " + std::to_string(size) + " bytes long, shorter than the 22-byte end-of-central-directory "
         "record every zip archive ends with (a truncated file, or not a zip archive)");
  // The end record sits at the very end, followed only by an archive comment of at most 65535 bytes.
  size_t end_pos = std::string::npos;
  const size_t lowest = size >= kEndSize + 0xFFFF ? size - kEndSize - 0xFFFF : 0;
  for (size_t pos = size - kEndSize + 1; pos-- > lowest;) {
    if (get_le(&bytes_[pos], 4) == kEndSignature && pos + kEndSize + get_le(&bytes_[pos + 20], 2) <= size) {
      end_pos = pos;
      break;
    }
  }
  if (end_pos == std::string::npos)
    fail("no end-of-central-directory record (signature PK\\5\\6) found; the file is truncated or not a zip archive");

  const uint8_t* end = &bytes_[end_pos];
  uint64_t count = get_le(end + 10, 2);
  uint64_t directory_size = get_le(end + 12, 4);
  uint64_t directory_offset = get_le(end + 16, 4);
  const bool maybe_zip64 = count == 0xFFFF || directory_size == 0xFFFFFFFF || directory_offset == 0xFFFFFFFF;
  if (end_pos >= kZip64LocatorSize && get_le(&bytes_[end_pos - kZip64LocatorSize], 4) == kZip64LocatorSignature) {
    uint64_t zip64_end = get_le(&bytes_[end_pos - kZip64LocatorSize + 8], 8);
    if (zip64_end > size || size - zip64_end < kZip64EndSize || get_le(&bytes_[zip64_end], 4) != kZip64EndSignature)
      fail("the zip64 end-of-central-directory locator points to offset " + std::to_string(zip64_end) +
           ", where no zip64 end record is");
    const uint8_t* z = &bytes_[zip64_end];
    count = get_le(z + 32, 8);
    directory_size = get_le(z + 40, 8);
    directory_offset = get_le(z + 48, 8);
  } else if (maybe_zip64) {
    fail("the end record defers to a zip64 end record, but there is no zip64 locator before it");
  }
  if (directory_offset > size || directory_size > size - directory_offset)
    fail("the central directory (" + std::to_string(directory_size) + " bytes at offset " +
         std::to_string(directory_offset) + ") lies beyond the end of the " + std::to_string(size) + "-byte file");

  size_t pos = directory_offset;
  const size_t directory_end = directory_offset + directory_size;
  for (uint64_t i = 0; i < count; ++i) {
    if (directory_end - pos < kCentralHeaderSize || get_le(&bytes_[pos], 4) != kCentralHeaderSignature)
      fail("central directory entry " + std::to_string(i) + " of " + std::to_string(count) + " at offset " +
           std::to_string(pos) + " is missing or has a bad signature (expected PK\\1\\2)");
    const uint8_t* h = &bytes_[pos];
    const size_t name_len = get_le(h + 28, 2), extra_len = get_le(h + 30, 2), comment_len = get_le(h + 32, 2);
    if (directory_end - pos - kCentralHeaderSize < name_len + extra_len + comment_len)
      fail("central directory entry " + std::to_string(i) + " runs past the end of the directory");
    Entry e;
    e.flags = static_cast<uint16_t>(get_le(h + 8, 2));
    e.method = static_cast<uint16_t>(get_le(h + 10, 2));
    e.crc32 = static_cast<uint32_t>(get_le(h + 16, 4));
    e.compressed_size = get_le(h + 20, 4);
    e.uncompressed_size = get_le(h + 24, 4);
    e.local_header_offset = get_le(h + 42, 4);
    e.name.assign(reinterpret_cast<const char*>(h + kCentralHeaderSize), name_len);
    // Zip64 extra field: 64-bit values for exactly those fields whose 32-bit value is 0xFFFFFFFF,
    // in the order uncompressed size, compressed size, local header offset.
    const uint8_t* extra = h + kCentralHeaderSize + name_len;
    for (size_t k = 0; k + 4 <= extra_len;) {
      const uint16_t id = static_cast<uint16_t>(get_le(extra + k, 2));
      const size_t field_len = get_le(extra + k + 2, 2);
      if (k + 4 + field_len > extra_len) fail("member '" + e.name + "' has a malformed extra field");
      if (id == kZip64ExtraId) {
        const uint8_t* f = extra + k + 4;
        size_t used = 0;
        for (uint64_t* value : {&e.uncompressed_size, &e.compressed_size, &e.local_header_offset}) {
          if (*value != 0xFFFFFFFF) continue;
          if (used + 8 > field_len) fail("member '" + e.name + "' has a zip64 extra field too short for its sizes");
          *value = get_le(f + used, 8);
          used += 8;
        }
      }
      k += 4 + field_len;
    }
    entries_.push_back(std::move(e));
    pos += kCentralHeaderSize + name_len + extra_len + comment_len;
  }
}

std::vector<uint8_t> Reader::read(const Entry& e) const {
  const size_t size = bytes_.size();
  if (e.flags & 1) fail("member '" + e.name + "' is encrypted; only unencrypted archives can be read");
  if (e.local_header_offset > size || size - e.local_header_offset < kLocalHeaderSize ||
      get_le(&bytes_[e.local_header_offset], 4) != kLocalHeaderSignature)
    fail("member '" + e.name + "': no local header (signature PK\\3\\4) at offset " +
         std::to_string(e.local_header_offset));
  const uint8_t* h = &bytes_[e.local_header_offset];
  const uint64_t data_offset = e.local_header_offset + kLocalHeaderSize + get_le(h + 26, 2) + get_le(h + 28, 2);
  if (data_offset > size || e.compressed_size > size - data_offset)
    fail("member '" + e.name + "' is truncated: its " + std::to_string(e.compressed_size) + " bytes at offset " +
         std::to_string(data_offset) + " run past the end of the " + std::to_string(size) + "-byte file");
  const uint8_t* data = bytes_.data() + data_offset;

  std::vector<uint8_t> out;
  if (e.method == kStored) {
    if (e.compressed_size != e.uncompressed_size)
      fail("stored member '" + e.name + "' declares " + std::to_string(e.compressed_size) + " stored bytes but " +
           std::to_string(e.uncompressed_size) + " uncompressed bytes");
    out.assign(data, data + e.compressed_size);
  } else if (e.method == kDeflate) {
    // Deflate cannot expand data by more than a factor of 1032; a larger claim is corruption, and
    // refusing it avoids allocating absurd buffers.
    if (e.uncompressed_size > 1032 * e.compressed_size + 1024)
      fail("member '" + e.name + "' claims " + std::to_string(e.uncompressed_size) + " bytes from " +
           std::to_string(e.compressed_size) + " deflated bytes, more than deflate can expand to");
    out.resize(e.uncompressed_size);
    z_stream zs{};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) throw std::bad_alloc();
    zs.next_in = const_cast<Bytef*>(data);
    zs.next_out = out.data();
    uint64_t in_left = e.compressed_size, out_left = out.size();
    int rc = Z_OK;
    while (rc == Z_OK) {
      if (zs.avail_in == 0) {
        zs.avail_in = static_cast<uInt>(std::min<uint64_t>(in_left, std::numeric_limits<uInt>::max()));
        in_left -= zs.avail_in;
      }
      if (zs.avail_out == 0) {
        zs.avail_out = static_cast<uInt>(std::min<uint64_t>(out_left, std::numeric_limits<uInt>::max()));
        out_left -= zs.avail_out;
      }
      rc = inflate(&zs, Z_NO_FLUSH);
      if (rc == Z_BUF_ERROR && (zs.avail_in > 0 || in_left > 0) && (zs.avail_out > 0 || out_left > 0)) rc = Z_OK;
    }
    const uint64_t produced = zs.total_out;
    const std::string message = zs.msg != nullptr ? zs.msg : "";
    inflateEnd(&zs);
    if (rc != Z_STREAM_END || produced != e.uncompressed_size)
      fail("member '" + e.name + "': the deflate stream is corrupt or truncated (" +
           (message.empty() ? "it ends early" : message) + "; " + std::to_string(produced) + " of " +
           std::to_string(e.uncompressed_size) + " bytes inflated)");
  } else {
    fail("member '" + e.name + "' uses compression method " + std::to_string(e.method) +
         "; supported: 0 (stored) and 8 (deflate), the methods np.savez and np.savez_compressed use");
  }
  const uint32_t crc = crc_of(out.data(), out.size());
  if (crc != e.crc32) fail("member '" + e.name + "' fails its CRC-32 check (the data is corrupt)");
  return out;
}

std::vector<uint8_t> write_archive(const std::vector<Member>& members, bool compress, const std::string& path) {
  std::vector<uint8_t> out, directory;
  for (const Member& m : members) {
    std::vector<uint8_t> payload;
    if (compress) {
      z_stream zs{};
      if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::bad_alloc();
      payload.resize(deflateBound(&zs, static_cast<uLong>(m.data.size())));
      zs.next_in = const_cast<Bytef*>(m.data.data());
      zs.avail_in = static_cast<uInt>(m.data.size());
      zs.next_out = payload.data();
      zs.avail_out = static_cast<uInt>(payload.size());
      const int rc = m.data.size() <= std::numeric_limits<uInt>::max() / 2 ? deflate(&zs, Z_FINISH) : Z_BUF_ERROR;
      const size_t produced = zs.total_out;
      deflateEnd(&zs);
      if (rc != Z_STREAM_END)
        throw ValueError("save_npz('" + path + "'): member '" + m.name + "' (" + std::to_string(m.data.size()) +
                         " bytes) is too large to compress in one piece (at most 2 GiB)");
      payload.resize(produced);
    }
    const std::vector<uint8_t>& stored = compress ? payload : m.data;
    if (m.data.size() >= 0xFFFFFFFFull || stored.size() >= 0xFFFFFFFFull || out.size() >= 0xFFFFFFFFull)
      throw ValueError("save_npz('" + path + "'): member '" + m.name +
                       "' would need zip64 (archives and members must be below 4 GiB)");
    const uint32_t crc = crc_of(m.data.data(), m.data.size());
    const uint16_t method = compress ? kDeflate : kStored;
    const uint16_t version_needed = compress ? 20 : 10;
    const uint64_t local_offset = out.size();

    put_le(out, kLocalHeaderSignature, 4);
    put_shared_header_fields(out, version_needed, method, crc, stored.size(), m.data.size(), m.name.size());
    out.insert(out.end(), m.name.begin(), m.name.end());
    out.insert(out.end(), stored.begin(), stored.end());

    put_le(directory, kCentralHeaderSignature, 4);
    put_le(directory, version_needed, 2);  // version made by
    put_shared_header_fields(directory, version_needed, method, crc, stored.size(), m.data.size(), m.name.size());
    put_le(directory, 0, 2);  // comment length
    put_le(directory, 0, 2);  // disk number
    put_le(directory, 0, 2);  // internal attributes
    put_le(directory, 0, 4);  // external attributes
    put_le(directory, local_offset, 4);
    directory.insert(directory.end(), m.name.begin(), m.name.end());
  }
  if (members.size() >= 0xFFFF || out.size() >= 0xFFFFFFFFull)
    throw ValueError("save_npz('" + path + "'): " + std::to_string(members.size()) +
                     " members would need zip64 (at most 65534 members, below 4 GiB in all)");
  const uint64_t directory_offset = out.size();
  out.insert(out.end(), directory.begin(), directory.end());
  put_le(out, kEndSignature, 4);
  put_le(out, 0, 2);
  put_le(out, 0, 2);
  put_le(out, members.size(), 2);
  put_le(out, members.size(), 2);
  put_le(out, directory.size(), 4);
  put_le(out, directory_offset, 4);
  put_le(out, 0, 2);  // comment length
  return out;
}

}  // namespace regula::io::zip
