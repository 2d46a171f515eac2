#pragma once
// Sequential reading of a file that may be gzip-compressed, and gzip compression: the byte layer
// under the IDX reader and read_file_bytes / write_file_bytes (private to io/).

#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "regula/error.hpp"

namespace regula::io {

/// The system's text for errno value `err`.
std::string errno_text(int err);

// RAII for FILE*: every early throw below must close the handle.
struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

FilePtr open_for_reading(const std::string& path);

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
    uint64_t size = std::filesystem::is_regular_file(path_, ec) ? std::filesystem::file_size(path_, ec) : 0;
    if (ec || !std::filesystem::is_regular_file(path_, ec)) return std::nullopt;
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

/// `bytes` as one gzip member; `path` names the file in errors.
std::vector<uint8_t> gzip_compress(std::span<const uint8_t> bytes, const std::string& path);

}  // namespace regula::io
