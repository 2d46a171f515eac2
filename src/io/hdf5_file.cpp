#include "regula/io/hdf5_file.hpp"

#include <hdf5.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <vector>

#include "regula/error.hpp"

namespace regula::io {
namespace {

static_assert(sizeof(hid_t) == sizeof(int64_t), "regula needs HDF5 >= 1.10 (64-bit hid_t)");

// HDF5 prints its error stack to stderr by default; regula reports through exceptions instead.
void silence_hdf5_errors() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

void close_id(hid_t id) {
  if (id < 0) return;
  switch (H5Iget_type(id)) {
    case H5I_FILE: H5Fclose(id); break;
    case H5I_GROUP: H5Gclose(id); break;
    case H5I_DATASET: H5Dclose(id); break;
    case H5I_ATTR: H5Aclose(id); break;
    case H5I_DATATYPE: H5Tclose(id); break;
    case H5I_DATASPACE: H5Sclose(id); break;
    case H5I_GENPROP_LST: H5Pclose(id); break;
    default: break;
  }
}

// A link-creation property list that creates missing intermediate groups ("a/b/c:0").
Hdf5Handle intermediate_groups() {
  Hdf5Handle lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.id(), 1);
  return lcpl;
}

// Creation property lists that leave out the objects' creation and modification times (HDF5
// stores them by default), so that the same content written twice gives the same bytes.
Hdf5Handle untimed(hid_t property_list_class) {
  Hdf5Handle plist(H5Pcreate(property_list_class));
  H5Pset_obj_track_times(plist.id(), 0);
  return plist;
}

// Whether every group on the way to `name` exists, then the object itself (H5Lexists fails on a
// missing intermediate group instead of answering false).
bool link_exists(hid_t loc, const std::string& name) {
  size_t pos = 0;
  while (true) {
    const size_t slash = name.find('/', pos);
    const std::string prefix = name.substr(0, slash);
    if (!prefix.empty() && H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (slash == std::string::npos) return true;
    pos = slash + 1;
  }
}

}  // namespace

Hdf5Handle::~Hdf5Handle() { close_id(id_); }

Hdf5Handle& Hdf5Handle::operator=(Hdf5Handle&& other) noexcept {
  if (this != &other) {
    close_id(id_);
    id_ = other.id_;
    other.id_ = -1;
  }
  return *this;
}

void Hdf5Group::fail(const std::string& object, const std::string& what) const {
  throw IOError(file_ + ": " + object + ": " + what);
}

std::string Hdf5Group::child_path(const std::string& name) const {
  return path_ == "/" ? "/" + name : path_ + "/" + name;
}

Hdf5Group Hdf5Group::create_group(const std::string& name) {
  Hdf5Handle lcpl = intermediate_groups();
  Hdf5Handle gcpl = untimed(H5P_GROUP_CREATE);
  Hdf5Handle g(H5Gcreate2(handle_.id(), name.c_str(), lcpl.id(), gcpl.id(), H5P_DEFAULT));
  if (!g.valid()) fail(child_path(name), "cannot create group");
  return Hdf5Group(file_, child_path(name), std::move(g));
}

Hdf5Group Hdf5Group::group(const std::string& name) const {
  if (!link_exists(handle_.id(), name)) fail(child_path(name), "no such group");
  Hdf5Handle g(H5Gopen2(handle_.id(), name.c_str(), H5P_DEFAULT));
  if (!g.valid()) fail(child_path(name), "not a readable group");
  return Hdf5Group(file_, child_path(name), std::move(g));
}

bool Hdf5Group::has(const std::string& name) const { return link_exists(handle_.id(), name); }

void Hdf5Group::write_dataset(const std::string& name, const Tensor& value) {
  std::vector<hsize_t> dims;
  for (int64_t d : value.shape().dims()) dims.push_back(static_cast<hsize_t>(d));
  Hdf5Handle space(dims.empty() ? H5Screate(H5S_SCALAR)
                                : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  Hdf5Handle lcpl = intermediate_groups();
  Hdf5Handle dcpl = untimed(H5P_DATASET_CREATE);
  Hdf5Handle ds(H5Dcreate2(handle_.id(), name.c_str(), H5T_IEEE_F32LE, space.id(), lcpl.id(), dcpl.id(), H5P_DEFAULT));
  if (!ds.valid()) fail(child_path(name), "cannot create dataset");
  if (value.size() > 0 && H5Dwrite(ds.id(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, value.data()) < 0)
    fail(child_path(name), "cannot write dataset");
}

void Hdf5Group::write_int64(const std::string& name, int64_t value) {
  Hdf5Handle space(H5Screate(H5S_SCALAR));
  Hdf5Handle lcpl = intermediate_groups();
  Hdf5Handle dcpl = untimed(H5P_DATASET_CREATE);
  Hdf5Handle ds(H5Dcreate2(handle_.id(), name.c_str(), H5T_STD_I64LE, space.id(), lcpl.id(), dcpl.id(), H5P_DEFAULT));
  if (!ds.valid() || H5Dwrite(ds.id(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) < 0)
    fail(child_path(name), "cannot write dataset");
}

int64_t Hdf5Group::read_int64(const std::string& name) const {
  const Shape shape = dataset_shape(name);
  if (shape.rank() != 0 && !(shape.rank() == 1 && shape[0] == 1)) fail(child_path(name), "expected a scalar");
  Hdf5Handle ds(H5Dopen2(handle_.id(), name.c_str(), H5P_DEFAULT));
  int64_t value = 0;
  if (H5Dread(ds.id(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) < 0)
    fail(child_path(name), "cannot read dataset (file truncated or corrupt?)");
  return value;
}

namespace {

template <class T>
void write_array(hid_t parent, const std::string& name, const std::vector<T>& values, hid_t file_type,
                 hid_t memory_type, const std::function<void(const std::string&)>& fail) {
  const hsize_t n = values.size();
  Hdf5Handle space(H5Screate_simple(1, &n, nullptr));
  Hdf5Handle lcpl = intermediate_groups();
  Hdf5Handle dcpl = untimed(H5P_DATASET_CREATE);
  Hdf5Handle ds(H5Dcreate2(parent, name.c_str(), file_type, space.id(), lcpl.id(), dcpl.id(), H5P_DEFAULT));
  if (!ds.valid() || (n > 0 && H5Dwrite(ds.id(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0))
    fail("cannot write dataset");
}

}  // namespace

void Hdf5Group::write_int64_array(const std::string& name, const std::vector<int64_t>& values) {
  write_array(handle_.id(), name, values, H5T_STD_I64LE, H5T_NATIVE_INT64,
              [&](const std::string& what) { fail(child_path(name), what); });
}

void Hdf5Group::write_float64_array(const std::string& name, const std::vector<double>& values) {
  write_array(handle_.id(), name, values, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
              [&](const std::string& what) { fail(child_path(name), what); });
}

template <class T>
std::vector<T> Hdf5Group::read_array(const std::string& name, int type_class, int64_t memory_type, const char* kind) const {
  const Shape shape = dataset_shape(name);
  if (shape.rank() != 1) fail(child_path(name), "expected a one-dimensional dataset, found shape " + shape.to_string());
  Hdf5Handle ds(H5Dopen2(handle_.id(), name.c_str(), H5P_DEFAULT));
  Hdf5Handle type(H5Dget_type(ds.id()));
  if (H5Tget_class(type.id()) != static_cast<H5T_class_t>(type_class)) fail(child_path(name), std::string("expected ") + kind + " dataset");
  std::vector<T> out(static_cast<size_t>(shape[0]));
  if (!out.empty() && H5Dread(ds.id(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    fail(child_path(name), "cannot read dataset (file truncated or corrupt?)");
  return out;
}

std::vector<int64_t> Hdf5Group::read_int64_array(const std::string& name) const {
  return read_array<int64_t>(name, H5T_INTEGER, H5T_NATIVE_INT64, "an integer");
}

std::vector<double> Hdf5Group::read_float64_array(const std::string& name) const {
  return read_array<double>(name, H5T_FLOAT, H5T_NATIVE_DOUBLE, "a floating-point");
}

Shape Hdf5Group::dataset_shape(const std::string& name) const {
  if (!link_exists(handle_.id(), name)) fail(child_path(name), "no such dataset");
  Hdf5Handle ds(H5Dopen2(handle_.id(), name.c_str(), H5P_DEFAULT));
  if (!ds.valid()) fail(child_path(name), "not a readable dataset");
  Hdf5Handle space(H5Dget_space(ds.id()));
  const int rank = H5Sget_simple_extent_ndims(space.id());
  if (rank < 0) fail(child_path(name), "unreadable dataspace");
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr);
  std::vector<int64_t> out(dims.begin(), dims.end());
  return Shape(std::move(out));
}

Tensor Hdf5Group::read_dataset(const std::string& name) const {
  Shape shape = dataset_shape(name);
  Hdf5Handle ds(H5Dopen2(handle_.id(), name.c_str(), H5P_DEFAULT));
  Hdf5Handle type(H5Dget_type(ds.id()));
  const H5T_class_t cls = H5Tget_class(type.id());
  if (cls != H5T_FLOAT && cls != H5T_INTEGER) fail(child_path(name), "not a numeric dataset");
  Tensor out(shape);
  // HDF5 converts other numeric types (float64 from h5py, int64 iterations) to float on read.
  if (out.size() > 0 && H5Dread(ds.id(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    fail(child_path(name), "cannot read dataset (file truncated or corrupt?)");
  return out;
}

void Hdf5Group::set_attr(const std::string& name, const std::string& value) {
  Hdf5Handle type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.id(), H5T_VARIABLE);
  H5Tset_cset(type.id(), H5T_CSET_UTF8);
  Hdf5Handle space(H5Screate(H5S_SCALAR));
  if (H5Aexists(handle_.id(), name.c_str()) > 0) H5Adelete(handle_.id(), name.c_str());
  Hdf5Handle attr(H5Acreate2(handle_.id(), name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT));
  const char* ptr = value.c_str();
  if (!attr.valid() || H5Awrite(attr.id(), type.id(), &ptr) < 0) fail(path_ + "@" + name, "cannot write attribute");
}

void Hdf5Group::set_attr(const std::string& name, const std::vector<std::string>& values) {
  // Fixed-length, null-padded, as h5py stores Keras's `[n.encode("utf8") for n in names]`.
  size_t width = 1;
  for (const std::string& v : values) width = std::max(width, v.size());
  std::vector<char> buf(width * values.size(), '\0');
  for (size_t i = 0; i < values.size(); ++i) std::memcpy(buf.data() + i * width, values[i].data(), values[i].size());
  Hdf5Handle type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.id(), width);
  H5Tset_strpad(type.id(), H5T_STR_NULLPAD);
  const hsize_t n = values.size();
  Hdf5Handle space(H5Screate_simple(1, &n, nullptr));
  if (H5Aexists(handle_.id(), name.c_str()) > 0) H5Adelete(handle_.id(), name.c_str());
  Hdf5Handle attr(H5Acreate2(handle_.id(), name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.valid() || (n > 0 && H5Awrite(attr.id(), type.id(), buf.data()) < 0))
    fail(path_ + "@" + name, "cannot write attribute");
}

bool Hdf5Group::has_attr(const std::string& name) const { return H5Aexists(handle_.id(), name.c_str()) > 0; }

std::string Hdf5Group::attr_string(const std::string& name) const {
  std::vector<std::string> v = attr_strings(name);
  if (v.size() != 1) fail(path_ + "@" + name, "expected one string, found " + std::to_string(v.size()));
  return v[0];
}

std::vector<std::string> Hdf5Group::attr_strings(const std::string& name) const {
  const std::string where = path_ + "@" + name;
  if (!has_attr(name)) fail(where, "no such attribute");
  Hdf5Handle attr(H5Aopen(handle_.id(), name.c_str(), H5P_DEFAULT));
  if (!attr.valid()) fail(where, "unreadable attribute");
  Hdf5Handle type(H5Aget_type(attr.id()));
  Hdf5Handle space(H5Aget_space(attr.id()));
  const hssize_t n = H5Sget_simple_extent_npoints(space.id());
  if (n < 0) fail(where, "unreadable attribute");
  const H5T_class_t cls = H5Tget_class(type.id());
  // h5py writes an empty list as a float64 array of length 0.
  if (n == 0) return {};
  if (cls != H5T_STRING) fail(where, "not a string attribute");
  std::vector<std::string> out;
  if (H5Tis_variable_str(type.id()) > 0) {
    std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
    Hdf5Handle mem(H5Tcopy(H5T_C_S1));
    H5Tset_size(mem.id(), H5T_VARIABLE);
    H5Tset_cset(mem.id(), H5Tget_cset(type.id()));
    if (H5Aread(attr.id(), mem.id(), ptrs.data()) < 0) fail(where, "cannot read attribute");
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    H5Dvlen_reclaim(mem.id(), space.id(), H5P_DEFAULT, ptrs.data());
  } else {
    const size_t width = H5Tget_size(type.id());
    std::vector<char> buf(width * static_cast<size_t>(n), '\0');
    if (H5Aread(attr.id(), type.id(), buf.data()) < 0) fail(where, "cannot read attribute");
    for (hssize_t i = 0; i < n; ++i) {
      const char* p = buf.data() + static_cast<size_t>(i) * width;
      out.emplace_back(p, strnlen(p, width));
    }
  }
  return out;
}

Hdf5File Hdf5File::create(const std::string& path) {
  silence_hdf5_errors();
  // The core driver without a backing store: the file is an image in memory, grown in 1 MiB steps.
  Hdf5Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
  if (!fapl.valid() || H5Pset_fapl_core(fapl.id(), size_t{1} << 20, 0) < 0)
    throw IOError(path + ": cannot set up an HDF5 file in memory");
  Hdf5Handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.id()));
  if (!f.valid()) throw IOError(path + ": cannot create HDF5 file");
  return Hdf5File(path, std::move(f), true);
}

Hdf5File Hdf5File::open(const std::string& path) {
  silence_hdf5_errors();
  FILE* probe = std::fopen(path.c_str(), "rb");
  if (!probe) throw IOError(path + ": no such file or not readable");
  std::fclose(probe);
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw IOError(path + ": not an HDF5 file (corrupt or truncated?)");
  Hdf5Handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!f.valid()) throw IOError(path + ": cannot open HDF5 file (corrupt or truncated?)");
  return Hdf5File(path, std::move(f), false);
}

void Hdf5File::close() {
  if (!handle_.valid()) return;
  const hid_t id = handle_.id();
  if (H5Fflush(id, H5F_SCOPE_LOCAL) < 0) fail(path_, "cannot flush");
  std::vector<char> image;
  if (in_memory_) {
    const ssize_t size = H5Fget_file_image(id, nullptr, 0);
    if (size < 0) fail(path_, "cannot take the file's image");
    image.resize(static_cast<size_t>(size));
    if (H5Fget_file_image(id, image.data(), image.size()) != size) fail(path_, "cannot take the file's image");
  }
  // Release our ownership first so the destructor does not close twice.
  { Hdf5Handle released = std::move(handle_); }
  if (!in_memory_) return;
  std::FILE* out = std::fopen(file_.c_str(), "wb");
  if (out == nullptr) throw IOError(file_ + ": cannot create the file: " + std::strerror(errno));
  bool written = std::fwrite(image.data(), 1, image.size(), out) == image.size();
  int error = errno;
  if (std::fclose(out) != 0 && written) {
    written = false;
    error = errno;
  }
  if (!written) throw IOError(file_ + ": cannot write the file: " + std::strerror(error));
}

Hdf5File::~Hdf5File() = default;

}  // namespace regula::io
