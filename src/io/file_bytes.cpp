#include "regula/io/file_bytes.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <system_error>

#include <fmt/format.h>

#include "regula/error.hpp"
#include "src/io/byte_reader.hpp"

namespace regula::io {

void write_atomically(const std::string& path, const std::function<void(const std::string& temporary_path)>& write,
                      const std::string& previous) {
  static std::atomic<uint64_t> counter{0};
  const std::string tmp = fmt::format("{}.tmp-{}-{}", path, ::getpid(), counter++);
  std::error_code ec;
  try {
    write(tmp);
  } catch (...) {
    std::filesystem::remove(tmp, ec);
    throw;
  }
  bool kept_previous = false;
  if (!previous.empty() && std::filesystem::exists(path, ec)) {
    std::filesystem::rename(path, previous, ec);
    if (ec) {
      const std::string reason = ec.message();
      std::filesystem::remove(tmp, ec);
      throw IOError(fmt::format("cannot write '{}': keeping the file before it as '{}' failed: {}", path, previous, reason));
    }
    kept_previous = true;
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    const std::string reason = ec.message();
    std::filesystem::remove(tmp, ec);
    if (kept_previous) std::filesystem::rename(previous, path, ec);  // `path` as it was
    throw IOError(fmt::format("cannot write '{}': renaming the temporary file '{}' over it failed: {}", path, tmp, reason));
  }
}

int remove_stale_temporaries(const std::string& directory) {
  std::error_code ec;
  std::filesystem::directory_iterator it(directory, ec);
  if (ec) return 0;
  int removed = 0;
  for (const std::filesystem::directory_entry& entry : it) {
    const std::string name = entry.path().filename().string();
    // "<name>.tmp-<pid>-<n>": the pid and the counter are decimal digits.
    const size_t mark = name.rfind(".tmp-");
    if (mark == std::string::npos) continue;
    const std::string rest = name.substr(mark + 5);
    const size_t dash = rest.find('-');
    const auto digits = [](const std::string& t) {
      return !t.empty() && t.size() <= 10 && t.find_first_not_of("0123456789") == std::string::npos;
    };
    if (dash == std::string::npos || !digits(rest.substr(0, dash)) || !digits(rest.substr(dash + 1))) continue;
    const long pid = std::stol(rest.substr(0, dash));
    if (pid <= 0 || pid > std::numeric_limits<pid_t>::max()) continue;
    const bool alive = ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
    if (alive || !entry.is_regular_file(ec)) continue;
    if (std::filesystem::remove(entry.path(), ec)) ++removed;
  }
  return removed;
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

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  ByteReader r(path);
  std::vector<uint8_t> out;
  size_t have = 0;
  for (;;) {
    size_t step = std::max<size_t>(size_t{1} << 20, have);
    out.resize(have + step);
    size_t got = r.read(out.data() + have, step);
    have += got;
    if (got < step) break;
  }
  out.resize(have);
  return out;
}

void write_file_bytes(const std::string& path, std::span<const uint8_t> bytes, bool gzip) {
  if (!gzip) {
    write_file_atomically(path, bytes);
    return;
  }
  if (bytes.size() > std::numeric_limits<uInt>::max() / 2)
    throw ValueError("write_file_bytes('" + path + "'): " + std::to_string(bytes.size()) +
                     " bytes is more than one gzip call here compresses (2 GiB)");
  write_file_atomically(path, gzip_compress(bytes, path));
}

}  // namespace regula::io
