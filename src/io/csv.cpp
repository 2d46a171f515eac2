#include "regula/io/csv.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <span>

#include "regula/error.hpp"
#include "regula/io/file_bytes.hpp"

namespace regula::io {
namespace {

struct Field {
  std::string text;
  int64_t line = 0;
};

struct Record {
  std::vector<Field> fields;
  int64_t line = 0;
};

std::string quote_list(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& name : names) s += (s.empty() ? "'" : ", '") + name + "'";
  return s;
}

void check_delimiter(char delimiter, const std::string& caller) {
  if (delimiter == '"' || delimiter == '\r' || delimiter == '\n' || delimiter == '\0')
    throw ValueError(caller + ": the delimiter cannot be a quote, a line break or NUL");
}

// Splits the text into records of fields (RFC 4180), dropping blank lines.
std::vector<Record> split_records(std::string_view text, char delimiter, const std::string& path) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<Record> records;
  Record record;
  Field field;
  bool quoted = false, field_was_quoted = false;
  int64_t line = 1, quote_line = 0;
  record.line = field.line = 1;
  auto end_field = [&] {
    record.fields.push_back(std::move(field));
    field = Field{{}, line};
    field_was_quoted = false;
  };
  auto end_record = [&] {
    const bool blank = record.fields.empty() && field.text.empty() && !field_was_quoted;
    end_field();
    if (!blank) records.push_back(std::move(record));
    record = Record{{}, line};
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field.text += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        field.text += c;
      }
    } else if (c == '"') {
      quoted = field_was_quoted = true;
      quote_line = line;
    } else if (c == delimiter) {
      end_field();
    } else if (c == '\n' || (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) {
      if (c == '\r') ++i;
      ++line;
      end_record();
    } else {
      field.text += c;
    }
  }
  if (quoted)
    throw IOError("file '" + path + "', line " + std::to_string(quote_line) +
                  ": a quoted field is not closed before the end of the file (expected a closing '\"')");
  if (!record.fields.empty() || !field.text.empty() || field_was_quoted) end_record();
  return records;
}

float parse_cell(const std::string& cell, const std::string& path, int64_t line, size_t column,
                 const std::string& column_name) {
  size_t begin = cell.find_first_not_of(" \t");
  size_t end = cell.find_last_not_of(" \t");
  auto fail = [&](const std::string& what) {
    throw IOError("file '" + path + "', line " + std::to_string(line) + ", column " + std::to_string(column + 1) +
                  " ('" + column_name + "'): " + what);
  };
  if (begin == std::string::npos) fail("the cell is empty; every cell must be a number");
  if (cell[begin] == '+' && begin < end) ++begin;
  double value = 0.0;
  const char* first = cell.data() + begin;
  const char* last = cell.data() + end + 1;
  const auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec == std::errc::result_out_of_range)
    fail("'" + cell + "' is out of the range of a double");
  if (ec != std::errc() || ptr != last) fail("cannot read '" + cell + "' as a number");
  return static_cast<float>(value);
}

void append_field(std::string& out, const std::string& text, char delimiter) {
  if (text.find_first_of(std::string("\"\r\n") + delimiter) == std::string::npos) {
    out += text;
    return;
  }
  out += '"';
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  out += '"';
}

}  // namespace

CsvTable read_csv(const std::string& path, const CsvOptions& options) {
  check_delimiter(options.delimiter, "read_csv('" + path + "')");
  const std::vector<uint8_t> bytes = io::read_file_bytes(path);
  const std::vector<Record> records =
      split_records(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), options.delimiter, path);
  if (records.empty())
    throw IOError("file '" + path + "' is empty; expected " +
                  (options.header ? "a header line of column names" : "at least one row of numbers"));

  CsvTable table;
  const Record& first = records.front();
  const size_t columns = first.fields.size();
  for (size_t c = 0; c < columns; ++c)
    table.column_names.push_back(options.header ? first.fields[c].text : std::to_string(c));
  const size_t first_data = options.header ? 1 : 0;
  const auto rows = static_cast<int64_t>(records.size() - first_data);
  table.values = Tensor::uninitialized(Shape{rows, static_cast<int64_t>(columns)});
  float* out = table.values.data();
  for (size_t r = first_data; r < records.size(); ++r) {
    const Record& record = records[r];
    if (record.fields.size() != columns)
      throw IOError("file '" + path + "', line " + std::to_string(record.line) + ": " +
                    std::to_string(record.fields.size()) + " fields, expected " + std::to_string(columns) + " (as " +
                    (options.header ? "the header" : "the first row") + " on line " + std::to_string(first.line) +
                    " has; delimiter '" + std::string(1, options.delimiter) + "')");
    for (size_t c = 0; c < columns; ++c)
      *out++ = parse_cell(record.fields[c].text, path, record.fields[c].line, c, table.column_names[c]);
  }
  return table;
}

void write_csv(const std::string& path, const Tensor& values, const std::vector<std::string>& column_names,
               char delimiter) {
  const std::string caller = "write_csv('" + path + "')";
  check_delimiter(delimiter, caller);
  if (values.rank() != 2)
    throw ShapeError(caller + ": expected a (rows, columns) tensor, got shape " + values.shape().to_string());
  const int64_t rows = values.dim(0), columns = values.dim(1);
  if (!column_names.empty() && static_cast<int64_t>(column_names.size()) != columns)
    throw ValueError(caller + ": " + std::to_string(column_names.size()) + " column names for " +
                     std::to_string(columns) + " columns");
  std::string text;
  for (size_t c = 0; c < column_names.size(); ++c) {
    if (c > 0) text += delimiter;
    append_field(text, column_names[c], delimiter);
  }
  if (!column_names.empty()) text += '\n';
  char buffer[64];
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < columns; ++c) {
      if (c > 0) text += delimiter;
      const auto result = std::to_chars(buffer, buffer + sizeof buffer, values[r * columns + c]);
      text.append(buffer, result.ptr);
    }
    text += '\n';
  }
  io::write_file_bytes(path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

XY load_csv_dataset(const std::string& path, const CsvDatasetOptions& options) {
  const CsvTable table = read_csv(path, {.delimiter = options.delimiter, .header = true});
  const auto columns = static_cast<int64_t>(table.column_names.size());
  int64_t label = -1;
  for (int64_t c = 0; c < columns; ++c)
    if (table.column_names[static_cast<size_t>(c)] == options.label_column) label = c;
  if (label < 0)
    throw ValueError("load_csv_dataset('" + path + "'): no column named '" + options.label_column +
                     "' (label_column); the columns are: " + quote_list(table.column_names));
  if (columns < 2)
    throw ValueError("load_csv_dataset('" + path + "'): the label column '" + options.label_column +
                     "' is the only column; no features are left for x");
  const int64_t rows = table.values.dim(0);
  XY xy{Tensor::uninitialized(Shape{rows, columns - 1}), Tensor::uninitialized(Shape{rows})};
  const float* in = table.values.data();
  float* x = xy.x.data();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < columns; ++c) {
      if (c == label)
        xy.y[r] = in[r * columns + c];
      else
        *x++ = in[r * columns + c];
    }
  }
  return xy;
}

}  // namespace regula::io
