#pragma once
/// @file
/// IDX files: the array format of MNIST, Fashion-MNIST, EMNIST and KMNIST
/// (http://yann.lecun.com/exdb/mnist/, "FILE FORMATS FOR THE MNIST DATABASE").
///
/// Layout: a 4-byte magic `0x00 0x00 <type> <ndims>`, then `ndims` big-endian uint32 dimensions,
/// then the elements, row-major, big-endian. Element types:
///
/// | code | type                  |
/// | ---- | --------------------- |
/// | 0x08 | unsigned byte (uint8) |
/// | 0x09 | signed byte (int8)    |
/// | 0x0B | int16                 |
/// | 0x0C | int32                 |
/// | 0x0D | float32               |
/// | 0x0E | float64               |
///
/// Files may be gzip-compressed (as distributed: `train-images-idx3-ubyte.gz`); compression is
/// detected from the gzip magic bytes `0x1f 0x8b`, never from the file name, so a renamed file
/// still reads. Every problem (missing file, bad magic, unknown type code, truncated data,
/// trailing bytes, a zero dimension, a corrupt gzip stream) throws `regula::IOError` naming the
/// file and what was found versus what was expected.
///
/// Reading the whole file is one sequential pass: one (streaming) decompression into a byte
/// buffer, then one conversion loop into float32.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "regula/tensor/tensor.hpp"

namespace regula::io {

/// IDX element type; the value is the type code stored in byte 2 of the magic.
enum class IdxType : uint8_t {
  uint8 = 0x08,
  int8 = 0x09,
  int16 = 0x0B,
  int32 = 0x0C,
  float32 = 0x0D,
  float64 = 0x0E,
};

/// Size in bytes of one element of `type`.
int idx_type_size(IdxType type);
/// "uint8", "int8", "int16", "int32", "float32" or "float64".
const char* idx_type_name(IdxType type);

/// What an IDX header declares.
struct IdxHeader {
  IdxType type = IdxType::uint8;
  /// The dimensions in file order, e.g. (60000, 28, 28) for MNIST training images. Each is >= 1.
  std::vector<int64_t> dims;
  /// Size of the header in bytes: 4 + 4 * dims.size() (where the data starts).
  int64_t header_bytes = 0;

  /// Number of elements the header declares (the product of `dims`).
  int64_t num_elements() const;
};

/// An IDX file's header with its data still in the file's encoding (big-endian elements).
struct IdxArray {
  /// The header as declared by the file. `header.dims[0]` is the file's full count even when
  /// only `rows` rows were read.
  IdxHeader header;
  /// Number of rows (entries along the first dimension) held in `bytes`.
  int64_t rows = 0;
  /// The raw element bytes of those rows, big-endian as in the file.
  std::vector<uint8_t> bytes;

  /// The dimensions of what was read: `header.dims` with the first replaced by `rows`.
  std::vector<int64_t> dims() const;
};

/// Reads only the header of an IDX file (decompressing just its first bytes when gzipped) and
/// returns the element type and dimensions. Checks the magic, the type code and that no
/// dimension is zero; does not read or check the data (use `read_idx` / `read_idx_array`).
/// Throws `IOError` naming the file.
IdxHeader read_idx_header(const std::string& path);

/// Reads an IDX file's header and data bytes without converting them. With `max_rows > 0`, reads
/// only the first `min(max_rows, dims[0])` rows and stops decompressing there (a quick look at
/// a large file); then a truncated tail or trailing bytes after the data go unnoticed. With
/// `max_rows == 0` (default) reads everything and checks that the data is exactly as long as
/// the header declares. Throws `IOError` naming the file.
IdxArray read_idx_array(const std::string& path, int64_t max_rows = 0);

/// Converts IDX data to a float32 tensor of shape `array.dims()`, dividing every value by
/// `divisor` in the same loop (e.g. 255 to bring uint8 pixels into [0, 1]); the result equals
/// numpy's `x.astype("float32") / divisor` bit for bit. int32 and float64 values beyond
/// float32's precision are rounded to the nearest float. Throws `ValueError` for a zero or
/// non-finite divisor or bytes that do not match the dimensions.
Tensor idx_to_tensor(const IdxArray& array, float divisor = 1.0f);

/// Options of `read_idx`.
struct IdxReadOptions {
  /// Read only the first `max_rows` entries along the first dimension (0 = all; more than the
  /// file holds = all). As with `read_idx_array`, a partial read leaves the tail unchecked.
  int64_t max_rows = 0;
  /// Every value is divided by this (255 brings uint8 pixels into [0, 1]); see `idx_to_tensor`.
  float divisor = 1.0f;
};

/// Reads an IDX file (raw or gzip) into a float32 tensor with the file's dimensions (the first
/// one reduced to the rows read); the values are the file's values converted to float (uint8
/// pixels stay 0..255 unless `divisor` says otherwise). Decompression and conversion run
/// chunk by chunk in one pass, without a file-sized byte buffer.
/// Equivalent of `idx2numpy.convert_from_file(path).astype("float32") / divisor`.
/// Throws `IOError` naming the file and what is wrong with it, `ValueError` for bad options.
Tensor read_idx(const std::string& path, const IdxReadOptions& options = {});

/// Options of `write_idx`.
struct IdxWriteOptions {
  /// Element type written. Default float32, which stores any tensor exactly. For integer types
  /// every value must be an integer within the type's range (else `ValueError` naming the index
  /// and the value); float64 widens each float exactly.
  IdxType type = IdxType::float32;
  /// gzip-compress the file (independently of whether `path` ends in ".gz").
  bool gzip = false;
};

/// Writes `tensor` (rank >= 1, every dimension >= 1 and < 2^32) as an IDX file with its shape as
/// the dimensions. The write is atomic: a temporary file in the same directory is renamed over
/// `path` when complete. Throws `ValueError` for a value the type cannot hold or a shape IDX
/// cannot express, `IOError` when the file cannot be written.
void write_idx(const std::string& path, const Tensor& tensor, IdxWriteOptions options = {});

}  // namespace regula::io
