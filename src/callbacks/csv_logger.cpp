#include "regula/callbacks/csv_logger.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "regula/callbacks/monitor.hpp"
#include "regula/error.hpp"

namespace regula::callbacks {

CSVLogger::CSVLogger(std::string filename, CSVLoggerOptions options)
    : filename_(std::move(filename)), options_(std::move(options)) {
  if (filename_.empty()) throw ValueError("CSVLogger: filename='' is not allowed; allowed: a file path");
  if (options_.separator.empty())
    throw ValueError("CSVLogger: separator='' is not allowed; allowed: a non-empty string such as ','");
}

CSVLogger::~CSVLogger() { close(); }

void CSVLogger::close() {
  if (file_ != nullptr) std::fclose(file_);
  file_ = nullptr;
}

void CSVLogger::on_train_begin(Logs&) {
  append_header_ = true;
  if (options_.append) {
    // Keras writes the header unless the file already starts with a (non-empty) first line.
    if (std::FILE* existing = std::fopen(filename_.c_str(), "rb")) {
      append_header_ = std::fgetc(existing) == EOF;
      std::fclose(existing);
    }
  }
  close();
  file_ = std::fopen(filename_.c_str(), options_.append ? "ab" : "wb");
  if (file_ == nullptr)
    throw IOError("CSVLogger: cannot open '" + filename_ + "' for writing: " + std::strerror(errno));
  // Columns are fixed again by the first epoch of each fit, as Keras resets its writer.
  has_keys_ = false;
  keys_.clear();
}

std::string CSVLogger::field(const std::string& text) const {
  // csv QUOTE_MINIMAL: quote only what would otherwise be misread, doubling inner quotes.
  const bool needs_quotes =
      text.find(options_.separator) != std::string::npos || text.find_first_of("\"\r\n") != std::string::npos;
  if (!needs_quotes) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void CSVLogger::write_row(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) line += (i ? options_.separator : std::string()) + field(fields[i]);
  line += "\r\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
    throw IOError("CSVLogger: cannot write to '" + filename_ + "': " + std::strerror(errno));
}

void CSVLogger::on_epoch_end(int epoch, Logs& logs) {
  if (file_ == nullptr)
    throw StateError("CSVLogger: on_epoch_end before on_train_begin (the file '" + filename_ + "' is not open)");
  if (!has_keys_) {
    for (const auto& entry : logs) keys_.push_back(entry.first);
    std::sort(keys_.begin(), keys_.end());
    has_keys_ = true;
    if (append_header_) {
      std::vector<std::string> header = {"epoch"};
      header.insert(header.end(), keys_.begin(), keys_.end());
      write_row(header);
    }
  }
  std::vector<std::string> row = {std::to_string(epoch)};
  for (const std::string& key : keys_) {
    const std::optional<double> v = logs.get(key);
    row.push_back(v ? python_float(*v) : "NA");
  }
  write_row(row);
}

void CSVLogger::on_train_end(Logs&) { close(); }

SavedState CSVLogger::state() const {
  SavedState s;
  std::string content;
  if (file_ != nullptr) {
    std::FILE* in = std::fopen(filename_.c_str(), "rb");
    if (in == nullptr) throw IOError("CSVLogger: cannot read back '" + filename_ + "': " + std::strerror(errno));
    char buffer[4096];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, in)) > 0;) content.append(buffer, n);
    std::fclose(in);
  }
  s.texts["content"] = content;
  std::string keys;
  for (const std::string& key : keys_) keys += key + "\n";
  s.texts["keys"] = keys;
  s.numbers["has_keys"] = has_keys_ ? 1.0 : 0.0;
  s.numbers["append_header"] = append_header_ ? 1.0 : 0.0;
  return s;
}

void CSVLogger::set_state(const SavedState& s) {
  constexpr const char* kOwner = "CSVLogger::set_state";
  const std::string& content = s.text(kOwner, "content");
  const std::string& keys = s.text(kOwner, "keys");
  const bool has_keys = s.number(kOwner, "has_keys") != 0.0;
  const bool append_header = s.number(kOwner, "append_header") != 0.0;
  close();
  file_ = std::fopen(filename_.c_str(), "wb");
  if (file_ == nullptr || std::fwrite(content.data(), 1, content.size(), file_) != content.size() || std::fflush(file_) != 0)
    throw IOError("CSVLogger: cannot write '" + filename_ + "' again as it was at the backup: " + std::strerror(errno));
  keys_.clear();
  for (size_t begin = 0, end; (end = keys.find('\n', begin)) != std::string::npos; begin = end + 1)
    keys_.push_back(keys.substr(begin, end - begin));
  has_keys_ = has_keys;
  append_header_ = append_header;
}

}  // namespace regula::callbacks
