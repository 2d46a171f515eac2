#pragma once
/// @file
/// NumPy's array files: `.npy` (one array) and `.npz` (a zip archive of `.npy` members), the
/// equivalents of `np.load`, `np.save`, `np.savez` and `np.savez_compressed`.
///
/// Reading (`load_npy`, `load_npz`) accepts what NumPy writes:
/// - format versions 1.0, 2.0 and 3.0 (the header length is 2 bytes in 1.0, 4 bytes after);
/// - element types (`descr`) f2, f4, f8, i1, i2, i4, i8, u1, u2, u4, u8 and b1, little-endian
///   (`<`), big-endian (`>`), native (`=`) or not applicable (`|`);
/// - `fortran_order: True`, reordered into C (row-major) order;
/// - any shape, including 0-d arrays (shape `()`, one element) and zero-sized dimensions.
/// Every value is converted to float32 (as `x.astype("float32")`: int64 and float64 values beyond
/// float32's precision are rounded to the nearest float; b1 gives 0 or 1).
///
/// `.npz` members may be stored or deflated, and may carry zip64 extra fields (NumPy writes
/// with `force_zip64=True`); the archive is read through its central directory, and every
/// member's CRC-32 is checked.
///
/// Writing (`save_npy`, `save_npz`) produces format 1.0 with `descr '<f4'`, C order, and the
/// header padded with spaces to a multiple of 64 bytes as NumPy does. Files are written
/// atomically (a temporary file renamed over the target).
///
/// Errors: every problem with a file throws `regula::IOError` naming the file (and the npz
/// member), what was found and what is allowed: a missing file, a bad magic string, an unknown
/// format version, a malformed or truncated header, an unsupported dtype (the message lists the
/// supported ones), object arrays, structured dtypes, data shorter than the shape declares, a
/// corrupt zip archive, and (`load_npz_array`) an archive without the requested entry.
///
/// Differences from NumPy: every array becomes float32 (regula's only element type); complex,
/// string, datetime, object and structured dtypes are refused; `mmap_mode` and pickles do not
/// exist; `save_npz` writes each member without zip64 fields (members must be < 4 GiB).

#include <map>
#include <string>

#include "regula/tensor/tensor.hpp"

namespace regula::io {

/// Reads a `.npy` file into a float32 tensor with the file's shape (`np.load(path)
/// .astype("float32")`). Throws `IOError` naming the file for any problem listed above.
Tensor load_npy(const std::string& path);

/// Writes `tensor` as a `.npy` file (version 1.0, `'<f4'`, C order, `np.save(path, x)` of a
/// float32 array). An empty (default-constructed) tensor is refused with `ValueError`. Throws
/// `IOError` naming the file when it cannot be written.
void save_npy(const std::string& path, const Tensor& tensor);

/// Reads every array of a `.npz` archive, keyed by the member name without its `.npy` suffix
/// (`dict(np.load(path))`). Members whose names do not end in `.npy` are ignored, as NumPy's
/// `NpzFile` does not list them as arrays either. Throws `IOError` naming the file (and member).
std::map<std::string, Tensor> load_npz(const std::string& path);

/// Reads one array, `name` (without `.npy`), of a `.npz` archive (`np.load(path)[name]`); only
/// that member is decompressed. Throws `IOError` naming the file, the entry asked for and the
/// entries the archive holds when it is absent.
Tensor load_npz_array(const std::string& path, const std::string& name);

/// Writes `arrays` as a `.npz` archive with one member `<name>.npy` per entry (`np.savez`, or
/// `np.savez_compressed` with `compressed`: deflate). Names must be non-empty and must not
/// contain '/' or '\\' (`ValueError`); empty tensors are refused (`ValueError`). Throws
/// `IOError` naming the file when it cannot be written.
void save_npz(const std::string& path, const std::map<std::string, Tensor>& arrays, bool compressed = false);

}  // namespace regula::io
