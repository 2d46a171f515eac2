#include "regula/io/atomic_file.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "regula/error.hpp"

namespace regula::io {

void write_atomically(const std::string& path, const std::function<void(const std::string& temporary_path)>& write) {
  static std::atomic<uint64_t> counter{0};
  const std::string tmp = fmt::format("{}.tmp-{}-{}", path, ::getpid(), counter++);
  std::error_code ec;
  try {
    write(tmp);
  } catch (...) {
    std::filesystem::remove(tmp, ec);
    throw;
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    const std::string reason = ec.message();
    std::filesystem::remove(tmp, ec);
    throw IOError(fmt::format("cannot write '{}': renaming the temporary file '{}' over it failed: {}", path, tmp, reason));
  }
}

void write_file_atomically(const std::string& path, std::span<const uint8_t> bytes) {
  write_atomically(path, [&](const std::string& tmp) {
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (f == nullptr) throw IOError(fmt::format("cannot write '{}': cannot create '{}': {}", path, tmp, std::generic_category().message(errno)));
    bool ok = bytes.empty() || std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    int err = errno;
    if (std::fclose(f) != 0 && ok) {
      ok = false;
      err = errno;
    }
    if (!ok) throw IOError(fmt::format("cannot write '{}': {}", path, std::generic_category().message(err)));
  });
}

void write_file_atomically(const std::string& path, const std::string& text) {
  write_file_atomically(path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

}  // namespace regula::io
