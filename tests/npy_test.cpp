// .npy / .npz reading and writing (regula/io/npy.hpp), checked against real NumPy: a Python
// script writes files of every supported dtype, byte order and layout for load_npy/load_npz,
// and reads back what save_npy/save_npz wrote. Needs /usr/bin/python3 with NumPy
// (apt-get install python3-numpy); without it the interop tests fail with that message.

#include "regula/io/npy.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "regula/error.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using regula::IOError;
using regula::Shape;
using regula::Tensor;
using regula::testing_support::expect_error;
using regula::testing_support::TemporaryDirectory;

constexpr const char* kPython = "/usr/bin/python3";

// A fresh directory under the system temp dir, removed with everything in it at the end.
class NpyTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return directory_.file(name); }

  void write_bytes(const std::string& name, const std::string& bytes) const {
    std::ofstream(path(name), std::ios::binary) << bytes;
  }

  // Runs a Python script with the temp dir as its argument; fails the test (not skips) when
  // Python or NumPy is missing or the script fails, with the script's output.
  void run_python(const std::string& script) const {
    ASSERT_EQ(std::system((std::string(kPython) + " -c 'import numpy' > /dev/null 2>&1").c_str()), 0)
        << kPython << " with NumPy is needed to check .npy/.npz interoperability: apt-get install python3-numpy "
        << "(scripts/install-deps.sh installs it)";
    const std::string script_path = path("script.py"), log_path = path("python.log");
    std::ofstream(script_path) << script;
    const std::string command =
        std::string(kPython) + " " + script_path + " " + directory_.path().string() + " > " + log_path + " 2>&1";
    const int rc = std::system(command.c_str());
    std::ifstream log(log_path);
    const std::string output((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    ASSERT_EQ(rc, 0) << "python script failed:\n" << output;
  }

  TemporaryDirectory directory_;
};

// The values the script below stores: (v − 12) · 0.5 for floats, v − 12 for signed, v for
// unsigned integers, v = 0..23 in shape (2, 3, 4).
float expected_value(char kind, int v) {
  if (kind == 'f') return static_cast<float>(v - 12) * 0.5f;
  if (kind == 'i') return static_cast<float>(v - 12);
  return static_cast<float>(v);
}

constexpr const char* kWriteScript = R"PY(
import sys, numpy as np
d = sys.argv[1]
v = np.arange(24).reshape(2, 3, 4)
for dt in ['<f2', '<f4', '<f8', '|i1', '<i2', '<i4', '<i8', '|u1', '<u2', '<u4', '<u8',
           '>f2', '>f4', '>f8', '>i2', '>i4', '>i8', '>u2', '>u4', '>u8']:
    kind = np.dtype(dt).kind
    x = (v - 12) * 0.5 if kind == 'f' else (v - 12 if kind == 'i' else v)
    name = dt.replace('<', 'le_').replace('>', 'be_').replace('|', 'na_')
    np.save(f'{d}/{name}.npy', x.astype(dt))
np.save(f'{d}/bool.npy', np.array([[True, False, False], [True, True, False]]))
np.save(f'{d}/fortran2.npy', np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3)))
np.save(f'{d}/fortran3.npy', np.asfortranarray(np.arange(24, dtype='>f8').reshape(2, 3, 4)))
np.save(f'{d}/scalar.npy', np.float64(3.25))
np.save(f'{d}/empty.npy', np.zeros((0, 3), dtype='<f4'))
np.save(f'{d}/vector.npy', np.array([1.5, -2.0, 7.0], dtype='<f4'))
for version in [(1, 0), (2, 0), (3, 0)]:
    with open(f'{d}/v{version[0]}.npy', 'wb') as f:
        np.lib.format.write_array(f, np.arange(5, dtype='<i4'), version=version)
np.savez(f'{d}/plain.npz', a=np.arange(6, dtype='<f4').reshape(2, 3), b=np.array([1, 2, 3], dtype='>i8'))
np.savez_compressed(f'{d}/compressed.npz', a=np.arange(1000, dtype='<f8').reshape(10, 100), s=np.float32(-1.5))
np.save(f'{d}/object.npy', np.array([1, 'a'], dtype=object), allow_pickle=True)
np.save(f'{d}/complex.npy', np.zeros(3, dtype='<c8'))
np.save(f'{d}/unicode.npy', np.array(['ab', 'c']))
np.save(f'{d}/structured.npy', np.zeros(3, dtype=[('a', '<f4'), ('b', '<i4')]))
np.save(f'{d}/truncated.npy', np.arange(100, dtype='<f4'))

# An archive whose central directory and end record are all zip64 (as zipfile writes past 4 GiB
# or 65535 members), built by hand and checked with zipfile.
import io, struct, zipfile, zlib
buf = io.BytesIO()
np.lib.format.write_array(buf, np.arange(4, dtype='<f4'))
data, name, big = buf.getvalue(), b'z.npy', 0xFFFFFFFF
crc = zlib.crc32(data)
local_extra = struct.pack('<HHQQ', 1, 16, len(data), len(data))
local = struct.pack('<IHHHHHIIIHH', 0x04034b50, 45, 0, 0, 0, 0x21, crc, big, big, len(name), len(local_extra))
local += name + local_extra + data
central_extra = struct.pack('<HHQQQ', 1, 24, len(data), len(data), 0)
central = struct.pack('<IHHHHHHIIIHHHHHII', 0x02014b50, 45, 45, 0, 0, 0, 0x21, crc, big, big, len(name),
                      len(central_extra), 0, 0, 0, 0, big) + name + central_extra
zip64_end = struct.pack('<IQHHIIQQQQ', 0x06064b50, 44, 45, 45, 0, 0, 1, 1, len(central), len(local))
locator = struct.pack('<IIQI', 0x07064b50, 0, len(local) + len(central), 1)
end = struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, 0xFFFF, 0xFFFF, big, big, 0)
with open(f'{d}/zip64.npz', 'wb') as f:
    f.write(local + central + zip64_end + locator + end)
assert zipfile.ZipFile(f'{d}/zip64.npz').read('z.npy') == data
)PY";

TEST_F(NpyTest, ReadsEveryDtypeAndByteOrderNumPyWrites) {
  run_python(kWriteScript);
  for (const char* name : {"le_f2", "le_f4", "le_f8", "na_i1", "le_i2", "le_i4", "le_i8", "na_u1", "le_u2", "le_u4",
                           "le_u8", "be_f2", "be_f4", "be_f8", "be_i2", "be_i4", "be_i8", "be_u2", "be_u4", "be_u8"}) {
    SCOPED_TRACE(name);
    const Tensor x = regula::io::load_npy(path(std::string(name) + ".npy"));
    ASSERT_EQ(x.shape(), (Shape{2, 3, 4}));
    const char kind = name[3];
    for (int i = 0; i < 24; ++i) EXPECT_EQ(x[i], expected_value(kind, i)) << "element " << i;
  }
  const Tensor b = regula::io::load_npy(path("bool.npy"));
  ASSERT_EQ(b.shape(), (Shape{2, 3}));
  EXPECT_EQ(std::vector<float>(b.values().begin(), b.values().end()), (std::vector<float>{1, 0, 0, 1, 1, 0}));
}

TEST_F(NpyTest, ReordersFortranOrderAndKeepsSpecialShapes) {
  run_python(kWriteScript);
  const Tensor f2 = regula::io::load_npy(path("fortran2.npy"));
  ASSERT_EQ(f2.shape(), (Shape{2, 3}));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(f2[i], static_cast<float>(i));
  const Tensor f3 = regula::io::load_npy(path("fortran3.npy"));
  ASSERT_EQ(f3.shape(), (Shape{2, 3, 4}));
  for (int i = 0; i < 24; ++i) EXPECT_EQ(f3[i], static_cast<float>(i));

  const Tensor scalar = regula::io::load_npy(path("scalar.npy"));
  EXPECT_EQ(scalar.rank(), 0);
  EXPECT_EQ(scalar.size(), 1);
  EXPECT_EQ(scalar[0], 3.25f);
  EXPECT_EQ(regula::io::load_npy(path("empty.npy")).shape(), (Shape{0, 3}));
  EXPECT_EQ(regula::io::load_npy(path("vector.npy")).shape(), (Shape{3}));
  for (const char* version : {"v1.npy", "v2.npy", "v3.npy"}) {
    const Tensor x = regula::io::load_npy(path(version));
    ASSERT_EQ(x.shape(), (Shape{5})) << version;
    EXPECT_EQ(x[4], 4.0f) << version;
  }
}

TEST_F(NpyTest, ReadsSavezAndSavezCompressed) {
  run_python(kWriteScript);
  const auto plain = regula::io::load_npz(path("plain.npz"));
  ASSERT_EQ(plain.size(), 2u);
  EXPECT_EQ(plain.at("a").shape(), (Shape{2, 3}));
  EXPECT_EQ(plain.at("a")[5], 5.0f);
  EXPECT_EQ(plain.at("b").shape(), (Shape{3}));
  EXPECT_EQ(plain.at("b")[2], 3.0f);

  const auto compressed = regula::io::load_npz(path("compressed.npz"));
  ASSERT_EQ(compressed.size(), 2u);
  EXPECT_EQ(compressed.at("a").shape(), (Shape{10, 100}));
  EXPECT_EQ(compressed.at("a")[999], 999.0f);
  EXPECT_EQ(compressed.at("s").rank(), 0);
  EXPECT_EQ(compressed.at("s")[0], -1.5f);
  EXPECT_EQ(regula::io::load_npz_array(path("compressed.npz"), "a")[123], 123.0f);

  const auto zip64 = regula::io::load_npz(path("zip64.npz"));
  ASSERT_EQ(zip64.count("z"), 1u);
  EXPECT_EQ(zip64.at("z").shape(), (Shape{4}));
  EXPECT_EQ(zip64.at("z")[3], 3.0f);
}

TEST_F(NpyTest, NumPyReadsWhatSaveNpyAndSaveNpzWrite) {
  Tensor matrix(Shape{2, 3}, {0.5f, -1.0f, 2.25f, 1e-7f, 3.0e38f, -0.0f});
  Tensor vector(Shape{4}, {1, 2, 3, 4});
  Tensor scalar(Shape{}, {7.5f});
  regula::io::save_npy(path("matrix.npy"), matrix);
  regula::io::save_npy(path("vector.npy"), vector);
  regula::io::save_npy(path("scalar.npy"), scalar);
  regula::io::save_npz(path("ours.npz"), {{"m", matrix}, {"v", vector}});
  regula::io::save_npz(path("ours_compressed.npz"), {{"m", matrix}, {"s", scalar}}, /*compressed=*/true);
  run_python(R"PY(
import sys, numpy as np
d = sys.argv[1]
m = np.array([[0.5, -1.0, 2.25], [1e-7, 3.0e38, -0.0]], dtype=np.float32)
def check(a, expected):
    assert a.dtype == np.float32 and a.dtype.byteorder in '<=', a.dtype
    assert a.shape == expected.shape, (a.shape, expected.shape)
    assert np.array_equal(a, expected), (a, expected)
check(np.load(f'{d}/matrix.npy'), m)
check(np.load(f'{d}/vector.npy'), np.array([1, 2, 3, 4], dtype=np.float32))
check(np.load(f'{d}/scalar.npy'), np.array(7.5, dtype=np.float32))
for name in ['matrix', 'vector', 'scalar']:
    with open(f'{d}/{name}.npy', 'rb') as f:
        assert np.lib.format.read_magic(f) == (1, 0)
        header_len = int.from_bytes(f.read(2), 'little')
        assert (10 + header_len) % 64 == 0, header_len
with np.load(f'{d}/ours.npz') as z:
    assert sorted(z.files) == ['m', 'v'], z.files
    check(z['m'], m)
    check(z['v'], np.array([1, 2, 3, 4], dtype=np.float32))
with np.load(f'{d}/ours_compressed.npz') as z:
    assert sorted(z.files) == ['m', 's'], z.files
    check(z['m'], m)
    check(z['s'], np.array(7.5, dtype=np.float32))
import zipfile
assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zipfile.ZipFile(f'{d}/ours_compressed.npz').infolist())
assert all(i.compress_type == zipfile.ZIP_STORED for i in zipfile.ZipFile(f'{d}/ours.npz').infolist())
)PY");
  // And regula reads its own files back.
  const auto back = regula::io::load_npz(path("ours_compressed.npz"));
  EXPECT_EQ(back.at("m")[4], 3.0e38f);
  EXPECT_EQ(regula::io::load_npy(path("scalar.npy"))[0], 7.5f);
}

TEST_F(NpyTest, RefusesUnsupportedContentNamingFileAndAllowedValues) {
  run_python(kWriteScript);
  expect_error<IOError>([&] { regula::io::load_npy(path("object.npy")); }, {path("object.npy"), "object arrays", "f4"});
  expect_error<IOError>(
      [&] { regula::io::load_npy(path("complex.npy")); },
      {path("complex.npy"), "unsupported dtype '<c8'", "supported: f2 (float16), f4 (float32)", "b1"});
  expect_error<IOError>([&] { regula::io::load_npy(path("unicode.npy")); }, {path("unicode.npy"), "'<U2'"});
  expect_error<IOError>([&] { regula::io::load_npy(path("structured.npy")); }, {path("structured.npy"), "structured"});

  // Data shorter than the shape says.
  fs::resize_file(path("truncated.npy"), fs::file_size(path("truncated.npy")) - 10);
  expect_error<IOError>([&] { regula::io::load_npy(path("truncated.npy")); },
                        {path("truncated.npy"), "truncated", "(100,)", "needs 400 bytes", "only 390"});
}

TEST_F(NpyTest, RefusesBadFilesNamingWhatWasExpected) {
  expect_error<IOError>([&] { regula::io::load_npy(path("missing.npy")); }, {path("missing.npy")});
  write_bytes("text.npy", "hello, not numpy");
  expect_error<IOError>([&] { regula::io::load_npy(path("text.npy")); }, {path("text.npy"), "magic string"});
  write_bytes("version.npy", std::string("\x93NUMPY\x04\x00", 8) + std::string("\x10\x00", 2) + "{}");
  expect_error<IOError>([&] { regula::io::load_npy(path("version.npy")); },
                        {"version 4.0", "supported: 1.0, 2.0, 3.0"});
  // The header length says 118 bytes but the file ends after 10.
  write_bytes("short_header.npy", std::string("\x93NUMPY\x01\x00\x76\x00", 10) + "{'descr': ");
  expect_error<IOError>([&] { regula::io::load_npy(path("short_header.npy")); },
                        {path("short_header.npy"), "header is truncated", "says 118 bytes"});
  const std::string bad_dict = "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }\n";
  write_bytes("bad_dict.npy",
              std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(bad_dict.size()) + '\0' + bad_dict);
  expect_error<IOError>([&] { regula::io::load_npy(path("bad_dict.npy")); },
                        {path("bad_dict.npy"), "malformed header", "expected True or False"});
  const std::string no_shape = "{'descr': '<f4', 'fortran_order': False, }\n";
  write_bytes("no_shape.npy",
              std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(no_shape.size()) + '\0' + no_shape);
  expect_error<IOError>([&] { regula::io::load_npy(path("no_shape.npy")); }, {"lacks 'shape'"});
}

TEST_F(NpyTest, NpzErrorsNameTheArchiveAndEntry) {
  regula::io::save_npz(path("a.npz"), {{"weights", Tensor(Shape{2}, 1.0f)}, {"bias", Tensor(Shape{1}, 0.0f)}});
  expect_error<IOError>([&] { regula::io::load_npz_array(path("a.npz"), "kernel"); },
                        {path("a.npz"), "no array 'kernel'", "'bias', 'weights'"});
  expect_error<IOError>([&] { regula::io::load_npz(path("missing.npz")); }, {path("missing.npz")});
  write_bytes("not_zip.npz", "just some text that is long enough to look for a zip end record");
  expect_error<IOError>([&] { regula::io::load_npz(path("not_zip.npz")); },
                        {path("not_zip.npz"), "end-of-central-directory"});

  // Flip one byte of the stored data: the CRC check catches it.
  std::fstream f(path("a.npz"), std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(120);
  f.put('\x55');
  f.close();
  expect_error<IOError>([&] { regula::io::load_npz(path("a.npz")); }, {path("a.npz"), "CRC-32"});

  EXPECT_THROW(regula::io::save_npz(path("b.npz"), {{"a/b", Tensor(Shape{1})}}), regula::ValueError);
  EXPECT_THROW(regula::io::save_npy(path("c.npy"), Tensor()), regula::ValueError);
}

}  // namespace
