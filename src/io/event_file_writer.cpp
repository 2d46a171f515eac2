#include "regula/io/event_file_writer.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "regula/error.hpp"
#include "regula/io/crc32c.hpp"
#include "tensorboard/event.pb.h"

namespace regula::io {
namespace {

namespace pb = regula::tensorboard;

void put_le(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFFu));
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

/// The raw little-endian bytes of `values` (TensorFlow's `tensor_content`).
template <class T>
std::string raw_bytes(const T* values, size_t count) {
  static_assert(std::numeric_limits<T>::is_iec559, "IEEE floating point expected");
  std::string out(count * sizeof(T), '\0');
  if (count > 0) std::memcpy(out.data(), values, out.size());  // x86-64 and AArch64 are little-endian
  return out;
}

/// An Event with one summary value tagged `tag` whose metadata names `plugin_name`.
pb::Event summary_event(const std::string& tag, int64_t step, const std::string& plugin_name,
                        const std::string& plugin_content, pb::DataClass data_class, pb::Summary::Value*& value) {
  pb::Event event;
  event.set_wall_time(now_seconds());
  event.set_step(step);
  value = event.mutable_summary()->add_value();
  value->set_tag(tag);
  pb::SummaryMetadata* metadata = value->mutable_metadata();
  metadata->mutable_plugin_data()->set_plugin_name(plugin_name);
  metadata->mutable_plugin_data()->set_content(plugin_content);
  metadata->set_data_class(data_class);
  return event;
}

}  // namespace

std::string tfrecord_frame(std::string_view data) {
  std::string out;
  out.reserve(data.size() + 16);
  put_le(out, data.size(), 8);
  put_le(out, masked_crc32c(out), 4);
  out.append(data);
  put_le(out, masked_crc32c(data), 4);
  return out;
}

std::vector<HistogramBucket> histogram_buckets(const float* values, size_t count, int bucket_count) {
  if (bucket_count < 1)
    throw ValueError("histogram_buckets: bucket_count=" + std::to_string(bucket_count) +
                     " is not allowed; allowed: >= 1");
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  size_t finite = 0;
  for (size_t i = 0; i < count; ++i) {
    if (!std::isfinite(values[i])) continue;
    lo = std::min(lo, static_cast<double>(values[i]));
    hi = std::max(hi, static_cast<double>(values[i]));
    ++finite;
  }
  if (finite == 0) return {};
  if (hi == lo) return {{lo - 0.5, lo + 0.5, static_cast<double>(finite)}};
  const double range = hi - lo;
  const double width = range / bucket_count;
  std::vector<HistogramBucket> buckets(static_cast<size_t>(bucket_count));
  for (size_t i = 0; i < count; ++i) {
    if (!std::isfinite(values[i])) continue;
    const double index = std::floor((static_cast<double>(values[i]) - lo) / width);
    buckets[static_cast<size_t>(std::min(index, static_cast<double>(bucket_count - 1)))].count += 1.0;
  }
  // Edges as numpy's linspace(min, max, k + 1), the last one max exactly.
  for (int k = 0; k < bucket_count; ++k) {
    buckets[static_cast<size_t>(k)].left = lo + range * k / bucket_count;
    buckets[static_cast<size_t>(k)].right = k + 1 == bucket_count ? hi : lo + range * (k + 1) / bucket_count;
  }
  return buckets;
}

EventFileWriter::EventFileWriter(std::string log_dir) : log_dir_(std::move(log_dir)) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(log_dir_, ec);
  if (ec || !fs::is_directory(log_dir_))
    throw IOError("cannot create the TensorBoard log directory '" + log_dir_ +
                  "': " + (ec ? ec.message() : std::string("it exists and is not a directory")));
  static std::atomic<int> files_opened{0};
  const long long seconds = static_cast<long long>(now_seconds());
  const std::string name = "events.out.tfevents." + std::to_string(seconds) + "." + host_name() + "." +
                           std::to_string(::getpid()) + "." + std::to_string(files_opened++) + ".v2";
  path_ = (fs::path(log_dir_) / name).string();
  file_ = std::fopen(path_.c_str(), "wbx");  // "x": never overwrite another writer's file
  if (file_ == nullptr)
    throw IOError("cannot create the TensorBoard event file '" + path_ + "': " + std::strerror(errno));
  pb::Event first;
  first.set_wall_time(now_seconds());
  first.set_file_version("brain.Event:2");
  first.mutable_source_metadata()->set_writer("regula");
  write_event(first.SerializeAsString());
  flush();
}

EventFileWriter EventFileWriter::continue_file(const std::string& path, uint64_t length) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) throw IOError("cannot continue the TensorBoard event file '" + path + "': " + ec.message());
  if (size < length)
    throw IOError("cannot continue the TensorBoard event file '" + path + "': it holds " + std::to_string(size) +
                  " bytes, fewer than the " + std::to_string(length) + " written before the backup");
  fs::resize_file(path, length, ec);
  if (ec) throw IOError("cannot continue the TensorBoard event file '" + path + "': " + ec.message());
  EventFileWriter writer;
  writer.log_dir_ = fs::path(path).parent_path().string();
  writer.path_ = path;
  writer.file_ = std::fopen(path.c_str(), "ab");
  if (writer.file_ == nullptr || std::fseek(writer.file_, 0, SEEK_END) != 0)
    throw IOError("cannot continue the TensorBoard event file '" + path + "': " + std::strerror(errno));
  return writer;
}

EventFileWriter::EventFileWriter(EventFileWriter&& other) noexcept
    : log_dir_(std::move(other.log_dir_)), path_(std::move(other.path_)), file_(other.file_) {
  other.file_ = nullptr;
}

uint64_t EventFileWriter::flushed_length() {
  flush();
  if (file_ == nullptr) return 0;
  const long at = std::ftell(file_);
  if (at < 0) throw IOError("cannot tell the length of the TensorBoard event file '" + path_ + "': " + std::strerror(errno));
  return static_cast<uint64_t>(at);
}

EventFileWriter::~EventFileWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void EventFileWriter::write_event(std::string_view serialized_event) {
  if (file_ == nullptr) throw StateError("EventFileWriter: '" + path_ + "' is closed");
  const std::string record = tfrecord_frame(serialized_event);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size())
    throw IOError("cannot write to the TensorBoard event file '" + path_ + "': " + std::strerror(errno));
}

void EventFileWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  pb::Summary::Value* v = nullptr;
  pb::Event event = summary_event(tag, step, "scalars", "", pb::DATA_CLASS_SCALAR, v);
  pb::TensorProto* tensor = v->mutable_tensor();
  tensor->set_dtype(pb::DT_FLOAT);
  tensor->mutable_tensor_shape();  // rank 0: present, with no dimension
  const float f = static_cast<float>(value);
  tensor->set_tensor_content(raw_bytes(&f, 1));
  write_event(event.SerializeAsString());
}

void EventFileWriter::add_histogram(const std::string& tag, const float* values, size_t count, int64_t step,
                                    int bucket_count) {
  const std::vector<HistogramBucket> buckets = histogram_buckets(values, count, bucket_count);
  std::vector<double> rows;
  rows.reserve(buckets.size() * 3);
  for (const HistogramBucket& b : buckets) rows.insert(rows.end(), {b.left, b.right, b.count});
  pb::Summary::Value* v = nullptr;
  pb::Event event = summary_event(tag, step, "histograms", "", pb::DATA_CLASS_TENSOR, v);
  pb::TensorProto* tensor = v->mutable_tensor();
  tensor->set_dtype(pb::DT_DOUBLE);
  tensor->mutable_tensor_shape()->add_dim()->set_size(static_cast<int64_t>(buckets.size()));
  tensor->mutable_tensor_shape()->add_dim()->set_size(3);
  tensor->set_tensor_content(raw_bytes(rows.data(), rows.size()));
  write_event(event.SerializeAsString());
}

void EventFileWriter::add_string_tensor(const std::string& tag, const std::string& text, int64_t step,
                                        const std::string& plugin_name, const std::string& plugin_content) {
  pb::Summary::Value* v = nullptr;
  pb::Event event = summary_event(tag, step, plugin_name, plugin_content, pb::DATA_CLASS_UNKNOWN, v);
  pb::TensorProto* tensor = v->mutable_tensor();
  tensor->set_dtype(pb::DT_STRING);
  tensor->mutable_tensor_shape();
  tensor->add_string_val(text);
  write_event(event.SerializeAsString());
}

void EventFileWriter::flush() {
  if (file_ != nullptr && std::fflush(file_) != 0)
    throw IOError("cannot write to the TensorBoard event file '" + path_ + "': " + std::strerror(errno));
}

void EventFileWriter::close() {
  if (file_ == nullptr) return;
  std::FILE* file = file_;
  file_ = nullptr;
  const bool flushed = std::fflush(file) == 0;
  const int flush_errno = errno;
  const bool closed = std::fclose(file) == 0;
  if (!flushed || !closed)
    throw IOError("cannot write to the TensorBoard event file '" + path_ +
                  "': " + std::strerror(flushed ? errno : flush_errno));
}

}  // namespace regula::io
