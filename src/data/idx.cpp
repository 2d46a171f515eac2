#include "regula/data/idx.hpp"

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
#include "regula/io/atomic_file.hpp"

namespace regula::data {
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

std::string errno_text(int err) { return std::generic_category().message(err); }

// RAII for FILE*: every early throw below must close the handle.
struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

FilePtr open_for_reading(const std::string& path) {
  std::error_code ec;
  // fopen succeeds on a directory on Linux and the failure would only surface as a confusing
  // read error later, so say it plainly here.
  if (fs::is_directory(path, ec))
    throw IOError("cannot read '" + path + "': it is a directory, not a file");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw IOError("cannot open '" + path + "': " + errno_text(errno));
  return FilePtr(f);
}

// Sequential reader over a file that inflates on the fly when the file starts with the gzip
// magic. Streaming (rather than slurping the compressed file) lets a header or the first rows be
// read without decompressing the rest, and lets the payload be inflated straight into its final
// buffer without an intermediate copy.
class ByteReader {
 public:
  explicit ByteReader(const std::string& path) : path_(path), file_(open_for_reading(path)) {
    in_.resize(1 << 18);
    zs_.next_in = in_.data();
    zs_.avail_in = 0;
    ensure_input(2);
    gzip_ = zs_.avail_in >= 2 && zs_.next_in[0] == 0x1f && zs_.next_in[1] == 0x8b;
    if (gzip_) {
      // 15 + 16: gzip wrapper only (the magic was already checked), which makes zlib verify each
      // member's CRC-32 and length trailer for us.
      if (inflateInit2(&zs_, 15 + 16) != Z_OK) throw std::bad_alloc();
      zs_initialized_ = true;
    }
  }
  ~ByteReader() {
    if (zs_initialized_) inflateEnd(&zs_);
  }
  ByteReader(const ByteReader&) = delete;
  ByteReader& operator=(const ByteReader&) = delete;

  bool gzip() const { return gzip_; }
  const std::string& path() const { return path_; }
  // The file's size when it is a regular file (then the data length is known before reading);
  // nullopt for pipes and devices, whose length is only known at the end.
  std::optional<uint64_t> file_size() const {
    std::error_code ec;
    uint64_t size = fs::is_regular_file(path_, ec) ? fs::file_size(path_, ec) : 0;
    if (ec || !fs::is_regular_file(path_, ec)) return std::nullopt;
    return size;
  }

  // Reads up to `n` bytes into `dst`; fewer only at the end of the (decompressed) data.
  size_t read(uint8_t* dst, size_t n) { return gzip_ ? read_gzip(dst, n) : read_raw(dst, n); }

  // Reads and discards everything left; returns how many bytes that was.
  uint64_t drain() {
    std::vector<uint8_t> scratch(1 << 16);
    uint64_t total = 0;
    for (size_t got; (got = read(scratch.data(), scratch.size())) > 0;) total += got;
    return total;
  }

 private:
  // Makes at least `k` unread input bytes available, unless the file ends first.
  bool ensure_input(size_t k) {
    if (zs_.avail_in >= k) return true;
    std::memmove(in_.data(), zs_.next_in, zs_.avail_in);
    zs_.next_in = in_.data();
    while (zs_.avail_in < k && !file_eof_) {
      size_t got = std::fread(in_.data() + zs_.avail_in, 1, in_.size() - zs_.avail_in, file_.get());
      if (got == 0) {
        if (std::ferror(file_.get())) throw IOError("error reading '" + path_ + "': " + errno_text(errno));
        file_eof_ = true;
      }
      zs_.avail_in += static_cast<uInt>(got);
      file_bytes_read_ += got;
    }
    return zs_.avail_in >= k;
  }

  uint64_t compressed_offset() const { return file_bytes_read_ - zs_.avail_in; }

  size_t read_raw(uint8_t* dst, size_t n) {
    size_t done = std::min<size_t>(n, zs_.avail_in);
    std::memcpy(dst, zs_.next_in, done);
    zs_.next_in += done;
    zs_.avail_in -= static_cast<uInt>(done);
    // Large reads go straight from stdio into the destination.
    while (done < n && !file_eof_) {
      size_t got = std::fread(dst + done, 1, n - done, file_.get());
      if (got == 0) {
        if (std::ferror(file_.get())) throw IOError("error reading '" + path_ + "': " + errno_text(errno));
        file_eof_ = true;
      }
      done += got;
      file_bytes_read_ += got;
    }
    return done;
  }

  size_t read_gzip(uint8_t* dst, size_t n) {
    size_t done = 0;
    while (done < n && !stream_done_) {
      if (!ensure_input(1))
        throw IOError("corrupt gzip file '" + path_ + "': the compressed stream is truncated (the file ends after " +
                      std::to_string(file_bytes_read_) +
                      " bytes, before the end of the gzip stream; an incomplete download or copy?)");
      // zlib counts in uInt; chunk huge requests.
      uInt chunk = static_cast<uInt>(std::min<size_t>(n - done, 1u << 30));
      zs_.next_out = dst + done;
      zs_.avail_out = chunk;
      int rc = inflate(&zs_, Z_NO_FLUSH);
      done += chunk - zs_.avail_out;
      if (rc == Z_STREAM_END) {
        next_member();
      } else if (rc == Z_MEM_ERROR) {
        throw std::bad_alloc();
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        throw IOError("corrupt gzip file '" + path_ + "': " + (zs_.msg ? zs_.msg : "inflate error " + std::to_string(rc)) +
                      " (near compressed byte " + std::to_string(compressed_offset()) + ")");
      }
    }
    return done;
  }

  // After a gzip member ends: another member may follow (`cat a.gz b.gz` is a valid gzip file,
  // as gzip -d treats it); anything else after the stream is an error, since silently ignoring
  // it could hide a damaged or mislabelled file.
  void next_member() {
    if (!ensure_input(2)) {
      if (zs_.avail_in == 0) {
        stream_done_ = true;
        return;
      }
    } else if (zs_.next_in[0] == 0x1f && zs_.next_in[1] == 0x8b) {
      inflateReset(&zs_);
      return;
    }
    const uint64_t offset = compressed_offset();
    uint64_t extra = 0;
    do {
      extra += zs_.avail_in;
      zs_.avail_in = 0;
    } while (ensure_input(1));
    throw IOError("corrupt gzip file '" + path_ + "': " + std::to_string(extra) +
                  " bytes of trailing garbage after the end of the gzip stream at compressed byte " +
                  std::to_string(offset));
  }

  std::string path_;
  FilePtr file_;
  std::vector<uint8_t> in_;
  z_stream zs_{};
  bool zs_initialized_ = false;
  bool gzip_ = false;
  bool file_eof_ = false;
  bool stream_done_ = false;
  uint64_t file_bytes_read_ = 0;
};

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

std::vector<uint8_t> gzip_compress(std::span<const uint8_t> bytes, const std::string& path) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw IOError("cannot write '" + path + "': zlib deflateInit2 failed");
  std::vector<uint8_t> out(deflateBound(&zs, static_cast<uLong>(bytes.size())) + 64);
  zs.next_in = const_cast<Bytef*>(bytes.data());  // zlib's API is not const-correct
  zs.avail_in = static_cast<uInt>(bytes.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  size_t produced = out.size() - zs.avail_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw IOError("cannot write '" + path + "': zlib deflate failed (" + std::to_string(rc) + ")");
  out.resize(produced);
  return out;
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

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  ByteReader r(path);
  std::vector<uint8_t> out;
  size_t have = 0;
  for (;;) {
    size_t step = std::max<size_t>(size_t{1} << 20, have);
    out.resize(have + step);
    size_t got = r.read(out.data() + have, step);
    have += got;
    if (got < step) break;
  }
  out.resize(have);
  return out;
}

void write_file_bytes(const std::string& path, std::span<const uint8_t> bytes, bool gzip) {
  if (!gzip) {
    io::write_file_atomically(path, bytes);
    return;
  }
  if (bytes.size() > std::numeric_limits<uInt>::max() / 2)
    throw ValueError("write_file_bytes('" + path + "'): " + std::to_string(bytes.size()) +
                     " bytes is more than one gzip call here compresses (2 GiB)");
  io::write_file_atomically(path, gzip_compress(bytes, path));
}

// ---------------------------------------------------------------------------------------------

namespace {

// The file for `name` in `dir`: as named, else with ".gz" toggled (an unpacked or a packed copy).
std::string find_dataset_file(const IdxDatasetSpec& spec, const std::string& dir, const std::string& name) {
  fs::path primary = fs::path(dir) / name;
  std::error_code ec;
  if (fs::is_regular_file(primary, ec)) return primary.string();
  const std::string gz = ".gz";
  bool has_gz = name.size() > gz.size() && name.compare(name.size() - gz.size(), gz.size(), gz) == 0;
  fs::path alternate = fs::path(dir) / (has_gz ? name.substr(0, name.size() - gz.size()) : name + gz);
  if (fs::is_regular_file(alternate, ec)) return alternate.string();
  std::string why = fs::is_directory(dir, ec) ? "is missing" : "is missing (the directory '" + dir + "' does not exist)";
  throw IOError(spec.name + ": file '" + primary.string() + "' " + why + "; " + spec.install_hint +
                " provides the files, or set the `path` option or $" + spec.env_var + " to a directory holding " +
                spec.train_images + ", " + spec.train_labels + ", " + spec.test_images + " and " + spec.test_labels);
}

IdxImageLabels load_split(const IdxDatasetSpec& spec, const std::string& images_path, const std::string& labels_path,
                          int64_t limit, bool normalize) {
  // Headers first (a few bytes each) so shape and count errors come before any bulk reading.
  IdxHeader ih = read_idx_header(images_path);
  IdxHeader lh = read_idx_header(labels_path);
  if (ih.dims.size() != 3 || ih.dims[1] != spec.height || ih.dims[2] != spec.width)
    throw IOError(spec.name + ": images file '" + images_path + "' has dimensions " + dims_string(ih.dims) +
                  ", expected (N, " + std::to_string(spec.height) + ", " + std::to_string(spec.width) + ")");
  if (lh.dims.size() != 1)
    throw IOError(spec.name + ": labels file '" + labels_path + "' has dimensions " + dims_string(lh.dims) +
                  ", expected (N,)");
  if (ih.dims[0] != lh.dims[0])
    throw IOError(spec.name + ": image and label counts differ: '" + images_path + "' holds " +
                  std::to_string(ih.dims[0]) + " images but '" + labels_path + "' holds " + std::to_string(lh.dims[0]) +
                  " labels");

  IdxImageLabels split;
  split.y = read_idx(labels_path, {.max_rows = limit});
  const float* y = split.y.data();
  for (int64_t i = 0; i < split.y.size(); ++i) {
    float v = y[i];
    if (!(v >= 0.0f && v < static_cast<float>(spec.num_classes)) || std::trunc(v) != v)
      throw IOError(spec.name + ": labels file '" + labels_path + "' has label " + std::to_string(v) + " at sample " +
                    std::to_string(i) + "; labels must be integers in [0, " + std::to_string(spec.num_classes - 1) + "]");
  }
  Tensor x = read_idx(images_path, {.max_rows = limit, .divisor = normalize ? 255.0f : 1.0f});
  split.x = x.reshaped(Shape{x.dim(0), spec.height, spec.width, 1});
  return split;
}

}  // namespace

std::string resolve_idx_dataset_dir(const IdxDatasetSpec& spec, const std::string& path) {
  if (!path.empty()) return path;
  if (!spec.env_var.empty()) {
    const char* env = std::getenv(spec.env_var.c_str());
    if (env != nullptr && *env != '\0') return env;
  }
  return spec.default_dir;
}

IdxDataset load_idx_dataset(const IdxDatasetSpec& spec, const IdxDatasetOptions& options) {
  if (options.limit < 0)
    throw ValueError(spec.name + " load_data: limit must be >= 0 (0 = all training samples), got " +
                     std::to_string(options.limit));
  const std::string dir = resolve_idx_dataset_dir(spec, options.path);
  // All four located before reading any, so a missing file is reported before seconds of work.
  const std::string train_images = find_dataset_file(spec, dir, spec.train_images);
  const std::string train_labels = find_dataset_file(spec, dir, spec.train_labels);
  const std::string test_images = find_dataset_file(spec, dir, spec.test_images);
  const std::string test_labels = find_dataset_file(spec, dir, spec.test_labels);
  // Decompression is single-threaded per file; reading the test split on a second thread hides
  // most of its cost behind the (larger) training split.
  auto test = std::async(std::launch::async,
                         [&] { return load_split(spec, test_images, test_labels, 0, options.normalize); });
  IdxDataset data;
  data.train = load_split(spec, train_images, train_labels, options.limit, options.normalize);
  data.test = test.get();
  return data;
}

}  // namespace regula::data
