#include "regula/io/npy.hpp"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

#include "regula/error.hpp"
#include "regula/io/file_bytes.hpp"
#include "src/io/zip_archive.hpp"

namespace regula::io {
namespace {

static_assert(std::endian::native == std::endian::little, "the .npy writer assumes a little-endian host");

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
constexpr size_t kHeaderAlignment = 64;
constexpr const char* kNpySuffix = ".npy";

enum class Kind { float_, signed_, unsigned_, boolean };

// The element types regula reads: one row per (kind letter, item size).
struct Dtype {
  char letter;
  int size;
  Kind kind;
  const char* numpy_name;
};

constexpr Dtype kDtypes[] = {
    {'f', 2, Kind::float_, "float16"}, {'f', 4, Kind::float_, "float32"}, {'f', 8, Kind::float_, "float64"},
    {'i', 1, Kind::signed_, "int8"},   {'i', 2, Kind::signed_, "int16"},  {'i', 4, Kind::signed_, "int32"},
    {'i', 8, Kind::signed_, "int64"},  {'u', 1, Kind::unsigned_, "uint8"}, {'u', 2, Kind::unsigned_, "uint16"},
    {'u', 4, Kind::unsigned_, "uint32"}, {'u', 8, Kind::unsigned_, "uint64"}, {'b', 1, Kind::boolean, "bool"},
};

std::string supported_dtypes() {
  std::string s;
  for (const Dtype& d : kDtypes)
    s += (s.empty() ? "" : ", ") + std::string(1, d.letter) + std::to_string(d.size) + " (" + d.numpy_name + ")";
  return s + ", each little- ('<') or big-endian ('>')";
}

// Where the bytes being parsed came from: "file 'a.npy'" or "file 'a.npz', member 'x.npy'".
std::string describe_source(const std::string& path, const std::string& member) {
  return "file '" + path + "'" + (member.empty() ? "" : ", member '" + member + "'");
}

[[noreturn]] void npy_error(const std::string& source, const std::string& what) {
  throw IOError("cannot read .npy data from " + source + ": " + what);
}

std::string shape_string(const std::vector<int64_t>& dims) { return Shape(dims).to_string(); }

struct Header {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
  size_t data_offset = 0;
};

// A parser for the Python dict literal of a .npy header, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  Header parse() {
    Header h;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{', "the header to start with '{'");
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = parse_string("a quoted key");
      expect(':', "':' after the key '" + key + "'");
      if (key == "descr") {
        skip_space();
        if (peek() == '[')
          npy_error(source_, "structured dtype (a record array with named fields) is not supported; supported: " +
                                 supported_dtypes());
        h.descr = parse_string("a quoted dtype string after 'descr'");
        seen_descr = true;
      } else if (key == "fortran_order") {
        h.fortran_order = parse_bool();
        seen_order = true;
      } else if (key == "shape") {
        h.shape = parse_shape();
        seen_shape = true;
      } else {
        fail("unexpected key '" + key + "'; a header holds exactly 'descr', 'fortran_order' and 'shape'");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != '}') fail("expected ',' or '}' after the value of '" + key + "'");
    }
    ++pos_;
    if (!seen_descr || !seen_order || !seen_shape)
      fail(std::string("the header lacks ") + (!seen_descr ? "'descr'" : !seen_order ? "'fortran_order'" : "'shape'") +
           "; a header holds exactly 'descr', 'fortran_order' and 'shape'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    npy_error(source_, "malformed header " + std::string(text_) + ": " + what);
  }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void expect(char c, const std::string& what) {
    skip_space();
    if (peek() != c) fail("expected " + what);
    ++pos_;
  }
  std::string parse_string(const std::string& what) {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected " + what);
    const size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) fail("unterminated string; expected " + what);
    std::string s(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return s;
  }
  bool parse_bool() {
    skip_space();
    for (auto [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      if (text_.substr(pos_, std::strlen(word)) == word) {
        pos_ += std::strlen(word);
        return value;
      }
    }
    fail("expected True or False after 'fortran_order'");
  }
  std::vector<int64_t> parse_shape() {
    expect('(', "a tuple of integers after 'shape'");
    std::vector<int64_t> dims;
    while (true) {
      skip_space();
      if (peek() == ')') break;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("expected a non-negative integer in 'shape'");
      int64_t value = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        const int digit = text_[pos_++] - '0';
        if (value > (std::numeric_limits<int64_t>::max() - digit) / 10) fail("a dimension of 'shape' overflows int64");
        value = value * 10 + digit;
      }
      if (peek() == 'L') ++pos_;  // Python 2's long literals
      dims.push_back(value);
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != ')') fail("expected ',' or ')' in 'shape'");
    }
    ++pos_;
    return dims;
  }

  std::string_view text_;
  const std::string& source_;
  size_t pos_ = 0;
};

uint64_t read_le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

Header parse_header(const std::vector<uint8_t>& bytes, const std::string& source) {
  if (bytes.size() < kMagicSize + 2 || std::memcmp(bytes.data(), kMagic, kMagicSize) != 0) {
    std::string found;
    for (size_t i = 0; i < std::min<size_t>(bytes.size(), kMagicSize); ++i) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", bytes[i]);
      found += buf;
    }
    npy_error(source, "not a .npy file: it starts with \"" + found + "\" (" + std::to_string(bytes.size()) +
                          " bytes in all), expected the magic string \"\\x93NUMPY\" followed by a 2-byte version");
  }
  const int major = bytes[kMagicSize], minor = bytes[kMagicSize + 1];
  if (major < 1 || major > 3 || minor != 0)
    npy_error(source, "unsupported format version " + std::to_string(major) + "." + std::to_string(minor) +
                          "; supported: 1.0, 2.0, 3.0");
  const int length_bytes = major == 1 ? 2 : 4;
  const size_t prefix = kMagicSize + 2 + length_bytes;
  if (bytes.size() < prefix)
    npy_error(source, "the header is truncated: expected a " + std::to_string(length_bytes) +
                          "-byte header length after the version, the file holds " + std::to_string(bytes.size()) +
                          " bytes");
  const uint64_t header_len = read_le(bytes.data() + kMagicSize + 2, length_bytes);
  if (header_len > bytes.size() - prefix)
    npy_error(source, "the header is truncated: the header length field says " + std::to_string(header_len) +
                          " bytes, but only " + std::to_string(bytes.size() - prefix) + " follow it");
  std::string_view text(reinterpret_cast<const char*>(bytes.data() + prefix), header_len);
  Header h = HeaderParser(text, source).parse();
  h.data_offset = prefix + header_len;
  return h;
}

const Dtype& find_dtype(const std::string& descr, bool& big_endian, const std::string& source) {
  if (descr.size() >= 2 && std::string("<>|=").find(descr[0]) != std::string::npos) {
    const char letter = descr[1];
    if (letter == 'O')
      npy_error(source, "object arrays (dtype '" + descr + "') hold Python objects (pickles) and cannot be read; "
                            "supported: " + supported_dtypes());
    for (const Dtype& d : kDtypes) {
      if (letter == d.letter && descr.substr(2) == std::to_string(d.size)) {
        big_endian = descr[0] == '>';
        return d;
      }
    }
  }
  npy_error(source, "unsupported dtype '" + descr + "'; supported: " + supported_dtypes());
}

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exponent = (h >> 10) & 0x1F;
  const uint32_t mantissa = h & 0x3FF;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24
    const float magnitude = static_cast<float>(mantissa) * 0x1.0p-24f;
    return sign ? -magnitude : magnitude;
  }
  const uint32_t bits = exponent == 0x1F ? sign | 0x7F800000u | (mantissa << 13)
                                         : sign | ((exponent + 112) << 23) | (mantissa << 13);
  return std::bit_cast<float>(bits);
}

// One element stored at `p` in the file's byte order, converted to float.
float element_to_float(const uint8_t* p, const Dtype& d, bool big_endian) {
  uint64_t raw = 0;
  for (int i = 0; i < d.size; ++i) {
    const int byte = big_endian ? i : d.size - 1 - i;
    raw = (raw << 8) | p[byte];
  }
  switch (d.kind) {
    case Kind::boolean: return raw != 0 ? 1.0f : 0.0f;
    case Kind::unsigned_: return static_cast<float>(raw);
    case Kind::signed_: {
      const int shift = 64 - 8 * d.size;
      return static_cast<float>(static_cast<int64_t>(raw << shift) >> shift);
    }
    case Kind::float_:
      if (d.size == 2) return half_to_float(static_cast<uint16_t>(raw));
      if (d.size == 4) return std::bit_cast<float>(static_cast<uint32_t>(raw));
      return static_cast<float>(std::bit_cast<double>(raw));
  }
  return 0.0f;
}

Tensor parse_npy(const std::vector<uint8_t>& bytes, const std::string& source) {
  const Header h = parse_header(bytes, source);
  bool big_endian = false;
  const Dtype& dtype = find_dtype(h.descr, big_endian, source);
  int64_t count = 1;
  for (int64_t d : h.shape) {
    if (d != 0 && count > std::numeric_limits<int64_t>::max() / dtype.size / d)
      npy_error(source, "the shape " + shape_string(h.shape) + " has more elements than fit in memory");
    count *= d;
  }
  const uint64_t needed = static_cast<uint64_t>(count) * dtype.size;
  const uint64_t available = bytes.size() - h.data_offset;
  if (available < needed)
    npy_error(source, "the data is truncated: shape " + shape_string(h.shape) + " of dtype '" + h.descr + "' needs " +
                          std::to_string(needed) + " bytes after the " + std::to_string(h.data_offset) +
                          "-byte header, but the file holds only " + std::to_string(available));

  Tensor out = Tensor::uninitialized(Shape(h.shape));
  float* dst = out.data();
  const uint8_t* src = bytes.data() + h.data_offset;
  const size_t rank = h.shape.size();
  if (!h.fortran_order || rank < 2) {
    for (int64_t i = 0; i < count; ++i) dst[i] = element_to_float(src + i * dtype.size, dtype, big_endian);
    return out;
  }
  // Fortran order: the first index varies fastest in the file. Walk the output in C order with
  // an odometer and track the matching file offset.
  std::vector<int64_t> f_stride(rank), index(rank, 0);
  int64_t stride = 1;
  for (size_t k = 0; k < rank; ++k) {
    f_stride[k] = stride;
    stride *= h.shape[k];
  }
  int64_t offset = 0;
  for (int64_t i = 0; i < count; ++i) {
    dst[i] = element_to_float(src + offset * dtype.size, dtype, big_endian);
    for (size_t k = rank; k-- > 0;) {
      offset += f_stride[k];
      if (++index[k] < h.shape[k]) break;
      offset -= f_stride[k] * h.shape[k];
      index[k] = 0;
    }
  }
  return out;
}

std::vector<uint8_t> npy_bytes(const Tensor& tensor, const std::string& caller) {
  if (tensor.empty())
    throw ValueError(caller + ": the tensor is empty (default-constructed, no storage); nothing to save");
  std::string shape = "(";
  for (int k = 0; k < tensor.rank(); ++k) shape += (k ? ", " : "") + std::to_string(tensor.dim(k));
  shape += tensor.rank() == 1 ? ",)" : ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  // Version 1.0 holds headers up to 65535 bytes; 2.0 (4-byte length) beyond, as NumPy chooses.
  int length_bytes = 2;
  size_t total = kMagicSize + 2 + length_bytes + header.size() + 1;
  if (total + kHeaderAlignment > 0xFFFF) {
    length_bytes = 4;
    total += 2;
  }
  header.append((kHeaderAlignment - total % kHeaderAlignment) % kHeaderAlignment, ' ');
  header += '\n';

  std::vector<uint8_t> out(kMagic, kMagic + kMagicSize);
  out.push_back(length_bytes == 2 ? 1 : 2);
  out.push_back(0);
  for (int i = 0; i < length_bytes; ++i) out.push_back(static_cast<uint8_t>(header.size() >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  const auto* data = reinterpret_cast<const uint8_t*>(tensor.data());
  out.insert(out.end(), data, data + tensor.size() * sizeof(float));
  return out;
}

std::optional<std::string> array_name(const std::string& member) {
  const std::string suffix = kNpySuffix;
  if (member.size() <= suffix.size() || member.compare(member.size() - suffix.size(), suffix.size(), suffix) != 0)
    return std::nullopt;
  return member.substr(0, member.size() - suffix.size());
}

zip::Reader open_npz(const std::string& path) { return zip::Reader(path, io::read_file_bytes(path)); }

}  // namespace

Tensor load_npy(const std::string& path) { return parse_npy(io::read_file_bytes(path), describe_source(path, "")); }

void save_npy(const std::string& path, const Tensor& tensor) {
  io::write_file_bytes(path, npy_bytes(tensor, "save_npy('" + path + "')"));
}

std::map<std::string, Tensor> load_npz(const std::string& path) {
  const zip::Reader archive = open_npz(path);
  std::map<std::string, Tensor> arrays;
  for (const zip::Entry& entry : archive.entries()) {
    if (auto name = array_name(entry.name))
      arrays[*name] = parse_npy(archive.read(entry), describe_source(path, entry.name));
  }
  return arrays;
}

Tensor load_npz_array(const std::string& path, const std::string& name) {
  const zip::Reader archive = open_npz(path);
  std::string held;
  for (const zip::Entry& entry : archive.entries()) {
    const auto entry_name = array_name(entry.name);
    if (entry_name == name) return parse_npy(archive.read(entry), describe_source(path, entry.name));
    if (entry_name) held += (held.empty() ? "'" : ", '") + *entry_name + "'";
  }
  throw IOError("file '" + path + "' holds no array '" + name + "' (no member '" + name + kNpySuffix +
                "'); it holds: " + (held.empty() ? "no arrays" : held));
}

void save_npz(const std::string& path, const std::map<std::string, Tensor>& arrays, bool compressed) {
  const std::string caller = std::string(compressed ? "save_npz(compressed)" : "save_npz") + "('" + path + "')";
  std::vector<zip::Member> members;
  for (const auto& [name, tensor] : arrays) {
    if (name.empty() || name.find_first_of("/\\") != std::string::npos)
      throw ValueError(caller + ": array name '" + name + "' is not allowed; names must be non-empty and "
                       "contain no '/' or '\\'");
    members.push_back({name + kNpySuffix, npy_bytes(tensor, caller + " array '" + name + "'")});
  }
  io::write_file_bytes(path, zip::write_archive(members, compressed, path));
}

}  // namespace regula::io
