#pragma once
/// @file
/// TensorBoard event files: TFRecord framing and a writer of `Event` records, the files that
/// `tf.summary.create_file_writer(log_dir)` writes and `tensorboard --logdir` reads.
///
/// A file is a sequence of TFRecords, each
/// ```
/// uint64 length (little-endian) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
/// ```
/// whose data is a serialized `Event` protocol buffer (TensorFlow's event.proto field numbers;
/// regula's copies of the messages are in proto/tensorboard/). The first record of a file is
/// `Event{wall_time, file_version: "brain.Event:2"}`; the others carry a `Summary` with one
/// value each, written as TensorFlow 2's `tf.summary` writes them:
/// - scalars: a rank-0 DT_FLOAT tensor (in `tensor_content`), metadata plugin "scalars",
///   data class SCALAR. A NaN or infinite value is written as it is (TensorBoard shows a gap).
/// - histograms: a DT_DOUBLE tensor of shape [k, 3], row i = (left edge, right edge, count),
///   metadata plugin "histograms", data class TENSOR; see `histogram_buckets`.
/// - string tensors: a rank-0 DT_STRING tensor with the plugin name and content given (Keras
///   writes the model's JSON this way, plugin "graph_keras_model", content "1").
/// Every value carries its metadata (TensorFlow's writers keep it on the first value of a tag
/// only; readers take the first they see, so repeating it is harmless).
///
/// Files are named `events.out.tfevents.<seconds>.<hostname>.<pid>.<n>.v2`, as TensorFlow 2's
/// writers name them (n counts the writers this process opened, so two writers opened in the
/// same second get two files). Records are buffered; `flush` pushes them to the file.
/// Reading them back: regula/io/event_file_reader.hpp.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace regula::io {

/// The TFRecord of `data`: length, masked CRC-32C of the length, data, masked CRC-32C of data.
std::string tfrecord_frame(std::string_view data);

/// One histogram bucket of TensorBoard's tensor histogram format.
struct HistogramBucket {
  double left = 0.0;
  double right = 0.0;
  double count = 0.0;
};

/// TensorBoard's histogram of `values` (tensorboard/plugins/histogram/summary_v2.py): no bucket
/// for no values; one bucket [v − 0.5, v + 0.5] holding every value when they are all equal to
/// v; otherwise `bucket_count` buckets of equal width from min to max (the last right edge is
/// max exactly), a value going to bucket floor((v − min) / width), capped at the last. NaN and
/// infinite values are left out (they have no place on a finite axis); with nothing else there is
/// no bucket. Throws ValueError for bucket_count < 1.
std::vector<HistogramBucket> histogram_buckets(const float* values, size_t count, int bucket_count = 30);

class EventFileWriter {
 public:
  /// Creates `log_dir` (with its parents) when missing, opens a new event file in it and writes
  /// the `file_version` record. Throws IOError naming the directory or file and the system's
  /// reason when either cannot be created.
  explicit EventFileWriter(std::string log_dir);
  /// Continues the event file `path` written earlier (a resumed fit): the file is cut back to
  /// its first `length` bytes (what was written up to a backup) and later records follow them.
  /// Throws IOError naming the file when it is missing, shorter than `length` or not writable.
  static EventFileWriter continue_file(const std::string& path, uint64_t length);
  EventFileWriter(EventFileWriter&& other) noexcept;
  /// Flushes and closes (errors at this point are not reported; call `close` to see them).
  ~EventFileWriter();
  EventFileWriter(const EventFileWriter&) = delete;
  EventFileWriter& operator=(const EventFileWriter&) = delete;

  const std::string& log_dir() const { return log_dir_; }
  /// The event file's path.
  const std::string& path() const { return path_; }

  /// `tf.summary.scalar(tag, value, step)`: `value` is stored as float32.
  void add_scalar(const std::string& tag, double value, int64_t step);
  /// `tf.summary.histogram(tag, values, step, buckets = bucket_count)`.
  void add_histogram(const std::string& tag, const float* values, size_t count, int64_t step, int bucket_count = 30);
  /// `tf.summary.write(tag, tensor = text, step, metadata)` for a rank-0 string tensor with the
  /// metadata's plugin name and content.
  void add_string_tensor(const std::string& tag, const std::string& text, int64_t step, const std::string& plugin_name,
                         const std::string& plugin_content);
  /// Writes one serialized `Event` as a record (the other `add_*` build it for you).
  void write_event(std::string_view serialized_event);

  /// Pushes the buffered records to the file; throws IOError when the file cannot be written.
  void flush();
  /// The bytes in the file after a `flush`.
  uint64_t flushed_length();
  /// Flushes and closes the file; later writes throw StateError. Throws IOError on a write error.
  void close();
  bool is_open() const { return file_ != nullptr; }

 private:
  EventFileWriter() = default;
  std::string log_dir_;
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace regula::io
