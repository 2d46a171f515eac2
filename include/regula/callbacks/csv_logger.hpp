#pragma once
/// @file
/// CSVLogger (Keras `keras.callbacks.CSVLogger`): streams each epoch's logs to a CSV file.
///
/// Keras rules:
/// - at train begin the file is opened, truncated (append=false) or appended to (append=true);
///   in append mode the header is written only when the file is absent or its first line empty.
///   A file that cannot be opened is an IOError naming it.
/// - at the first epoch end the columns are fixed: `epoch` then the log names sorted (byte order,
///   as Python's `sorted`); later epochs write a value for each of those columns, `NA` for one
///   missing from their logs; names that appear later are not added.
/// - values are written as Python's `str(float)` ("0.5", "1e-05"), fields containing the
///   separator, a quote or a line break are quoted (csv QUOTE_MINIMAL), rows end with "\r\n"
///   (Python's csv "excel" dialect), and each row is flushed.
/// - the file is closed at train end.
/// Beyond Keras, a fit resumed from a backup (BackupAndRestore) continues the file as it was at
/// the backup (`state` holds its content), so rows written after the backup are not repeated.
/// Not done: Keras also adds the model's expected `val_` metric names to the columns when they are
/// missing from the first epoch's logs; regula's Model does not list them.

#include <cstdio>
#include <string>
#include <vector>

#include "regula/model/callback.hpp"

namespace regula::callbacks {

/// Options after the filename, in Keras's order and with its defaults.
struct CSVLoggerOptions {
  std::string separator = ",";
  bool append = false;
};

class CSVLogger final : public Callback {
 public:
  /// Throws ValueError for an empty filename or separator.
  explicit CSVLogger(std::string filename, CSVLoggerOptions options = {});
  ~CSVLogger() override;
  CSVLogger(const CSVLogger&) = delete;
  CSVLogger& operator=(const CSVLogger&) = delete;

  const std::string& filename() const { return filename_; }

  void on_train_begin(Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(Logs& logs) override;
  /// Resuming: the file's content so far and the columns.
  SavedState state() const override;
  void set_state(const SavedState& state) override;

 private:
  void close();
  std::string field(const std::string& text) const;
  void write_row(const std::vector<std::string>& fields);

  std::string filename_;
  CSVLoggerOptions options_;
  std::FILE* file_ = nullptr;
  bool append_header_ = true;
  bool has_keys_ = false;
  std::vector<std::string> keys_;
};

}  // namespace regula::callbacks
