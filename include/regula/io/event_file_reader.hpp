#pragma once
/// @file
/// Reading TensorBoard event files back (what regula/io/event_file_writer.hpp writes, and the
/// scalar, histogram and string-tensor summaries TensorFlow writes): the records with every
/// checksum verified, and the `Event`s decoded into plain structs, so programs and tests can
/// inspect a run without protocol buffers.
///
/// ```cpp
/// for (const io::EventRecord& e : io::read_event_file(path))
///   for (const io::SummaryValue& v : e.values)
///     if (v.tag == "epoch_loss") std::printf("%lld %g\n", (long long)e.step, v.numbers.at(0));
/// ```

#include <cstdint>
#include <string>
#include <vector>

namespace regula::io {

/// The data of every TFRecord in the file at `path`, in order. Throws IOError naming the file,
/// the record's index and byte offset when the file is missing, ends inside a record, or a
/// length or data checksum does not match.
std::vector<std::string> read_tfrecords(const std::string& path);

/// One value of an event's summary.
struct SummaryValue {
  std::string tag;
  /// The metadata's plugin name ("scalars", "histograms", "graph_keras_model"; empty when the
  /// value carries no metadata) and content.
  std::string plugin_name;
  std::string plugin_content;
  /// The metadata's DataClass: 0 unknown, 1 scalar, 2 tensor, 3 blob sequence.
  int data_class = 0;
  /// TensorFlow's DataType of the tensor (1 DT_FLOAT, 2 DT_DOUBLE, 7 DT_STRING), 0 for a
  /// `simple_value`.
  int dtype = 0;
  /// The tensor's shape (empty for a scalar or a `simple_value`).
  std::vector<int64_t> shape;
  /// Numeric values in row-major order: a float or double tensor (from `tensor_content` or the
  /// typed fields), or the one `simple_value`.
  std::vector<double> numbers;
  /// The values of a DT_STRING tensor.
  std::vector<std::string> strings;
};

/// One decoded `Event`.
struct EventRecord {
  double wall_time = 0.0;
  int64_t step = 0;
  /// "brain.Event:2" on a file's first event, empty otherwise.
  std::string file_version;
  std::vector<SummaryValue> values;
};

/// Every event of the file at `path`, decoded. Throws IOError as `read_tfrecords` does, and when
/// a record is not an `Event` or a tensor's content does not match its dtype and shape.
std::vector<EventRecord> read_event_file(const std::string& path);

/// The event files (`events.out.tfevents.*`) directly in `dir`, sorted by name (TensorBoard's
/// order: by creation time, then host, pid and writer number). None when `dir` does not exist.
std::vector<std::string> list_event_files(const std::string& dir);

}  // namespace regula::io
