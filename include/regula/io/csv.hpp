#pragma once
/// @file
/// Numeric CSV tables: reading a table of numbers into a float32 tensor (as
/// `pandas.read_csv(path).to_numpy("float32")` for an all-numeric file), writing one, and
/// splitting a label column off for training (the usual `df.pop("label")` step of Keras's
/// structured-data tutorials).
///
/// Format (RFC 4180): records separated by LF or CRLF; fields separated by the delimiter; a field
/// may be enclosed in double quotes, inside which delimiters and line breaks are literal and
/// `""` is one quote. A UTF-8 byte-order mark at the start is ignored, and so are blank lines.
/// Cells are numbers as C++'s `from_chars` (and Python's `float`) read them: an optional sign,
/// decimal or exponent notation, `nan`, `inf`; spaces around a number are ignored. Values are
/// parsed as double and rounded to float32. A gzip-compressed file is decompressed (detected
/// from its content), as pandas does for `.gz` files.
///
/// Errors (`IOError`, naming the file, the line and, for a cell, the column number and name): a
/// missing file, an empty file, a cell that is not a number (an empty cell included — pandas
/// would read NaN), a row with a different number of fields than the header (or the first row),
/// an unterminated quoted field. Bad arguments throw `ValueError`.
///
/// Differences from pandas: every cell must be numeric (no type inference, no missing values,
/// no index column), and there is no quoting/escaping option other than RFC 4180's.

#include <string>
#include <vector>

#include "regula/tensor/tensor.hpp"

namespace regula::io {

/// Options of `read_csv`.
struct CsvOptions {
  /// Field separator (',' by default; e.g. ';' or '\t'). Must not be '"', '\r' or '\n'.
  char delimiter = ',';
  /// The first record holds the column names; without it columns are named "0", "1", ...
  /// as pandas names them with `header=None`.
  bool header = true;
};

/// A numeric table.
struct CsvTable {
  /// One name per column.
  std::vector<std::string> column_names;
  /// (rows, columns) float32 values, in file order.
  Tensor values;
};

/// Reads a CSV file of numbers. Throws `IOError` naming the file, line and column of the first
/// problem (see the file comment), `ValueError` for a bad delimiter.
CsvTable read_csv(const std::string& path, const CsvOptions& options = {});

/// Writes a (rows, columns) tensor as CSV, each value in the shortest form that reads back to
/// the same float, with a header line of `column_names` when they are given (quoted where
/// needed). Throws `ShapeError` for a tensor that is not rank 2, `ValueError` when the number of
/// names differs from the number of columns or the delimiter is invalid, `IOError` naming the
/// file when it cannot be written. The write is atomic.
void write_csv(const std::string& path, const Tensor& values, const std::vector<std::string>& column_names = {},
               char delimiter = ',');

/// Options of `load_csv_dataset`.
struct CsvDatasetOptions {
  /// Name of the column holding the targets.
  std::string label_column = "label";
  /// Field separator.
  char delimiter = ',';
};

/// Features and targets.
struct XY {
  /// (rows, columns − 1): every column but the label column, in file order.
  Tensor x;
  /// (rows): the label column.
  Tensor y;
};

/// Reads a CSV file with a header (as `read_csv`) and splits the label column off as y. Throws
/// `IOError` as `read_csv`, and `ValueError` listing the file's columns when there is no column
/// named `label_column` (or no other column to use as features).
XY load_csv_dataset(const std::string& path, const CsvDatasetOptions& options = {});

}  // namespace regula::io
