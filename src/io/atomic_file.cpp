#include "regula/io/atomic_file.hpp"

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "regula/error.hpp"

namespace regula::io {

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw IOError(fmt::format("cannot write '{}' (opening '{}' failed)", path, tmp));
    out << text;
    out.flush();
    if (!out) throw IOError(fmt::format("cannot write '{}' (writing '{}' failed)", path, tmp));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw IOError(fmt::format("cannot write '{}': renaming '{}' over it failed: {}", path, tmp, ec.message()));
}

}  // namespace regula::io
