#include "src/io/byte_reader.hpp"

#include <system_error>

namespace regula::io {

namespace fs = std::filesystem;

std::string errno_text(int err) { return std::generic_category().message(err); }

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

}  // namespace regula::io
