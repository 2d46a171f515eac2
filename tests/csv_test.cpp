// Numeric CSV tables (regula/io/csv.hpp): reading with a header, quotes, CRLF and other
// delimiters, writing and reading back, splitting a label column off, and errors that name the
// file, line and column.

#include "regula/io/csv.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>

#include "regula/error.hpp"
#include "test_support.hpp"

namespace {

using regula::Shape;
using regula::Tensor;
using regula::testing_support::expect_error;
using regula::testing_support::TemporaryDirectory;

class CsvTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) const {
    const std::string p = path(name);
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  std::string path(const std::string& name) const { return directory_.file(name); }

  TemporaryDirectory directory_;
};

std::vector<float> values_of(const Tensor& t) { return {t.values().begin(), t.values().end()}; }

TEST_F(CsvTest, ReadsHeaderQuotesCrlfAndBlankLines) {
  const std::string p = write("t.csv", "\xEF\xBB\xBF" "a,\"b, with comma\",\"say \"\"c\"\"\"\r\n"
                                       "1,2.5,-3e2\r\n"
                                       "\r\n"
                                       " +4 ,\"5\",nan\n"
                                       "7,8,inf\n");
  const auto table = regula::io::read_csv(p);
  EXPECT_EQ(table.column_names, (std::vector<std::string>{"a", "b, with comma", "say \"c\""}));
  ASSERT_EQ(table.values.shape(), (Shape{3, 3}));
  EXPECT_EQ(table.values[0], 1.0f);
  EXPECT_EQ(table.values[1], 2.5f);
  EXPECT_EQ(table.values[2], -300.0f);
  EXPECT_EQ(table.values[3], 4.0f);
  EXPECT_EQ(table.values[4], 5.0f);
  EXPECT_TRUE(std::isnan(table.values[5]));
  EXPECT_TRUE(std::isinf(table.values[8]));
}

TEST_F(CsvTest, ReadsWithoutHeaderAndOtherDelimiters) {
  const auto table = regula::io::read_csv(write("t.tsv", "1\t2\n3\t4\n"), {.delimiter = '\t', .header = false});
  EXPECT_EQ(table.column_names, (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(values_of(table.values), (std::vector<float>{1, 2, 3, 4}));
  const auto header_only = regula::io::read_csv(write("h.csv", "x;y\n"), {.delimiter = ';'});
  EXPECT_EQ(header_only.values.shape(), (Shape{0, 2}));
}

TEST_F(CsvTest, WriteThenReadRoundTripsExactly) {
  const Tensor x(Shape{2, 3}, {0.1f, -2.0f, 1e-30f, 3.4e38f, 123456.789f, 0.0f});
  regula::io::write_csv(path("out.csv"), x, {"plain", "with,comma", "with \"quote\""});
  const auto table = regula::io::read_csv(path("out.csv"));
  EXPECT_EQ(table.column_names, (std::vector<std::string>{"plain", "with,comma", "with \"quote\""}));
  EXPECT_EQ(values_of(table.values), values_of(x));
  regula::io::write_csv(path("bare.csv"), x);
  EXPECT_EQ(values_of(regula::io::read_csv(path("bare.csv"), {.header = false}).values), values_of(x));

  expect_error<regula::ShapeError>([&] { regula::io::write_csv(path("v.csv"), Tensor(Shape{3})); }, {"(3,)"});
  expect_error<regula::ValueError>([&] { regula::io::write_csv(path("v.csv"), x, {"a"}); },
                                   {"1 column names for 3 columns"});
}

TEST_F(CsvTest, LoadCsvDatasetSplitsTheLabelColumn) {
  const std::string p = write("d.csv", "f1,label,f2\n1,0,2\n3,1,4\n");
  const auto xy = regula::io::load_csv_dataset(p);
  EXPECT_EQ(xy.x.shape(), (Shape{2, 2}));
  EXPECT_EQ(values_of(xy.x), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(values_of(xy.y), (std::vector<float>{0, 1}));
  const auto by_name = regula::io::load_csv_dataset(p, {.label_column = "f2"});
  EXPECT_EQ(values_of(by_name.y), (std::vector<float>{2, 4}));
  expect_error<regula::ValueError>([&] { regula::io::load_csv_dataset(p, {.label_column = "target"}); },
                                   {p, "'target'", "'f1', 'label', 'f2'"});
}

TEST_F(CsvTest, ErrorsNameFileLineAndColumn) {
  expect_error<regula::IOError>([&] { regula::io::read_csv(path("missing.csv")); }, {path("missing.csv")});
  const std::string bad_cell = write("bad_cell.csv", "a,b\n1,2\n3,abc\n");
  expect_error<regula::IOError>([&] { regula::io::read_csv(bad_cell); },
                                {bad_cell, "line 3", "column 2 ('b')", "'abc'"});
  const std::string empty_cell = write("empty_cell.csv", "a,b\n1,\n");
  expect_error<regula::IOError>([&] { regula::io::read_csv(empty_cell); }, {"line 2", "column 2", "empty"});
  const std::string ragged = write("ragged.csv", "a,b,c\n1,2,3\n4,5\n");
  expect_error<regula::IOError>([&] { regula::io::read_csv(ragged); },
                                {ragged, "line 3", "2 fields, expected 3", "header on line 1"});
  // A multi-line quoted header cell: lines are counted in the file, not in records.
  const std::string multiline = write("multiline.csv", "\"a\nb\",c\n1,x\n");
  expect_error<regula::IOError>([&] { regula::io::read_csv(multiline); }, {"line 3", "column 2 ('c')"});
  const std::string open_quote = write("open_quote.csv", "a,b\n1,\"2\n");
  expect_error<regula::IOError>([&] { regula::io::read_csv(open_quote); }, {open_quote, "line 2", "not closed"});
  expect_error<regula::IOError>([&] { regula::io::read_csv(write("empty.csv", "")); }, {"empty.csv", "is empty"});
  expect_error<regula::ValueError>([&] { regula::io::read_csv(bad_cell, {.delimiter = '"'}); }, {"delimiter"});
}

}  // namespace
