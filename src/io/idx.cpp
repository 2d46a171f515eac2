#include "regula/io/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <system_error>


#include "regula/error.hpp"
#include "regula/io/file_bytes.hpp"
#include "src/io/byte_reader.hpp"

namespace regula::io {
namespace {

namespace fs = std::filesystem;

constexpr const char* kKnownTypes =
    "0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64";

std::string hex_byte(uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", static_cast<unsigned>(b));
  return buf;
}

std::string dims_string(const std::vector<int64_t>& dims) {
  std::string s = "(";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + (dims.size() == 1 ? ",)" : ")");
}

bool valid_type_code(uint8_t code) {
  switch (code) {
    case 0x08: case 0x09: case 0x0B: case 0x0C: case 0x0D: case 0x0E: return true;
    default: return false;
  }
}


// Prefix for errors about the decoded IDX content.
std::string where(const ByteReader& r) {
  return "IDX file '" + r.path() + "'" + (r.gzip() ? " (gzip-compressed)" : "") + ": ";
}

IdxHeader parse_header(ByteReader& r) {
  uint8_t magic[4] = {0, 0, 0, 0};
  size_t got = r.read(magic, 4);
  if (got < 4)
    throw IOError(where(r) + (got == 0 ? std::string("is empty") : "has only " + std::to_string(got) + " bytes") +
                  "; an IDX file starts with the 4-byte magic 0x00 0x00 <type> <ndims>");
  std::string found = hex_byte(magic[0]) + " " + hex_byte(magic[1]) + " " + hex_byte(magic[2]) + " " + hex_byte(magic[3]);
  if (magic[0] != 0 || magic[1] != 0)
    throw IOError(where(r) + "bad magic: the first 4 bytes are " + found +
                  ", expected 0x00 0x00 <type> <ndims> with type one of " + kKnownTypes + " (not an IDX file?)");
  if (!valid_type_code(magic[2]))
    throw IOError(where(r) + "unknown element type code " + hex_byte(magic[2]) + " (byte 2 of the magic " + found +
                  "); known codes: " + kKnownTypes);
  if (magic[3] == 0)
    throw IOError(where(r) + "the magic " + found + " declares 0 dimensions; an IDX array has at least one");

  IdxHeader h;
  h.type = static_cast<IdxType>(magic[2]);
  const size_t ndims = magic[3];
  h.header_bytes = 4 + 4 * static_cast<int64_t>(ndims);
  std::vector<uint8_t> raw(4 * ndims);
  got = r.read(raw.data(), raw.size());
  if (got < raw.size())
    throw IOError(where(r) + "truncated header: the magic declares " + std::to_string(ndims) + " dimensions, which need " +
                  std::to_string(raw.size()) + " bytes after the magic, but only " + std::to_string(got) + " follow");
  h.dims.resize(ndims);
  for (size_t i = 0; i < ndims; ++i) {
    const uint8_t* p = raw.data() + 4 * i;
    h.dims[i] = (int64_t{p[0]} << 24) | (int64_t{p[1]} << 16) | (int64_t{p[2]} << 8) | int64_t{p[3]};
  }
  for (size_t i = 0; i < ndims; ++i)
    if (h.dims[i] == 0)
      throw IOError(where(r) + "dimension " + std::to_string(i) + " of " + dims_string(h.dims) +
                    " is zero; every IDX dimension must be at least 1");
  // Guard the byte count against overflow so a corrupt header cannot wrap into a small size.
  int64_t bytes = idx_type_size(h.type);
  for (int64_t d : h.dims) {
    if (bytes > std::numeric_limits<int64_t>::max() / d)
      throw IOError(where(r) + "the header declares dimensions " + dims_string(h.dims) + " of " +
                    idx_type_name(h.type) + ", too large to be real (corrupt header?)");
    bytes *= d;
  }
  return h;
}

inline uint32_t load_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
inline uint64_t load_be64(const uint8_t* p) { return (uint64_t{load_be32(p)} << 32) | load_be32(p + 4); }

void store_be32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

std::string index_string(const Shape& shape, int64_t flat) {
  std::vector<int64_t> idx(static_cast<size_t>(shape.rank()));
  for (int a = shape.rank() - 1; a >= 0; --a) {
    idx[static_cast<size_t>(a)] = flat % shape[a];
    flat /= shape[a];
  }
  return dims_string(idx);
}


}  // namespace

int idx_type_size(IdxType type) {
  switch (type) {
    case IdxType::uint8: case IdxType::int8: return 1;
    case IdxType::int16: return 2;
    case IdxType::int32: case IdxType::float32: return 4;
    case IdxType::float64: return 8;
  }
  throw ValueError("idx_type_size: invalid IdxType " + std::to_string(static_cast<int>(type)));
}

const char* idx_type_name(IdxType type) {
  switch (type) {
    case IdxType::uint8: return "uint8";
    case IdxType::int8: return "int8";
    case IdxType::int16: return "int16";
    case IdxType::int32: return "int32";
    case IdxType::float32: return "float32";
    case IdxType::float64: return "float64";
  }
  return "invalid";
}

int64_t IdxHeader::num_elements() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

std::vector<int64_t> IdxArray::dims() const {
  std::vector<int64_t> d = header.dims;
  if (!d.empty()) d[0] = rows;
  return d;
}

IdxHeader read_idx_header(const std::string& path) {
  ByteReader r(path);
  return parse_header(r);
}

namespace {

// What reading the data of a header means in bytes: all rows or the first `max_rows`.
struct Extent {
  int64_t rows = 0;
  int64_t row_bytes = 0;
  int64_t total_bytes = 0;  // what the header declares
  uint64_t want = 0;        // what will be read
  bool whole = true;
};

Extent extent_of(const IdxHeader& h, int64_t max_rows) {
  Extent e;
  const int64_t total_rows = h.dims[0];
  e.row_bytes = h.num_elements() / total_rows * idx_type_size(h.type);
  e.total_bytes = e.row_bytes * total_rows;
  e.rows = max_rows > 0 ? std::min(max_rows, total_rows) : total_rows;
  e.whole = e.rows == total_rows;
  e.want = static_cast<uint64_t>(e.rows * e.row_bytes);
  return e;
}

IOError truncated_error(const ByteReader& r, const IdxHeader& h, const Extent& e, uint64_t found) {
  return IOError(where(r) + "data is truncated: the header declares " + dims_string(h.dims) + " " +
                 idx_type_name(h.type) + " = " + std::to_string(e.total_bytes) + " bytes of data after the " +
                 std::to_string(h.header_bytes) + "-byte header, but only " + std::to_string(found) + " bytes follow");
}

// For a raw file the length is known up front: report truncation before allocating what a
// corrupt header may claim.
void check_raw_length(const ByteReader& r, const IdxHeader& h, const Extent& e) {
  if (r.gzip()) return;
  std::optional<uint64_t> file_size = r.file_size();
  if (!file_size) return;
  uint64_t size = *file_size;
  uint64_t available = size - std::min<uint64_t>(size, static_cast<uint64_t>(h.header_bytes));
  if (available < e.want) throw truncated_error(r, h, e, available);
}

void check_no_trailing_bytes(ByteReader& r, const IdxHeader& h, const Extent& e) {
  if (!e.whole) return;
  uint64_t extra = r.drain();
  if (extra > 0)
    throw IOError(where(r) + std::to_string(extra) + " bytes of trailing garbage after the data: the header declares " +
                  dims_string(h.dims) + " " + idx_type_name(h.type) + " = " + std::to_string(e.total_bytes) +
                  " bytes after the " + std::to_string(h.header_bytes) + "-byte header, but " +
                  std::to_string(static_cast<uint64_t>(e.total_bytes) + extra) + " follow (wrong dimensions in the header?)");
}

void check_divisor(float divisor, const char* fn) {
  if (!(divisor != 0.0f) || !std::isfinite(divisor))
    throw ValueError(std::string(fn) + ": divisor must be finite and non-zero, got " + std::to_string(divisor));
}

// Converts `n` big-endian elements of `type` at `src` to float in `dst`, divided by `divisor`.
// Division (not multiplication by 1/divisor) so values equal numpy's x.astype(float32) / d bit
// for bit; for bytes a 256-entry table makes that free.
void convert(IdxType type, const uint8_t* src, int64_t n, float divisor, float* dst) {
  switch (type) {
    case IdxType::uint8: {
      float table[256];
      for (int i = 0; i < 256; ++i) table[i] = static_cast<float>(i) / divisor;
      for (int64_t i = 0; i < n; ++i) dst[i] = table[src[i]];
      break;
    }
    case IdxType::int8: {
      float table[256];
      for (int i = 0; i < 256; ++i) table[i] = static_cast<float>(static_cast<int8_t>(static_cast<uint8_t>(i))) / divisor;
      for (int64_t i = 0; i < n; ++i) dst[i] = table[src[i]];
      break;
    }
    case IdxType::int16:
      for (int64_t i = 0; i < n; ++i) {
        auto v = static_cast<int16_t>(static_cast<uint16_t>((src[2 * i] << 8) | src[2 * i + 1]));
        dst[i] = static_cast<float>(v) / divisor;
      }
      break;
    case IdxType::int32:
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(static_cast<int32_t>(load_be32(src + 4 * i))) / divisor;
      break;
    case IdxType::float32:
      for (int64_t i = 0; i < n; ++i) {
        uint32_t bits = load_be32(src + 4 * i);
        float v;
        std::memcpy(&v, &bits, 4);
        dst[i] = v / divisor;
      }
      break;
    case IdxType::float64:
      for (int64_t i = 0; i < n; ++i) {
        uint64_t bits = load_be64(src + 8 * i);
        double v;
        std::memcpy(&v, &bits, 8);
        dst[i] = static_cast<float>(v / static_cast<double>(divisor));
      }
      break;
  }
}

}  // namespace

IdxArray read_idx_array(const std::string& path, int64_t max_rows) {
  if (max_rows < 0) throw ValueError("read_idx_array: max_rows must be >= 0 (0 = all), got " + std::to_string(max_rows));
  ByteReader r(path);
  IdxArray a;
  a.header = parse_header(r);
  const Extent e = extent_of(a.header, max_rows);
  a.rows = e.rows;
  check_raw_length(r, a.header, e);
  // Decompressed length is unknown until the end (the gzip trailer's size is mod 2^32), so grow
  // in bounded steps: a corrupt header claiming terabytes fails as truncated, not as bad_alloc.
  uint64_t have = 0;
  while (have < e.want) {
    uint64_t step = r.gzip() ? std::min<uint64_t>(e.want - have, std::max<uint64_t>(uint64_t{64} << 20, have))
                             : e.want;
    a.bytes.resize(have + step);
    size_t got = r.read(a.bytes.data() + have, step);
    have += got;
    if (got < step) throw truncated_error(r, a.header, e, have);
  }
  check_no_trailing_bytes(r, a.header, e);
  return a;
}

Tensor idx_to_tensor(const IdxArray& array, float divisor) {
  check_divisor(divisor, "idx_to_tensor");
  Tensor t = Tensor::uninitialized(Shape(array.dims()));
  if (static_cast<uint64_t>(t.size()) * static_cast<uint64_t>(idx_type_size(array.header.type)) != array.bytes.size())
    throw ValueError("idx_to_tensor: " + std::to_string(array.bytes.size()) + " data bytes do not match dims " +
                     dims_string(array.dims()) + " of " + idx_type_name(array.header.type));
  convert(array.header.type, array.bytes.data(), t.size(), divisor, t.data());
  return t;
}

Tensor read_idx(const std::string& path, const IdxReadOptions& options) {
  if (options.max_rows < 0)
    throw ValueError("read_idx: max_rows must be >= 0 (0 = all), got " + std::to_string(options.max_rows));
  check_divisor(options.divisor, "read_idx");
  ByteReader r(path);
  const IdxHeader h = parse_header(r);
  const Extent e = extent_of(h, options.max_rows);
  check_raw_length(r, h, e);
  // A gzip file's length is unknown until the end; past 1 GiB, go through the bounded-growth
  // byte buffer so a corrupt header reports truncation instead of failing a huge allocation.
  if (r.gzip() && e.want > (uint64_t{1} << 30))
    return idx_to_tensor(read_idx_array(path, options.max_rows), options.divisor);

  std::vector<int64_t> dims = h.dims;
  dims[0] = e.rows;
  Tensor t = Tensor::uninitialized(Shape(std::move(dims)));
  // Decompress and convert chunk by chunk: the chunk stays in cache between the two steps and
  // no file-sized byte buffer is allocated, zeroed or streamed through memory a second time.
  const size_t esize = static_cast<size_t>(idx_type_size(h.type));
  std::vector<uint8_t> chunk(size_t{1} << 18);  // a multiple of every element size
  float* dst = t.data();
  uint64_t have = 0;
  while (have < e.want) {
    size_t step = static_cast<size_t>(std::min<uint64_t>(e.want - have, chunk.size()));
    size_t got = r.read(chunk.data(), step);
    if (got < step) throw truncated_error(r, h, e, have + got);
    convert(h.type, chunk.data(), static_cast<int64_t>(got / esize), options.divisor, dst);
    dst += got / esize;
    have += got;
  }
  check_no_trailing_bytes(r, h, e);
  return t;
}

void write_idx(const std::string& path, const Tensor& tensor, IdxWriteOptions options) {
  const Shape& shape = tensor.shape();
  if (!valid_type_code(static_cast<uint8_t>(options.type)))
    throw ValueError("write_idx('" + path + "'): invalid IdxType code " + hex_byte(static_cast<uint8_t>(options.type)));
  if (tensor.empty() || shape.rank() < 1 || shape.rank() > 255)
    throw ValueError("write_idx('" + path + "'): IDX needs a tensor of rank 1 to 255, got shape " + shape.to_string());
  for (int a = 0; a < shape.rank(); ++a)
    if (shape[a] < 1 || shape[a] > int64_t{0xFFFFFFFF})
      throw ValueError("write_idx('" + path + "'): dimension " + std::to_string(a) + " of shape " + shape.to_string() +
                       " is outside [1, 2^32 - 1], which IDX cannot store");
  const int64_t n = tensor.size();
  const size_t esize = static_cast<size_t>(idx_type_size(options.type));
  const size_t header = 4 + 4 * static_cast<size_t>(shape.rank());
  std::vector<uint8_t> out(header + static_cast<size_t>(n) * esize);
  out[2] = static_cast<uint8_t>(options.type);
  out[3] = static_cast<uint8_t>(shape.rank());
  for (int a = 0; a < shape.rank(); ++a) store_be32(out.data() + 4 + 4 * a, static_cast<uint32_t>(shape[a]));

  const float* src = tensor.data();
  uint8_t* dst = out.data() + header;
  auto check_int = [&](int64_t i, double lo, double hi) {
    float v = src[i];
    if (!(v >= lo && v <= hi) || std::trunc(v) != v)
      throw ValueError("write_idx('" + path + "'): value " + std::to_string(v) + " at index " + index_string(shape, i) +
                       " cannot be stored as " + idx_type_name(options.type) + ": integers in [" +
                       std::to_string(static_cast<int64_t>(lo)) + ", " + std::to_string(static_cast<int64_t>(hi)) +
                       "] only (use IdxType::float32 for other values)");
    return static_cast<int64_t>(v);
  };
  switch (options.type) {
    case IdxType::uint8:
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<uint8_t>(check_int(i, 0, 255));
      break;
    case IdxType::int8:
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<uint8_t>(static_cast<int8_t>(check_int(i, -128, 127)));
      break;
    case IdxType::int16:
      for (int64_t i = 0; i < n; ++i) {
        auto v = static_cast<uint16_t>(static_cast<int16_t>(check_int(i, -32768, 32767)));
        dst[2 * i] = static_cast<uint8_t>(v >> 8);
        dst[2 * i + 1] = static_cast<uint8_t>(v);
      }
      break;
    case IdxType::int32:
      // 2147483520 is the largest float32 below 2^31.
      for (int64_t i = 0; i < n; ++i)
        store_be32(dst + 4 * i, static_cast<uint32_t>(static_cast<int32_t>(check_int(i, -2147483648.0, 2147483520.0))));
      break;
    case IdxType::float32:
      for (int64_t i = 0; i < n; ++i) {
        uint32_t bits;
        std::memcpy(&bits, src + i, 4);
        store_be32(dst + 4 * i, bits);
      }
      break;
    case IdxType::float64:
      for (int64_t i = 0; i < n; ++i) {
        double v = src[i];
        uint64_t bits;
        std::memcpy(&bits, &v, 8);
        store_be32(dst + 8 * i, static_cast<uint32_t>(bits >> 32));
        store_be32(dst + 8 * i + 4, static_cast<uint32_t>(bits));
      }
      break;
  }
  write_file_bytes(path, out, options.gzip);
}


}  // namespace regula::io
