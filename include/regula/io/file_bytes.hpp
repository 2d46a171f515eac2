#pragma once
/// @file
/// Whole files as bytes: reading them (gzip-compressed or not) and writing them so that an
/// interruption never leaves one half-written. Every file regula writes whole (model files,
/// training states, IDX files, results and reports) goes through here.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace regula::io {

/// Calls `write(temporary_path)`, which must create and fill a file at that path, then renames
/// it over `path`, so that a reader (or a run killed mid-write) sees either the old or the new
/// file. The temporary file is "<path>.tmp-<pid>-<n>" (unique per process and call) in the same
/// folder. When `write` throws or the rename fails, the temporary file is removed, `path` is
/// left as it was, and the error (IOError naming `path` for the rename) propagates.
/// With `previous` set, a `path` already there is first renamed to `previous` (replacing it), so
/// that the file before this one is kept: at every moment `path` or `previous` holds a whole file.
void write_atomically(const std::string& path, const std::function<void(const std::string& temporary_path)>& write,
                      const std::string& previous = "");

/// Removes the temporary files ("<name>.tmp-<pid>-<n>") that processes which no longer run left in
/// `directory` (killed while writing); those of live processes stay. Returns how many were removed.
/// A missing directory has none.
int remove_stale_temporaries(const std::string& directory);

/// Writes `bytes` to `path` atomically. Throws IOError naming the path and the system's reason
/// on failure (e.g. its folder does not exist or is not writable, or the disk is full).
void write_file_atomically(const std::string& path, std::span<const uint8_t> bytes);
/// Writes `text` to `path` atomically (as the bytes above).
void write_file_atomically(const std::string& path, const std::string& text);

/// Reads a whole file, decompressing it when it starts with the gzip magic `0x1f 0x8b`
/// (concatenated gzip members are joined, as `gzip -d` does). Throws `IOError` naming the file
/// for a missing/unreadable file, a corrupt or truncated gzip stream or bytes after it.
std::vector<uint8_t> read_file_bytes(const std::string& path);

/// Writes `bytes` to `path`, gzip-compressed when `gzip` is true; atomic (temporary file, then
/// rename). Throws `IOError` naming the file.
void write_file_bytes(const std::string& path, std::span<const uint8_t> bytes, bool gzip = false);

}  // namespace regula::io
