// Tests of IDX reading/writing, the Fashion-MNIST loader and to_categorical.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "regula/datasets/fashion_mnist.hpp"
#include "regula/error.hpp"
#include "regula/io/file_bytes.hpp"
#include "regula/io/idx.hpp"
#include "regula/utils/to_categorical.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using regula::IOError;
using regula::Shape;
using regula::Tensor;
using regula::ValueError;
using regula::io::IdxType;
using regula::testing_support::error_message;
using regula::testing_support::TemporaryDirectory;

namespace {

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// An IDX header for `type` and `dims`.
std::vector<uint8_t> header(uint8_t type, const std::vector<uint32_t>& dims) {
  std::vector<uint8_t> h = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) {
    h.push_back(static_cast<uint8_t>(d >> 24));
    h.push_back(static_cast<uint8_t>(d >> 16));
    h.push_back(static_cast<uint8_t>(d >> 8));
    h.push_back(static_cast<uint8_t>(d));
  }
  return h;
}

std::vector<uint8_t> concat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Tensor iota(Shape shape, float start = 0.0f, float step = 1.0f) {
  Tensor t(std::move(shape));
  for (int64_t i = 0; i < t.size(); ++i) t[i] = start + step * static_cast<float>(i);
  return t;
}

void expect_equal(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  for (int64_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "at flat index " << i;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// IDX round trips

TEST(Idx, RoundTripUint8RawAndGzip) {
  TemporaryDirectory dir;
  Tensor t = iota(Shape{3, 4, 5});
  t[7] = 255.0f;
  for (bool gz : {false, true}) {
    std::string path = dir.file(gz ? "a.idx.gz" : "a.idx");
    regula::io::write_idx(path, t, {.type = IdxType::uint8, .gzip = gz});
    std::vector<uint8_t> raw = file_bytes(path);
    ASSERT_GE(raw.size(), 2u);
    EXPECT_EQ(raw[0] == 0x1f && raw[1] == 0x8b, gz);
    if (!gz) {
      EXPECT_EQ(raw.size(), 4u + 12u + 60u);
    }
    expect_equal(regula::io::read_idx(path), t);
    auto h = regula::io::read_idx_header(path);
    EXPECT_EQ(h.type, IdxType::uint8);
    EXPECT_EQ(h.dims, (std::vector<int64_t>{3, 4, 5}));
    EXPECT_EQ(h.header_bytes, 16);
    EXPECT_EQ(h.num_elements(), 60);
  }
}

TEST(Idx, RoundTripFloat32RawAndGzip) {
  TemporaryDirectory dir;
  Tensor t = iota(Shape{2, 3, 2, 2}, -1.25f, 0.37f);
  t[0] = 1e-30f;
  t[1] = -3.4e38f;
  for (bool gz : {false, true}) {
    std::string path = dir.file(gz ? "f.gz" : "f.idx");
    regula::io::write_idx(path, t, {.type = IdxType::float32, .gzip = gz});
    expect_equal(regula::io::read_idx(path), t);
  }
  // float32 is the default type.
  regula::io::write_idx(dir.file("d.idx"), t);
  EXPECT_EQ(regula::io::read_idx_header(dir.file("d.idx")).type, IdxType::float32);
}

TEST(Idx, RoundTripOtherTypes) {
  TemporaryDirectory dir;
  struct Case {
    IdxType type;
    std::vector<float> values;
  };
  std::vector<Case> cases = {
      {IdxType::int8, {-128, -1, 0, 1, 127, 5}},
      {IdxType::int16, {-32768, -300, 0, 300, 32767, 7}},
      {IdxType::int32, {-2147483648.0f, -70000, 0, 70000, 16777216, 2147483520.0f}},
      {IdxType::float64, {0.1f, -2.5f, 1e-40f, 3e38f, 0, -0.0f}},
  };
  for (const auto& c : cases) {
    Tensor t(Shape{2, 3}, c.values);
    for (bool gz : {false, true}) {
      std::string path = dir.file(std::string(regula::io::idx_type_name(c.type)) + (gz ? ".gz" : ""));
      regula::io::write_idx(path, t, {.type = c.type, .gzip = gz});
      EXPECT_EQ(regula::io::read_idx_header(path).type, c.type);
      expect_equal(regula::io::read_idx(path), t);
    }
  }
}

TEST(Idx, BigEndianDecodingOfHandWrittenFiles) {
  TemporaryDirectory dir;
  // Bytes as the IDX spec lays them out, independent of write_idx.
  write_bytes(dir.file("i16"), concat(header(0x0B, {2}), {0xFF, 0xFE, 0x01, 0x02}));
  write_bytes(dir.file("i32"), concat(header(0x0C, {2}), {0xFF, 0xFF, 0xFF, 0xFD, 0x00, 0x01, 0x00, 0x00}));
  write_bytes(dir.file("f32"), concat(header(0x0D, {2}), {0x3F, 0x80, 0x00, 0x00, 0xC0, 0x20, 0x00, 0x00}));
  write_bytes(dir.file("f64"), concat(header(0x0E, {1}), {0x3F, 0xF8, 0, 0, 0, 0, 0, 0}));
  write_bytes(dir.file("i8"), concat(header(0x09, {2}), {0xFF, 0x80}));
  write_bytes(dir.file("u8"), concat(header(0x08, {1, 2}), {0xFF, 0x80}));
  expect_equal(regula::io::read_idx(dir.file("i16")), Tensor(Shape{2}, {-2.0f, 258.0f}));
  expect_equal(regula::io::read_idx(dir.file("i32")), Tensor(Shape{2}, {-3.0f, 65536.0f}));
  expect_equal(regula::io::read_idx(dir.file("f32")), Tensor(Shape{2}, {1.0f, -2.5f}));
  expect_equal(regula::io::read_idx(dir.file("f64")), Tensor(Shape{1}, {1.5f}));
  expect_equal(regula::io::read_idx(dir.file("i8")), Tensor(Shape{2}, {-1.0f, -128.0f}));
  expect_equal(regula::io::read_idx(dir.file("u8")), Tensor(Shape{1, 2}, {255.0f, 128.0f}));
}

TEST(Idx, CompressionIsDetectedByMagicNotName) {
  TemporaryDirectory dir;
  Tensor t = iota(Shape{4, 3});
  regula::io::write_idx(dir.file("compressed.idx"), t, {.type = IdxType::uint8, .gzip = true});
  regula::io::write_idx(dir.file("plain.gz"), t, {.type = IdxType::uint8, .gzip = false});
  expect_equal(regula::io::read_idx(dir.file("compressed.idx")), t);
  expect_equal(regula::io::read_idx(dir.file("plain.gz")), t);
}

TEST(Idx, ConcatenatedGzipMembersAreOneStream) {
  TemporaryDirectory dir;
  std::vector<uint8_t> all = concat(header(0x08, {2, 3}), {1, 2, 3, 4, 5, 6});
  std::vector<uint8_t> first(all.begin(), all.begin() + 9), second(all.begin() + 9, all.end());
  regula::io::write_file_bytes(dir.file("p1"), first, true);
  regula::io::write_file_bytes(dir.file("p2"), second, true);
  write_bytes(dir.file("joined.gz"), concat(file_bytes(dir.file("p1")), file_bytes(dir.file("p2"))));
  expect_equal(regula::io::read_idx(dir.file("joined.gz")), Tensor(Shape{2, 3}, {1, 2, 3, 4, 5, 6}));
}

TEST(Idx, ReadFileBytesRoundTrip) {
  TemporaryDirectory dir;
  std::vector<uint8_t> bytes(3'000'000);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>((i * 7919) >> 5);
  for (bool gz : {false, true}) {
    regula::io::write_file_bytes(dir.file("b"), bytes, gz);
    EXPECT_EQ(regula::io::read_file_bytes(dir.file("b")), bytes);
  }
  regula::io::write_file_bytes(dir.file("empty"), {}, false);
  EXPECT_TRUE(regula::io::read_file_bytes(dir.file("empty")).empty());
}

TEST(Idx, WritesAreAtomicAndLeaveNoTemporaryFiles) {
  TemporaryDirectory dir;
  regula::io::write_idx(dir.file("x.idx"), iota(Shape{5}), {.type = IdxType::uint8});
  regula::io::write_idx(dir.file("x.idx"), iota(Shape{6}), {.type = IdxType::uint8, .gzip = true});
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    ++files;
    EXPECT_EQ(entry.path().filename(), "x.idx");
  }
  EXPECT_EQ(files, 1);
  expect_equal(regula::io::read_idx(dir.file("x.idx")), iota(Shape{6}));
  std::string msg =
      error_message<IOError>([&] { regula::io::write_idx(dir.file("no/such/dir/x.idx"), iota(Shape{2})); });
  EXPECT_NE(msg.find("no/such/dir/x.idx"), std::string::npos) << msg;
}

TEST(Idx, ReadIdxArrayFirstRowsAndDivisor) {
  TemporaryDirectory dir;
  Tensor t = iota(Shape{10, 2, 3});  // values 0..59
  for (bool gz : {false, true}) {
    std::string path = dir.file(gz ? "r.gz" : "r");
    regula::io::write_idx(path, t, {.type = IdxType::uint8, .gzip = gz});
    auto a = regula::io::read_idx_array(path, 4);
    EXPECT_EQ(a.rows, 4);
    EXPECT_EQ(a.header.dims, (std::vector<int64_t>{10, 2, 3}));
    EXPECT_EQ(a.dims(), (std::vector<int64_t>{4, 2, 3}));
    EXPECT_EQ(a.bytes.size(), 24u);
    Tensor x = regula::io::idx_to_tensor(a, 255.0f);
    ASSERT_EQ(x.shape(), (Shape{4, 2, 3}));
    for (int64_t i = 0; i < x.size(); ++i) EXPECT_EQ(x[i], static_cast<float>(i) / 255.0f);
    EXPECT_EQ(regula::io::read_idx_array(path, 100).rows, 10);
  }
  EXPECT_THROW(regula::io::read_idx_array(dir.file("r"), -1), ValueError);
  auto a = regula::io::read_idx_array(dir.file("r"));
  EXPECT_THROW(regula::io::idx_to_tensor(a, 0.0f), ValueError);
}

TEST(Idx, ReadIdxStreamsLargeFilesAcrossChunks) {
  TemporaryDirectory dir;
  // 3.2 MB of float32 data: many of read_idx's decompress-and-convert chunks.
  Tensor t = iota(Shape{800, 1000}, -3.0f, 0.001f);
  for (bool gz : {false, true}) {
    SCOPED_TRACE(gz ? "gzip" : "raw");
    std::string path = dir.file(gz ? "big.gz" : "big");
    regula::io::write_idx(path, t, {.gzip = gz});
    expect_equal(regula::io::read_idx(path), t);
    Tensor half = regula::io::read_idx(path, {.max_rows = 333, .divisor = 2.0f});
    ASSERT_EQ(half.shape(), (Shape{333, 1000}));
    for (int64_t i = 0; i < half.size(); ++i) ASSERT_EQ(half[i], t[i] / 2.0f) << i;
    // The same content with its last 1001 bytes cut off.
    const std::vector<uint8_t> whole = regula::io::read_file_bytes(path);
    ASSERT_GT(whole.size(), 1001u);
    const std::vector<uint8_t> content(whole.begin(), whole.end() - 1001);
    std::string cut = dir.file(gz ? "cut.gz" : "cut");
    regula::io::write_file_bytes(cut, content, gz);
    std::string msg = error_message<IOError>([&] { regula::io::read_idx(cut); });
    EXPECT_NE(msg.find("(800, 1000) float32 = 3200000 bytes"), std::string::npos) << msg;
    EXPECT_NE(msg.find("only 3198999 bytes"), std::string::npos) << msg;
    // A partial read of the first rows does not reach the damage.
    EXPECT_EQ(regula::io::read_idx(cut, {.max_rows = 10}).dim(0), 10);
  }
  EXPECT_THROW(regula::io::read_idx(dir.file("big"), {.max_rows = -1}), ValueError);
  EXPECT_THROW(regula::io::read_idx(dir.file("big"), {.divisor = 0.0f}), ValueError);
}

TEST(Idx, WriteRejectsValuesTheTypeCannotHold) {
  TemporaryDirectory dir;
  std::string path = dir.file("w.idx");
  std::string msg = error_message<ValueError>(
      [&] { regula::io::write_idx(path, Tensor(Shape{2, 2}, {0, 1, 2.5f, 3}), {.type = IdxType::uint8}); });
  EXPECT_NE(msg.find("2.5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(1, 0)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("uint8"), std::string::npos) << msg;
  EXPECT_THROW(regula::io::write_idx(path, Tensor(Shape{1}, {256}), {.type = IdxType::uint8}), ValueError);
  EXPECT_THROW(regula::io::write_idx(path, Tensor(Shape{1}, {-1}), {.type = IdxType::uint8}), ValueError);
  EXPECT_THROW(regula::io::write_idx(path, Tensor(Shape{1}, {128}), {.type = IdxType::int8}), ValueError);
  EXPECT_THROW(regula::io::write_idx(path, Tensor(Shape{1}, {NAN}), {.type = IdxType::int16}), ValueError);
  EXPECT_THROW(regula::io::write_idx(path, Tensor(Shape{1}, {3e9f}), {.type = IdxType::int32}), ValueError);
  EXPECT_THROW(regula::io::write_idx(path, Tensor(), {}), ValueError);
  EXPECT_THROW(regula::io::write_idx(path, Tensor(Shape{2, 0}), {}), ValueError);
  EXPECT_FALSE(fs::exists(path));
}

// ---------------------------------------------------------------------------------------------
// IDX errors: each names the file and what is wrong

struct CorruptCase {
  std::string name;
  std::vector<uint8_t> bytes;
  bool gzip;  // compress `bytes` (the IDX content itself is what is broken)
  std::vector<std::string> expected;  // substrings of the message besides the path
};

TEST(IdxErrors, CorruptContentRawAndCompressed) {
  TemporaryDirectory dir;
  std::vector<CorruptCase> cases;
  for (bool gz : {false, true}) {
    std::string sfx = gz ? ".gz" : "";
    cases.push_back({"empty" + sfx, {}, gz, {"is empty", "0x00 0x00 <type> <ndims>"}});
    cases.push_back({"short" + sfx, {0, 0}, gz, {"only 2 bytes"}});
    cases.push_back({"magic" + sfx, {'P', 'K', 3, 4, 0, 0, 0, 0}, gz,
                     {"bad magic", "0x50 0x4B 0x03 0x04", "0x00 0x00 <type> <ndims>"}});
    cases.push_back({"type" + sfx, concat(header(0x0A, {1}), {0}), gz, {"unknown element type code 0x0A", "0x08 uint8"}});
    cases.push_back({"ndims0" + sfx, {0, 0, 8, 0}, gz, {"0 dimensions"}});
    cases.push_back({"header" + sfx, {0, 0, 8, 3, 0, 0, 0, 2, 0, 0}, gz, {"truncated header", "12 bytes", "only 6"}});
    cases.push_back({"zerodim" + sfx, header(0x08, {2, 0, 3}), gz, {"dimension 1 of (2, 0, 3) is zero"}});
    cases.push_back({"truncated" + sfx, concat(header(0x0C, {3}), {0, 0, 0, 1, 0, 0, 0}), gz,
                     {"truncated", "(3,) int32 = 12 bytes", "only 7 bytes"}});
    cases.push_back({"trailing" + sfx, concat(header(0x08, {2, 2}), {1, 2, 3, 4, 9, 9, 9}), gz,
                     {"3 bytes of trailing garbage", "(2, 2) uint8 = 4 bytes"}});
    cases.push_back({"huge" + sfx, header(0x0E, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}), gz, {"too large"}});
    cases.push_back({"big" + sfx, header(0x08, {100000, 1000, 1000}), gz, {"truncated", "only 0 bytes"}});
  }
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::string path = dir.file(c.name);
    regula::io::write_file_bytes(path, c.bytes, c.gzip);
    std::string msg = error_message<IOError>([&] { regula::io::read_idx(path); });
    EXPECT_NE(msg.find("'" + path + "'"), std::string::npos) << msg;
    if (c.gzip) {
      EXPECT_NE(msg.find("gzip"), std::string::npos) << msg;
    }
    for (const auto& s : c.expected) EXPECT_NE(msg.find(s), std::string::npos) << "missing '" << s << "' in: " << msg;
  }
}

TEST(IdxErrors, HeaderOnlyReadSkipsTheData) {
  TemporaryDirectory dir;
  // Data truncated: read_idx_header does not look at it; read_idx does.
  std::string path = dir.file("h");
  write_bytes(path, concat(header(0x08, {5, 2}), {1, 2}));
  auto h = regula::io::read_idx_header(path);
  EXPECT_EQ(h.dims, (std::vector<int64_t>{5, 2}));
  EXPECT_THROW(regula::io::read_idx(path), IOError);
  write_bytes(path, {0, 0, 7, 1, 0, 0, 0, 1, 0});
  EXPECT_THROW(regula::io::read_idx_header(path), IOError);
}

TEST(IdxErrors, MissingFileAndDirectory) {
  TemporaryDirectory dir;
  std::string path = dir.file("nope.idx");
  std::string msg = error_message<IOError>([&] { regula::io::read_idx(path); });
  EXPECT_NE(msg.find("'" + path + "'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("No such file"), std::string::npos) << msg;
  msg = error_message<IOError>([&] { regula::io::read_idx_header(dir.path().string()); });
  EXPECT_NE(msg.find("directory"), std::string::npos) << msg;
  msg = error_message<IOError>([&] { regula::io::read_file_bytes(path); });
  EXPECT_NE(msg.find("'" + path + "'"), std::string::npos) << msg;
}

TEST(IdxErrors, CorruptGzipStreams) {
  TemporaryDirectory dir;
  Tensor t = iota(Shape{50, 20}, 0.0f, 0.0f);
  for (int64_t i = 0; i < t.size(); ++i) t[i] = static_cast<float>((i * 37) % 251);
  std::string good = dir.file("good.gz");
  regula::io::write_idx(good, t, {.type = IdxType::uint8, .gzip = true});
  const std::vector<uint8_t> gz = file_bytes(good);
  ASSERT_GT(gz.size(), 40u);

  auto check = [&](const std::string& name, const std::vector<uint8_t>& bytes, const std::string& expected) {
    SCOPED_TRACE(name);
    std::string path = dir.file(name);
    write_bytes(path, bytes);
    std::string msg = error_message<IOError>([&] { regula::io::read_idx(path); });
    EXPECT_NE(msg.find("'" + path + "'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("gzip"), std::string::npos) << msg;
    EXPECT_NE(msg.find(expected), std::string::npos) << "missing '" << expected << "' in: " << msg;
  };
  // Truncated compressed file (a partial download).
  check("cut.gz", std::vector<uint8_t>(gz.begin(), gz.begin() + static_cast<long>(gz.size() / 2)), "truncated");
  // Only the trailer is missing.
  check("notrailer.gz", std::vector<uint8_t>(gz.begin(), gz.end() - 4), "truncated");
  // Damaged CRC-32 in the trailer.
  std::vector<uint8_t> crc = gz;
  crc[crc.size() - 6] ^= 0xFF;
  check("crc.gz", crc, "incorrect data check");
  // Damaged deflate data: an invalid block type (11) in the first block header.
  std::vector<uint8_t> body = gz;
  body[10] = 0x07;
  check("body.gz", body, "corrupt gzip");
  // Bytes after the gzip stream that are not another gzip member.
  std::vector<uint8_t> tail = concat(gz, {'j', 'u', 'n', 'k'});
  check("tail.gz", tail, "4 bytes of trailing garbage after the end of the gzip stream");
  // Just the gzip magic.
  check("magiconly.gz", {0x1f, 0x8b}, "truncated");
}

// ---------------------------------------------------------------------------------------------
// Fashion-MNIST on synthetic directories

namespace {

namespace fm = regula::datasets::fashion_mnist;

// Writes a Fashion-MNIST-layout directory: n_train / n_test images whose pixel (i, r, c) is
// (i + r + c) % 256 and labels i % 10.
void write_fake_fashion_mnist(const TemporaryDirectory& dir, int64_t n_train, int64_t n_test, bool gz = true,
                              int64_t n_train_labels = -1, int64_t h = 28, int64_t w = 28) {
  auto images = [&](int64_t n) {
    Tensor t(Shape{n, h, w});
    for (int64_t i = 0; i < n; ++i)
      for (int64_t r = 0; r < h; ++r)
        for (int64_t c = 0; c < w; ++c) t[(i * h + r) * w + c] = static_cast<float>((i + r + c) % 256);
    return t;
  };
  auto labels = [](int64_t n) {
    Tensor t(Shape{n});
    for (int64_t i = 0; i < n; ++i) t[i] = static_cast<float>(i % 10);
    return t;
  };
  std::string sfx = gz ? ".gz" : "";
  regula::io::IdxWriteOptions o{.type = IdxType::uint8, .gzip = gz};
  regula::io::write_idx(dir.file("train-images-idx3-ubyte" + sfx), images(n_train), o);
  regula::io::write_idx(dir.file("train-labels-idx1-ubyte" + sfx), labels(n_train_labels < 0 ? n_train : n_train_labels), o);
  regula::io::write_idx(dir.file("t10k-images-idx3-ubyte" + sfx), images(n_test), o);
  regula::io::write_idx(dir.file("t10k-labels-idx1-ubyte" + sfx), labels(n_test), o);
}

}  // namespace

TEST(FashionMnist, LoadsSyntheticDirectory) {
  TemporaryDirectory dir;
  write_fake_fashion_mnist(dir, 30, 12);
  fm::Data d = fm::load_data({.path = dir.path().string()});
  ASSERT_EQ(d.train.x.shape(), (Shape{30, 28, 28, 1}));
  ASSERT_EQ(d.train.y.shape(), (Shape{30}));
  ASSERT_EQ(d.test.x.shape(), (Shape{12, 28, 28, 1}));
  ASSERT_EQ(d.test.y.shape(), (Shape{12}));
  for (int64_t i = 0; i < 30; ++i) {
    EXPECT_EQ(d.train.y[i], static_cast<float>(i % 10));
    for (int64_t r = 0; r < 28; r += 9)
      for (int64_t c = 0; c < 28; c += 5)
        ASSERT_EQ(d.train.x[(i * 28 + r) * 28 + c], static_cast<float>((i + r + c) % 256) / 255.0f);
  }
  fm::Data raw = fm::load_data({.path = dir.path().string(), .normalize = false});
  EXPECT_EQ(raw.test.x[(5 * 28 + 3) * 28 + 4], 12.0f);
}

TEST(FashionMnist, LimitTakesTheFirstTrainingSamples) {
  TemporaryDirectory dir;
  write_fake_fashion_mnist(dir, 25, 7);
  fm::Data d = fm::load_data({.path = dir.path().string(), .limit = 8});
  ASSERT_EQ(d.train.x.shape(), (Shape{8, 28, 28, 1}));
  ASSERT_EQ(d.train.y.shape(), (Shape{8}));
  EXPECT_EQ(d.test.x.dim(0), 7);
  EXPECT_EQ(d.train.y[7], 7.0f);
  EXPECT_EQ(fm::load_data({.path = dir.path().string(), .limit = 1000}).train.x.dim(0), 25);
  EXPECT_THROW(fm::load_data({.path = dir.path().string(), .limit = -1}), ValueError);
}

TEST(FashionMnist, UnpackedFilesAndEnvironmentVariable) {
  TemporaryDirectory dir;
  write_fake_fashion_mnist(dir, 4, 3, /*gz=*/false);
  const char* old = std::getenv("REGULA_FASHION_MNIST_DIR");
  std::string saved = old ? old : "";
  ::setenv("REGULA_FASHION_MNIST_DIR", dir.path().string().c_str(), 1);
  EXPECT_EQ(regula::datasets::resolve_idx_dataset_dir(fm::spec()), dir.path().string());
  fm::Data d = fm::load_data();
  if (old) ::setenv("REGULA_FASHION_MNIST_DIR", saved.c_str(), 1); else ::unsetenv("REGULA_FASHION_MNIST_DIR");
  EXPECT_EQ(d.train.x.dim(0), 4);
  EXPECT_EQ(d.test.x.dim(0), 3);
}

TEST(FashionMnist, CountMismatchNamesBothFilesAndCounts) {
  TemporaryDirectory dir;
  write_fake_fashion_mnist(dir, 10, 5, true, /*n_train_labels=*/9);
  std::string msg = error_message<IOError>([&] { fm::load_data({.path = dir.path().string()}); });
  EXPECT_NE(msg.find("train-images-idx3-ubyte.gz"), std::string::npos) << msg;
  EXPECT_NE(msg.find("train-labels-idx1-ubyte.gz"), std::string::npos) << msg;
  EXPECT_NE(msg.find("10 images"), std::string::npos) << msg;
  EXPECT_NE(msg.find("9 labels"), std::string::npos) << msg;
}

TEST(FashionMnist, BadLabelNamesFileSampleAndValue) {
  TemporaryDirectory dir;
  write_fake_fashion_mnist(dir, 6, 5);
  Tensor labels(Shape{5}, {0, 1, 2, 10, 4});
  regula::io::write_idx(dir.file("t10k-labels-idx1-ubyte.gz"), labels, {.type = IdxType::uint8, .gzip = true});
  std::string msg = error_message<IOError>([&] { fm::load_data({.path = dir.path().string()}); });
  EXPECT_NE(msg.find("t10k-labels-idx1-ubyte.gz"), std::string::npos) << msg;
  EXPECT_NE(msg.find("sample 3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("10"), std::string::npos) << msg;
}

TEST(FashionMnist, WrongImageSizeIsAnError) {
  TemporaryDirectory dir;
  write_fake_fashion_mnist(dir, 3, 2, true, -1, 28, 27);
  std::string msg = error_message<IOError>([&] { fm::load_data({.path = dir.path().string()}); });
  EXPECT_NE(msg.find("(3, 28, 27)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(N, 28, 28)"), std::string::npos) << msg;
}

TEST(FashionMnist, MissingFileSaysWhichAndHowToInstall) {
  TemporaryDirectory dir;
  write_fake_fashion_mnist(dir, 3, 2);
  fs::remove(dir.file("t10k-images-idx3-ubyte.gz"));
  std::string msg = error_message<IOError>([&] { fm::load_data({.path = dir.path().string()}); });
  EXPECT_NE(msg.find(dir.file("t10k-images-idx3-ubyte.gz")), std::string::npos) << msg;
  EXPECT_NE(msg.find("apt-get install dataset-fashion-mnist"), std::string::npos) << msg;
  msg = error_message<IOError>([&] { fm::load_data({.path = dir.file("no-such-dir")}); });
  EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;
  EXPECT_NE(msg.find("apt-get install dataset-fashion-mnist"), std::string::npos) << msg;
}

TEST(FashionMnist, ClassNames) {
  const auto& names = fm::class_names();
  ASSERT_EQ(names.size(), 10u);
  EXPECT_EQ(names[0], "T-shirt/top");
  EXPECT_EQ(names[1], "Trouser");
  EXPECT_EQ(names[9], "Ankle boot");
}

TEST(FashionMnist, RealDataSet) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(dir + "/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST is not installed in " << dir << " (apt-get install dataset-fashion-mnist)";
  auto start = std::chrono::steady_clock::now();
  fm::Data d = fm::load_data({.path = dir});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[ info     ] full Fashion-MNIST load: " << seconds << " s\n";
  RecordProperty("load_seconds", std::to_string(seconds));
  // Generous bound: the point is catching an accidental quadratic or per-byte-syscall path.
  EXPECT_LT(seconds, 5.0);
  ASSERT_EQ(d.train.x.shape(), (Shape{60000, 28, 28, 1}));
  ASSERT_EQ(d.train.y.shape(), (Shape{60000}));
  ASSERT_EQ(d.test.x.shape(), (Shape{10000, 28, 28, 1}));
  ASSERT_EQ(d.test.y.shape(), (Shape{10000}));
  for (const fm::Split* s : {&d.train, &d.test}) {
    float lo = 1.0f, hi = 0.0f;
    for (float v : s->x.values()) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    EXPECT_EQ(lo, 0.0f);
    EXPECT_EQ(hi, 1.0f);
  }
  std::vector<int64_t> train_counts(10, 0), test_counts(10, 0);
  for (float v : d.train.y.values()) ++train_counts.at(static_cast<size_t>(v));
  for (float v : d.test.y.values()) ++test_counts.at(static_cast<size_t>(v));
  for (int c = 0; c < 10; ++c) {
    EXPECT_EQ(train_counts[static_cast<size_t>(c)], 6000) << "class " << c;
    EXPECT_EQ(test_counts[static_cast<size_t>(c)], 1000) << "class " << c;
  }
  // Known first labels (Ankle boot) and first image's pixel sum (76247 over 784 bytes).
  EXPECT_EQ(d.train.y[0], 9.0f);
  EXPECT_EQ(d.test.y[0], 9.0f);
  fm::Data raw = fm::load_data({.path = dir, .normalize = false, .limit = 1});
  ASSERT_EQ(raw.train.x.shape(), (Shape{1, 28, 28, 1}));
  double sum = 0;
  for (float v : raw.train.x.values()) sum += v;
  EXPECT_EQ(sum, 76247.0);
}

// ---------------------------------------------------------------------------------------------
// to_categorical

TEST(ToCategorical, OneHotRows) {
  Tensor y(Shape{4}, {2, 0, 1, 2});
  Tensor c = regula::utils::to_categorical(y);
  ASSERT_EQ(c.shape(), (Shape{4, 3}));
  expect_equal(c, Tensor(Shape{4, 3}, {0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1}));
  Tensor c5 = regula::utils::to_categorical(y, 5);
  ASSERT_EQ(c5.shape(), (Shape{4, 5}));
  EXPECT_EQ(c5[2], 1.0f);
  EXPECT_EQ(c5[5], 1.0f);
  EXPECT_EQ(c5[4], 0.0f);
}

TEST(ToCategorical, TrailingOneIsDroppedAsInKeras) {
  Tensor y(Shape{3, 1}, {1, 0, 1});
  Tensor c = regula::utils::to_categorical(y, 2);
  ASSERT_EQ(c.shape(), (Shape{3, 2}));
  expect_equal(c, Tensor(Shape{3, 2}, {0, 1, 1, 0, 0, 1}));
  ASSERT_EQ(regula::utils::to_categorical(Tensor(Shape{2, 2}, {0, 1, 1, 0})).shape(), (Shape{2, 2, 2}));
}

TEST(ToCategorical, ErrorsNameValueAndSample) {
  using regula::utils::to_categorical;
  std::string msg = error_message<ValueError>([] { to_categorical(Tensor(Shape{3}, {0, -1, 2})); });
  EXPECT_NE(msg.find("-1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("sample 1"), std::string::npos) << msg;
  msg = error_message<ValueError>([] { to_categorical(Tensor(Shape{3}, {0, 1, 1.5f})); });
  EXPECT_NE(msg.find("1.5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("sample 2"), std::string::npos) << msg;
  msg = error_message<ValueError>([] { to_categorical(Tensor(Shape{4}, {0, 1, 2, 3}), 3); });
  EXPECT_NE(msg.find("label 3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("sample 3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("num_classes=3"), std::string::npos) << msg;
  EXPECT_THROW(to_categorical(Tensor(Shape{1}, {NAN})), ValueError);
  EXPECT_THROW(to_categorical(Tensor(Shape{1}, {INFINITY})), ValueError);
  EXPECT_THROW(to_categorical(Tensor(Shape{1}, {0}), 0), ValueError);
  EXPECT_THROW(to_categorical(Tensor(Shape{1}, {0}), -2), ValueError);
  EXPECT_THROW(to_categorical(Tensor(Shape{0})), ValueError);
  EXPECT_THROW(to_categorical(Tensor()), ValueError);
  EXPECT_THROW(to_categorical(Tensor(Shape{1}, {1e9f})), ValueError);
}
