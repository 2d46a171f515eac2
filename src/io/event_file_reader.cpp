#include "regula/io/event_file_reader.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "regula/error.hpp"
#include "regula/io/crc32c.hpp"
#include "tensorboard/event.pb.h"

namespace regula::io {
namespace {

namespace pb = regula::tensorboard;

uint64_t get_le(const std::string& bytes, size_t offset, int count) {
  uint64_t value = 0;
  for (int i = 0; i < count; ++i) value |= uint64_t(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
  return value;
}

template <class T>
void append_raw(const std::string& raw, std::vector<double>& out, const std::string& where) {
  if (raw.size() % sizeof(T) != 0)
    throw IOError(where + ": tensor_content has " + std::to_string(raw.size()) + " bytes, not a multiple of " +
                  std::to_string(sizeof(T)));
  for (size_t i = 0; i < raw.size(); i += sizeof(T)) {
    T v;
    std::memcpy(&v, raw.data() + i, sizeof(T));
    out.push_back(static_cast<double>(v));
  }
}

SummaryValue decode_value(const pb::Summary::Value& v, const std::string& where) {
  SummaryValue out;
  out.tag = v.tag();
  if (v.has_metadata()) {
    out.plugin_name = v.metadata().plugin_data().plugin_name();
    out.plugin_content = v.metadata().plugin_data().content();
    out.data_class = static_cast<int>(v.metadata().data_class());
  }
  const std::string at = where + ", tag '" + v.tag() + "'";
  if (v.has_simple_value()) {
    out.numbers.push_back(v.simple_value());
  } else if (v.has_tensor()) {
    const pb::TensorProto& t = v.tensor();
    out.dtype = static_cast<int>(t.dtype());
    int64_t elements = 1;
    for (const auto& dim : t.tensor_shape().dim()) {
      out.shape.push_back(dim.size());
      elements *= dim.size();
    }
    if (t.dtype() == pb::DT_FLOAT) {
      append_raw<float>(t.tensor_content(), out.numbers, at);
      out.numbers.insert(out.numbers.end(), t.float_val().begin(), t.float_val().end());
    } else if (t.dtype() == pb::DT_DOUBLE) {
      append_raw<double>(t.tensor_content(), out.numbers, at);
      out.numbers.insert(out.numbers.end(), t.double_val().begin(), t.double_val().end());
    } else if (t.dtype() == pb::DT_STRING) {
      out.strings.assign(t.string_val().begin(), t.string_val().end());
    }
    const size_t found = out.numbers.size() + out.strings.size();
    // TensorFlow's typed fields may hold one value that fills the whole shape.
    if ((t.dtype() == pb::DT_FLOAT || t.dtype() == pb::DT_DOUBLE || t.dtype() == pb::DT_STRING) &&
        static_cast<int64_t>(found) != elements && !(found == 1 && t.tensor_content().empty()))
      throw IOError(at + ": the tensor holds " + std::to_string(found) + " values, its shape " +
                    std::to_string(elements));
  }
  return out;
}

}  // namespace

std::vector<std::string> read_tfrecords(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IOError("cannot open the event file '" + path + "'");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> records;
  size_t offset = 0;
  while (offset < bytes.size()) {
    const std::string where =
        path + ": record " + std::to_string(records.size()) + " at byte " + std::to_string(offset);
    if (bytes.size() - offset < 12) throw IOError(where + ": the file ends inside the record's header");
    const uint64_t length = get_le(bytes, offset, 8);
    const auto length_crc = static_cast<uint32_t>(get_le(bytes, offset + 8, 4));
    if (length_crc != masked_crc32c(std::string_view(bytes).substr(offset, 8)))
      throw IOError(where + ": the length's checksum does not match (a damaged file)");
    const size_t after_header = bytes.size() - offset - 12;
    if (after_header < 4 || length > after_header - 4)
      throw IOError(where + ": the file ends inside the record's " + std::to_string(length) + " bytes of data");
    const std::string_view data = std::string_view(bytes).substr(offset + 12, length);
    const auto data_crc = static_cast<uint32_t>(get_le(bytes, offset + 12 + length, 4));
    if (data_crc != masked_crc32c(data)) throw IOError(where + ": the data's checksum does not match (a damaged file)");
    records.emplace_back(data);
    offset += 12 + length + 4;
  }
  return records;
}

std::vector<EventRecord> read_event_file(const std::string& path) {
  std::vector<EventRecord> events;
  const std::vector<std::string> records = read_tfrecords(path);
  for (size_t i = 0; i < records.size(); ++i) {
    const std::string where = path + ": record " + std::to_string(i);
    pb::Event event;
    if (!event.ParseFromString(records[i])) throw IOError(where + ": not an Event protocol buffer");
    EventRecord out;
    out.wall_time = event.wall_time();
    out.step = event.step();
    if (event.has_file_version()) out.file_version = event.file_version();
    if (event.has_summary())
      for (const pb::Summary::Value& v : event.summary().value()) out.values.push_back(decode_value(v, where));
    events.push_back(std::move(out));
  }
  return events;
}

std::vector<std::string> list_event_files(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return files;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec))
    if (entry.is_regular_file() && entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0)
      files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace regula::io
