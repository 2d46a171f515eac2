#pragma once
/// @file
/// Writing a file so that an interruption never leaves it half-written.

#include <string>

namespace regula::io {

/// Writes `text` to `path` through "<path>.tmp" renamed over it, so that a reader (or a run
/// killed mid-write) sees either the old or the new file. Throws IOError naming the path on
/// failure (e.g. its folder does not exist or is not writable).
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace regula::io
