#pragma once
/// @file
/// A small RAII wrapper over HDF5's C API: just what Keras-compatible `.h5` files need (groups,
/// float32 datasets, string and string-array attributes). h5py's equivalents are noted per call.
///
/// Every failure throws IOError naming the file and the object path (e.g.
/// `model.h5: /model_weights/dense: no such group`). HDF5's own error stack printing is turned off
/// process-wide the first time a file is opened, so failures surface only as exceptions.
///
/// Strings are written as h5py writes Python `str`/`bytes` attributes: variable-length UTF-8
/// scalars and fixed-length (null-padded) string arrays (h5py reads both as str/bytes).

#include <cstdint>
#include <string>
#include <vector>

#include "regula/tensor/tensor.hpp"

namespace regula::io {

/// An owned HDF5 identifier (closed with the matching H5*close on destruction).
class Hdf5Handle {
 public:
  Hdf5Handle() = default;
  explicit Hdf5Handle(int64_t id) : id_(id) {}
  ~Hdf5Handle();
  Hdf5Handle(Hdf5Handle&& other) noexcept : id_(other.id_) { other.id_ = -1; }
  Hdf5Handle& operator=(Hdf5Handle&& other) noexcept;
  Hdf5Handle(const Hdf5Handle&) = delete;
  Hdf5Handle& operator=(const Hdf5Handle&) = delete;
  int64_t id() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  int64_t id_ = -1;
};

/// A group (or the file's root group "/"); h5py's `h5py.Group`.
class Hdf5Group {
 public:
  /// The group's path inside the file, e.g. "/model_weights/dense".
  const std::string& path() const { return path_; }

  /// `g.create_group(name)`; `name` may contain "/" (intermediate groups are created).
  Hdf5Group create_group(const std::string& name);
  /// `g[name]` for a group; IOError when absent.
  Hdf5Group group(const std::string& name) const;
  bool has(const std::string& name) const;

  /// `g.create_dataset(name, data=tensor)` as float32 with the tensor's shape (a rank-0 tensor
  /// is written as a scalar dataset); intermediate groups in `name` are created.
  void write_dataset(const std::string& name, const Tensor& value);
  /// Reads a float32 (or any float/integer type, converted) dataset `name` into a new tensor.
  Tensor read_dataset(const std::string& name) const;
  /// A scalar int64 dataset (Keras's `iterations` counter); `read_int64` converts other integer
  /// and float types.
  void write_int64(const std::string& name, int64_t value);
  int64_t read_int64(const std::string& name) const;
  /// One-dimensional int64 and float64 datasets, read back bit for bit (for saved training
  /// states: generator words, sample orders, counters and best values).
  void write_int64_array(const std::string& name, const std::vector<int64_t>& values);
  std::vector<int64_t> read_int64_array(const std::string& name) const;
  void write_float64_array(const std::string& name, const std::vector<double>& values);
  std::vector<double> read_float64_array(const std::string& name) const;
  /// The dataset's shape without reading it.
  Shape dataset_shape(const std::string& name) const;

  void set_attr(const std::string& name, const std::string& value);
  void set_attr(const std::string& name, const std::vector<std::string>& values);
  bool has_attr(const std::string& name) const;
  /// A string attribute (fixed- or variable-length); IOError when absent or not a string.
  std::string attr_string(const std::string& name) const;
  /// A string-array attribute (fixed- or variable-length; an empty array as h5py writes it is
  /// accepted); IOError when absent or not strings.
  std::vector<std::string> attr_strings(const std::string& name) const;

 protected:
  Hdf5Group(std::string file, std::string path, Hdf5Handle handle)
      : file_(std::move(file)), path_(std::move(path)), handle_(std::move(handle)) {}
  [[noreturn]] void fail(const std::string& object, const std::string& what) const;
  /// A one-dimensional dataset of HDF5 type class `type_class`, read as `memory_type`.
  template <class T>
  std::vector<T> read_array(const std::string& name, int type_class, int64_t memory_type, const char* kind) const;
  std::string child_path(const std::string& name) const;

  std::string file_;
  std::string path_;
  Hdf5Handle handle_;
};

/// An open HDF5 file; the object is its root group. h5py's `h5py.File(path, "r"/"w")`.
class Hdf5File : public Hdf5Group {
 public:
  /// A new file to be written at `path` (replacing it). It is built in memory and written by
  /// `close`, so that a write error (a full disk) is an IOError of regula's own writing and never
  /// leaves the HDF5 library with a file it cannot close.
  static Hdf5File create(const std::string& path);
  /// Opens `path` read-only; IOError when missing or not an HDF5 file.
  static Hdf5File open(const std::string& path);
  /// Closes now, writing a created file to its path; IOError naming the path on failure. The
  /// destructor also closes, but then a created file is not written.
  void close();
  ~Hdf5File();
  Hdf5File(Hdf5File&&) = default;
  Hdf5File& operator=(Hdf5File&&) = default;

 private:
  Hdf5File(std::string file, Hdf5Handle handle, bool in_memory)
      : Hdf5Group(std::move(file), "/", std::move(handle)), in_memory_(in_memory) {}
  /// Created: its bytes live in memory until `close` writes them.
  bool in_memory_ = false;
};

}  // namespace regula::io
