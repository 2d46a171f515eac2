// TensorBoard event files: CRC-32C and its TFRecord mask against published vectors, the record
// framing, TensorBoard's histogram buckets, and the TensorBoard callback in real fits checked
// against Keras's layout (keras/src/callbacks/tensorboard.py): runs, tags, steps and values,
// read back with regula's reader and, independently, with Python's protobuf
// (tests/read_tensorboard_events.py).

#include "regula/callbacks/tensorboard.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "regula/callbacks/learning_rate_scheduler.hpp"
#include "regula/experiment/callback_factory.hpp"
#include "regula/io/crc32c.hpp"
#include "regula/io/event_file_reader.hpp"
#include "regula/io/event_file_writer.hpp"
#include "regula/regula.hpp"
#include "test_support.hpp"

namespace rg = regula;
namespace cb = regula::callbacks;
namespace io = regula::io;
namespace fs = std::filesystem;
using regula::testing_support::expect_error;
using regula::testing_support::TemporaryDirectory;

namespace {

/// Two classes split by the line x0 = x1, 64 points drawn uniformly from [-1, 1]².
struct TwoClasses {
  rg::Tensor x{rg::Shape{64, 2}}, y{rg::Shape{64}};
  explicit TwoClasses(uint64_t seed = 7) {
    rg::Rng rng(seed);
    for (int64_t i = 0; i < 64; ++i) {
      x[2 * i] = static_cast<float>(rng.uniform(-1.0, 1.0));
      x[2 * i + 1] = static_cast<float>(rng.uniform(-1.0, 1.0));
      y[i] = x[2 * i] > x[2 * i + 1] ? 1.0f : 0.0f;
    }
  }
};

std::unique_ptr<rg::Model> tiny_model() {
  auto input = rg::layers::Input({2});
  auto hidden = rg::layers::Dense(4, {.activation = "tanh"})(input);
  auto out = rg::layers::Dense(2, {.activation = "softmax"})(hidden);
  auto model = std::make_unique<rg::Model>(input, out);
  model->compile({.optimizer = rg::optimizers::SGD({.learning_rate = 0.1}),
                  .loss = "sparse_categorical_crossentropy",
                  .metrics = {"accuracy"}});
  return model;
}

/// Every (tag → [(step, values)]) of the event files in `dir`, each file checked to start with
/// the file_version event.
struct Series {
  std::map<std::string, std::vector<std::pair<int64_t, io::SummaryValue>>> tags;
  size_t files = 0;
};

Series read_run(const fs::path& dir) {
  Series series;
  for (const std::string& file : io::list_event_files(dir.string())) {
    ++series.files;
    const std::vector<io::EventRecord> events = io::read_event_file(file);
    EXPECT_FALSE(events.empty()) << file;
    if (events.empty()) continue;
    EXPECT_EQ(events[0].file_version, "brain.Event:2") << file;
    for (size_t i = 1; i < events.size(); ++i) {
      EXPECT_TRUE(events[i].file_version.empty()) << file;
      EXPECT_GT(events[i].wall_time, 1.6e9) << file;
      for (const io::SummaryValue& v : events[i].values) series.tags[v.tag].emplace_back(events[i].step, v);
    }
  }
  return series;
}

std::set<std::string> tag_names(const Series& s) {
  std::set<std::string> out;
  for (const auto& [tag, points] : s.tags) out.insert(tag);
  return out;
}

std::vector<int64_t> steps_of(const Series& s, const std::string& tag) {
  std::vector<int64_t> out;
  if (s.tags.count(tag))
    for (const auto& [step, value] : s.tags.at(tag)) out.push_back(step);
  return out;
}

/// A scalar's value as written: a rank-0 float tensor of the scalars plugin.
double scalar(const io::SummaryValue& v) {
  EXPECT_EQ(v.plugin_name, "scalars") << v.tag;
  EXPECT_EQ(v.data_class, 1) << v.tag;
  EXPECT_EQ(v.dtype, 1) << v.tag;
  EXPECT_TRUE(v.shape.empty()) << v.tag;
  EXPECT_EQ(v.numbers.size(), 1u) << v.tag;
  return v.numbers.empty() ? std::nan("") : v.numbers[0];
}

void expect_float_equal(double expected, double got, const std::string& what) {
  if (std::isnan(expected))
    EXPECT_TRUE(std::isnan(got)) << what;
  else
    EXPECT_EQ(static_cast<float>(expected), static_cast<float>(got)) << what << ": " << got << " vs " << expected;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

/// A 3-epoch fit with validation data, batches of 16 (4 per epoch) and a learning rate that
/// halves every epoch, logged by `tensorboard`.
rg::callbacks::History fit_three_epochs(rg::Model& model, cb::TensorBoard& tensorboard) {
  const TwoClasses train(7), validation(8);
  cb::LearningRateScheduler halve([](int epoch, double lr) { return epoch == 0 ? lr : lr / 2; });
  return model.fit(train.x, train.y,
                   {.batch_size = 16,
                    .epochs = 3,
                    .verbose = 0,
                    .callbacks = {&halve, &tensorboard},
                    .validation_data = rg::ValidationData{validation.x, validation.y},
                    .shuffle = false});
}

}  // namespace

// ---- CRC-32C and TFRecord framing -------------------------------------------------------------

TEST(Crc32c, KnownVectors) {
  // The check value of CRC-32C, and RFC 3720 (iSCSI) appendix B.4's test patterns.
  EXPECT_EQ(io::crc32c(std::string_view("123456789")), 0xE3069283u);
  EXPECT_EQ(io::crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(io::crc32c(std::string(32, '\xFF')), 0x62A8AB43u);
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending.push_back(static_cast<char>(i));
    descending.push_back(static_cast<char>(31 - i));
  }
  EXPECT_EQ(io::crc32c(ascending), 0x46DD794Eu);
  EXPECT_EQ(io::crc32c(descending), 0x113FDB5Cu);
  EXPECT_EQ(io::crc32c(std::string_view()), 0u);
  // Continuing a checksum equals checksumming the concatenation (at every split, across the
  // 8-byte blocks of the fast path).
  const std::string text = "The quick brown fox jumps over the lazy dog";
  for (size_t split = 0; split <= text.size(); ++split)
    EXPECT_EQ(io::crc32c(text.substr(split), io::crc32c(text.substr(0, split))), io::crc32c(text)) << split;
  EXPECT_EQ(io::crc32c(text), 0x22620404u);
}

TEST(Crc32c, MaskIsTfRecordsFormula) {
  // masked = ((crc >> 15) | (crc << 17)) + 0xa282ead8 (mod 2^32).
  EXPECT_EQ(io::mask_crc32c(0u), 0xA282EAD8u);
  EXPECT_EQ(io::mask_crc32c(0x00008000u), 0xA282EAD9u);  // bit 15 rotates to bit 0
  EXPECT_EQ(io::mask_crc32c(0x00000001u), 0xA284EAD8u);  // bit 0 rotates to bit 17
  EXPECT_EQ(io::mask_crc32c(0xE3069283u), ((0xE3069283u >> 15) | (0xE3069283u << 17)) + 0xA282EAD8u);
  EXPECT_EQ(io::masked_crc32c("123456789"), io::mask_crc32c(0xE3069283u));
  for (uint32_t crc : {0u, 1u, 0xDEADBEEFu, 0xFFFFFFFFu, 0x5D7E2B11u})
    EXPECT_EQ(io::unmask_crc32c(io::mask_crc32c(crc)), crc);
}

TEST(TfRecord, FrameLayoutAndReadBack) {
  const std::string data = "event bytes";
  const std::string frame = io::tfrecord_frame(data);
  ASSERT_EQ(frame.size(), data.size() + 16);
  uint64_t length = 0;
  for (int i = 0; i < 8; ++i) length |= uint64_t(static_cast<unsigned char>(frame[i])) << (8 * i);
  EXPECT_EQ(length, data.size());
  auto u32_at = [&](size_t at) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t(static_cast<unsigned char>(frame[at + i])) << (8 * i);
    return v;
  };
  EXPECT_EQ(u32_at(8), io::masked_crc32c(frame.substr(0, 8)));
  EXPECT_EQ(frame.substr(12, data.size()), data);
  EXPECT_EQ(u32_at(12 + data.size()), io::masked_crc32c(data));

  TemporaryDirectory tmp;
  const std::string path = tmp.file("records");
  write_bytes(path, frame + io::tfrecord_frame("") + io::tfrecord_frame("third"));
  EXPECT_EQ(io::read_tfrecords(path), (std::vector<std::string>{data, "", "third"}));

  std::string damaged = frame;
  damaged[14] ^= 0x01;
  write_bytes(path, damaged);
  expect_error<rg::IOError>([&] { io::read_tfrecords(path); }, {path, "record 0", "data's checksum"});
  damaged = frame;
  damaged[2] ^= 0x01;
  write_bytes(path, damaged);
  expect_error<rg::IOError>([&] { io::read_tfrecords(path); }, {"length's checksum"});
  write_bytes(path, frame + frame.substr(0, frame.size() - 1));
  expect_error<rg::IOError>([&] { io::read_tfrecords(path); }, {"record 1", "ends inside"});
  expect_error<rg::IOError>([&] { io::read_tfrecords(tmp.file("missing")); }, {"missing"});
}

// ---- histograms -------------------------------------------------------------------------------

TEST(HistogramBuckets, FollowTensorBoardsRules) {
  EXPECT_TRUE(io::histogram_buckets(nullptr, 0).empty());
  const float same[] = {2.0f, 2.0f, 2.0f};
  const auto one = io::histogram_buckets(same, 3);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].left, 1.5);
  EXPECT_EQ(one[0].right, 2.5);
  EXPECT_EQ(one[0].count, 3.0);

  // 0, 1, ..., 9 in 3 buckets of width 3: [0,3) holds 0,1,2; [3,6) 3,4,5; [6,9] 6..9 (the max is
  // capped into the last bucket).
  std::vector<float> ten;
  for (int i = 0; i < 10; ++i) ten.push_back(static_cast<float>(i));
  const auto three = io::histogram_buckets(ten.data(), ten.size(), 3);
  ASSERT_EQ(three.size(), 3u);
  EXPECT_EQ(three[0].left, 0.0);
  EXPECT_EQ(three[0].right, 3.0);
  EXPECT_EQ(three[1].left, 3.0);
  EXPECT_EQ(three[2].right, 9.0);
  EXPECT_EQ(three[0].count, 3.0);
  EXPECT_EQ(three[1].count, 3.0);
  EXPECT_EQ(three[2].count, 4.0);

  const auto thirty = io::histogram_buckets(ten.data(), ten.size());
  ASSERT_EQ(thirty.size(), 30u);
  double total = 0;
  for (const auto& b : thirty) total += b.count;
  EXPECT_EQ(total, 10.0);
  EXPECT_EQ(thirty.back().right, 9.0);

  const float with_nan[] = {1.0f, std::numeric_limits<float>::quiet_NaN(), 3.0f,
                            std::numeric_limits<float>::infinity()};
  const auto finite = io::histogram_buckets(with_nan, 4, 2);
  ASSERT_EQ(finite.size(), 2u);
  EXPECT_EQ(finite[0].count + finite[1].count, 2.0);
  const float only_nan[] = {std::numeric_limits<float>::quiet_NaN()};
  EXPECT_TRUE(io::histogram_buckets(only_nan, 1).empty());
  expect_error<rg::ValueError>([&] { io::histogram_buckets(ten.data(), ten.size(), 0); }, {"bucket_count=0"});
}

// ---- the event file writer --------------------------------------------------------------------

TEST(EventFileWriter, NamesTheFileAsTensorFlowAndStartsWithTheVersion) {
  TemporaryDirectory tmp;
  std::string path;
  {
    io::EventFileWriter writer((tmp.path() / "a" / "b").string());  // parents are created
    path = writer.path();
    writer.add_scalar("x", 0.25, 7);
    writer.add_scalar("x", std::numeric_limits<double>::quiet_NaN(), 8);
    writer.add_string_tensor("note", "hello", 9, "text", "");
    writer.close();
    expect_error<rg::StateError>([&] { writer.add_scalar("x", 1.0, 10); }, {"closed"});
  }
  const std::string name = fs::path(path).filename().string();
  // events.out.tfevents.<10-digit seconds>.<host>.<pid>.<n>.v2 (checked without std::regex, which
  // GCC 12 warns about under the sanitizer build's -Werror).
  const std::string prefix = "events.out.tfevents.";
  ASSERT_EQ(name.rfind(prefix, 0), 0u) << name;
  const std::string seconds = name.substr(prefix.size(), 10);
  EXPECT_TRUE(seconds.size() == 10 && std::all_of(seconds.begin(), seconds.end(), ::isdigit)) << name;
  EXPECT_EQ(name[prefix.size() + 10], '.') << name;
  EXPECT_EQ(name.substr(name.size() - 3), ".v2") << name;
  EXPECT_NE(name.find("." + std::to_string(::getpid()) + "."), std::string::npos) << name;
  EXPECT_EQ(fs::path(path).parent_path(), tmp.path() / "a" / "b");

  const std::vector<io::EventRecord> events = io::read_event_file(path);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].file_version, "brain.Event:2");
  EXPECT_EQ(events[0].step, 0);
  EXPECT_TRUE(events[0].values.empty());
  ASSERT_EQ(events[1].values.size(), 1u);
  EXPECT_EQ(events[1].step, 7);
  EXPECT_EQ(scalar(events[1].values[0]), 0.25);
  EXPECT_TRUE(std::isnan(scalar(events[2].values[0])));  // NaN is data, not an error
  const io::SummaryValue& note = events[3].values.at(0);
  EXPECT_EQ(note.dtype, 7);
  EXPECT_EQ(note.strings, std::vector<std::string>{"hello"});
  EXPECT_EQ(note.plugin_name, "text");

  // Two writers on one directory in the same second get two files.
  io::EventFileWriter first(tmp.path().string()), second(tmp.path().string());
  EXPECT_NE(first.path(), second.path());
}

TEST(EventFileWriter, AnUnwritableDirectoryIsAnIOError) {
  TemporaryDirectory tmp;
  write_bytes(tmp.file("plain_file"), "x");
  expect_error<rg::IOError>([&] { io::EventFileWriter((tmp.path() / "plain_file" / "logs").string()); },
                            {"plain_file/logs", "cannot create the TensorBoard log directory"});
}

// ---- the callback in fit ----------------------------------------------------------------------

TEST(TensorBoard, FitWritesKerasLayoutWithHistorysValues) {
  TemporaryDirectory tmp;
  auto model = tiny_model();
  cb::TensorBoard tensorboard({.log_dir = (tmp.path() / "logs").string()});
  const auto history = fit_three_epochs(*model, tensorboard);

  EXPECT_EQ(std::set<std::string>({"train", "validation"}), [&] {
    std::set<std::string> dirs;
    for (const auto& e : fs::directory_iterator(tmp.path() / "logs")) dirs.insert(e.path().filename().string());
    return dirs;
  }());
  const Series train = read_run(tmp.path() / "logs" / "train");
  const Series validation = read_run(tmp.path() / "logs" / "validation");
  EXPECT_EQ(train.files, 1u);
  EXPECT_EQ(validation.files, 1u);
  EXPECT_EQ(tag_names(train), (std::set<std::string>{"epoch_loss", "epoch_accuracy", "epoch_learning_rate", "keras"}));
  // Keras 3 passes fit's callbacks to every validation's evaluate, so on_test_end also writes
  // evaluation_<name>_vs_iterations into the validation run, at the optimizer's iteration count.
  EXPECT_EQ(tag_names(validation), (std::set<std::string>{"epoch_loss", "epoch_accuracy", "evaluation_loss_vs_iterations",
                                                          "evaluation_accuracy_vs_iterations"}));
  const int64_t per_epoch = model->optimizer().iterations() / 3;
  for (const char* name : {"loss", "accuracy"}) {
    const std::string tag = std::string("evaluation_") + name + "_vs_iterations";
    EXPECT_EQ(steps_of(validation, tag), (std::vector<int64_t>{per_epoch, 2 * per_epoch, 3 * per_epoch})) << tag;
    for (size_t e = 0; e < 3; ++e)
      expect_float_equal(history[std::string("val_") + name][e], scalar(validation.tags.at(tag)[e].second), tag);
  }

  const std::vector<int64_t> epochs = {0, 1, 2};
  for (const char* name : {"loss", "accuracy", "learning_rate"}) {
    const std::string tag = std::string("epoch_") + name;
    ASSERT_EQ(steps_of(train, tag), epochs) << tag;
    for (size_t e = 0; e < 3; ++e)
      expect_float_equal(history[name][e], scalar(train.tags.at(tag)[e].second), "train " + tag);
  }
  for (const char* name : {"loss", "accuracy"}) {
    const std::string tag = std::string("epoch_") + name;
    ASSERT_EQ(steps_of(validation, tag), epochs) << tag;
    for (size_t e = 0; e < 3; ++e)
      expect_float_equal(history[std::string("val_") + name][e], scalar(validation.tags.at(tag)[e].second),
                         "validation " + tag);
  }
  // The scheduler halved the rate every epoch: 0.1, 0.05, 0.025.
  expect_float_equal(0.025, scalar(train.tags.at("epoch_learning_rate")[2].second), "learning rate");

  // write_graph: the model's JSON as Keras's `keras` tag, once, at step 0.
  ASSERT_EQ(train.tags.at("keras").size(), 1u);
  const auto& [graph_step, graph] = train.tags.at("keras")[0];
  EXPECT_EQ(graph_step, 0);
  EXPECT_EQ(graph.plugin_name, "graph_keras_model");
  EXPECT_EQ(graph.plugin_content, "1");
  EXPECT_EQ(graph.dtype, 7);
  ASSERT_EQ(graph.strings.size(), 1u);
  const nlohmann::json config = nlohmann::json::parse(graph.strings[0]);
  EXPECT_EQ(config.at("class_name"), "Functional");
  EXPECT_EQ(config.at("config").at("layers").size(), 3u);
}

TEST(TensorBoard, EveryFitOpensNewFilesAndNoValidationMeansNoValidationFolder) {
  TemporaryDirectory tmp;
  auto model = tiny_model();
  const TwoClasses data;
  cb::TensorBoard tensorboard({.log_dir = tmp.file("logs"), .write_graph = false});
  for (int run = 0; run < 2; ++run)
    model->fit(data.x, data.y, {.batch_size = 32, .epochs = 2, .verbose = 0, .callbacks = {&tensorboard}});
  EXPECT_FALSE(fs::exists(tmp.path() / "logs" / "validation"));
  const Series train = read_run(tmp.path() / "logs" / "train");
  EXPECT_EQ(train.files, 2u);
  EXPECT_EQ(tag_names(train), (std::set<std::string>{"epoch_loss", "epoch_accuracy", "epoch_learning_rate"}));
  EXPECT_EQ(steps_of(train, "epoch_loss"), (std::vector<int64_t>{0, 1, 0, 1}));
  for (const auto& [step, v] : train.tags.at("epoch_learning_rate")) expect_float_equal(0.1, scalar(v), "lr");
}

TEST(TensorBoard, UpdateFreqWritesBatchSeriesAtTheGlobalBatchCount) {
  const TwoClasses data;
  for (const auto& [freq, expected_steps] : std::vector<std::pair<cb::UpdateFreq, std::vector<int64_t>>>{
           {"batch", {1, 2, 3, 4, 5, 6, 7, 8}}, {3, {3, 6}}, {"epoch", {}}}) {
    TemporaryDirectory tmp;
    auto model = tiny_model();
    cb::TensorBoard tensorboard({.log_dir = tmp.file("logs"), .write_graph = false, .update_freq = freq});
    std::vector<double> batch_losses;
    cb::LambdaCallback record(
        {.on_train_batch_end = [&](int64_t, cb::Logs& logs) { batch_losses.push_back(logs.at("loss")); }});
    // 4 batches an epoch, 2 epochs: the counter runs on across epochs (1..8).
    model->fit(data.x, data.y, {.batch_size = 16, .epochs = 2, .verbose = 0, .callbacks = {&tensorboard, &record}});
    const Series train = read_run(tmp.path() / "logs" / "train");
    const std::string label = freq.name.empty() ? std::to_string(freq.batches) : freq.name;
    EXPECT_EQ(steps_of(train, "batch_loss"), expected_steps) << label;
    EXPECT_EQ(steps_of(train, "batch_accuracy"), expected_steps) << label;
    EXPECT_EQ(train.tags.count("batch_learning_rate"), 0u) << "Keras logs no batch learning rate";
    if (train.tags.count("batch_loss"))
      for (const auto& [step, v] : train.tags.at("batch_loss"))
        expect_float_equal(batch_losses.at(static_cast<size_t>(step - 1)), scalar(v), "batch_loss " + label);
    EXPECT_EQ(steps_of(train, "epoch_loss"), (std::vector<int64_t>{0, 1})) << label;
  }
}

TEST(TensorBoard, HistogramFreqWritesOneHistogramPerWeight) {
  TemporaryDirectory tmp;
  auto model = tiny_model();
  cb::TensorBoard tensorboard({.log_dir = tmp.file("logs"), .histogram_freq = 2, .write_graph = false});
  const TwoClasses data;
  model->fit(data.x, data.y, {.batch_size = 16, .epochs = 3, .verbose = 0, .callbacks = {&tensorboard}});
  const Series train = read_run(tmp.path() / "logs" / "train");
  std::map<std::string, int64_t> sizes;
  for (const rg::layers::Layer* layer : model->layers())
    for (const rg::layers::Weight& w : layer->weights())
      sizes[layer->name() + "/" + w.name + "_0/histogram"] = w.value.size();
  ASSERT_EQ(sizes.size(), 4u);  // two Dense layers: kernel and bias each
  for (const auto& [tag, size] : sizes) {
    ASSERT_EQ(steps_of(train, tag), (std::vector<int64_t>{0, 2})) << tag;  // epoch % 2 == 0
    for (const auto& [step, v] : train.tags.at(tag)) {
      EXPECT_EQ(v.plugin_name, "histograms") << tag;
      EXPECT_EQ(v.data_class, 2) << tag;
      EXPECT_EQ(v.dtype, 2) << tag;
      ASSERT_EQ(v.shape.size(), 2u) << tag;
      EXPECT_EQ(v.shape[1], 3) << tag;
      double total = 0;
      for (int64_t row = 0; row < v.shape[0]; ++row) total += v.numbers[static_cast<size_t>(3 * row + 2)];
      EXPECT_EQ(total, static_cast<double>(size)) << tag;
    }
  }
  // The last histogram of the output bias is the bias the fit ended with.
  const rg::layers::Weight& bias = model->layers().back()->weights()[1];
  const auto expected = io::histogram_buckets(bias.value.data(), static_cast<size_t>(bias.value.size()));
  const io::SummaryValue& last = train.tags.at(model->layers().back()->name() + "/bias_0/histogram").back().second;
  ASSERT_EQ(last.numbers.size(), 3 * expected.size());
  EXPECT_EQ(last.numbers[0], expected[0].left);
  EXPECT_EQ(last.numbers.back(), expected.back().count);
}

TEST(TensorBoard, EvaluateWritesKerasEvaluationSeriesAtTheIterations) {
  TemporaryDirectory tmp;
  auto model = tiny_model();
  const TwoClasses data;
  cb::TensorBoard tensorboard({.log_dir = tmp.file("logs"), .write_graph = false});
  model->fit(data.x, data.y, {.batch_size = 16, .epochs = 1, .verbose = 0});
  const cb::Logs logs = model->evaluate(data.x, data.y, {.verbose = 0, .callbacks = {&tensorboard}});
  const Series validation = read_run(tmp.path() / "logs" / "validation");
  EXPECT_EQ(tag_names(validation),
            (std::set<std::string>{"evaluation_loss_vs_iterations", "evaluation_accuracy_vs_iterations"}));
  EXPECT_EQ(steps_of(validation, "evaluation_loss_vs_iterations"), std::vector<int64_t>{4});
  expect_float_equal(logs.at("loss"), scalar(validation.tags.at("evaluation_loss_vs_iterations")[0].second), "loss");
}

TEST(TensorBoard, NaNValuesAreWrittenAsNaN) {
  TemporaryDirectory tmp;
  auto model = tiny_model();
  cb::TensorBoard tensorboard({.log_dir = tmp.file("logs"), .write_graph = false});
  tensorboard.set_model(model.get());
  cb::Logs begin;
  tensorboard.on_train_begin(begin);
  cb::Logs logs;
  logs.set("loss", std::numeric_limits<double>::quiet_NaN());
  logs.set("val_loss", 0.5);
  tensorboard.on_epoch_end(0, logs);
  tensorboard.on_train_end(begin);
  const Series train = read_run(tmp.path() / "logs" / "train");
  EXPECT_TRUE(std::isnan(scalar(train.tags.at("epoch_loss").at(0).second)));
  EXPECT_EQ(scalar(read_run(tmp.path() / "logs" / "validation").tags.at("epoch_loss").at(0).second), 0.5);
}

TEST(TensorBoard, BadOptionsAreValueErrors) {
  expect_error<rg::ValueError>([] { cb::TensorBoard({.update_freq = "epochs"}); },
                               {"TensorBoard", "update_freq='epochs'", "'epoch', 'batch' or a number of batches >= 1"});
  expect_error<rg::ValueError>([] { cb::TensorBoard({.update_freq = 0}); }, {"update_freq=0"});
  expect_error<rg::ValueError>([] { cb::TensorBoard({.histogram_freq = -1}); }, {"histogram_freq=-1"});
  expect_error<rg::ValueError>([] { cb::TensorBoard({.log_dir = ""}); }, {"log_dir=''"});
  EXPECT_EQ(cb::TensorBoard({.update_freq = "batch"}).batch_frequency(), 1);
  EXPECT_EQ(cb::TensorBoard({.update_freq = int64_t{250}}).batch_frequency(), 250);
  EXPECT_EQ(cb::TensorBoard().batch_frequency(), 0);
  EXPECT_EQ(cb::TensorBoard().log_dir(), "logs");
}

TEST(TensorBoard, AnUnwritableLogDirFailsFitAtTrainBeginWithAnIOError) {
  TemporaryDirectory tmp;
  write_bytes(tmp.file("not_a_dir"), "x");
  auto model = tiny_model();
  const TwoClasses data;
  const std::string log_dir = (tmp.path() / "not_a_dir" / "logs").string();
  cb::TensorBoard tensorboard({.log_dir = log_dir});
  int epochs_run = 0;
  cb::LambdaCallback count({.on_epoch_begin = [&](int, cb::Logs&) { ++epochs_run; }});
  expect_error<rg::IOError>(
      [&] {
        model->fit(data.x, data.y, {.epochs = 2, .verbose = 0, .callbacks = {&tensorboard, &count}});
      },
      {"TensorBoard", log_dir, "Not a directory"});
  EXPECT_EQ(epochs_run, 0);
}

TEST(TensorBoard, FromAnExperimentConfigInsideTheRunDirectory) {
  TemporaryDirectory tmp;
  const nlohmann::json spec = {{"class_name", "TensorBoard"},
                               {"log_dir", "logs"},
                               {"histogram_freq", 0},
                               {"update_freq", "epoch"},
                               {"write_graph", true}};
  auto callback = rg::experiment::callback_from_config(spec, tmp.path().string(), "callbacks[0]");
  auto* tensorboard = dynamic_cast<cb::TensorBoard*>(callback.get());
  ASSERT_NE(tensorboard, nullptr);
  EXPECT_EQ(tensorboard->log_dir(), (tmp.path() / "logs").string());
  EXPECT_EQ(tensorboard->batch_frequency(), 0);
  const auto absolute =
      rg::experiment::callback_from_config({{"class_name", "TensorBoard"}, {"log_dir", "/abs/logs"}, {"update_freq", 100}},
                               tmp.path().string(), "callbacks[0]");
  EXPECT_EQ(dynamic_cast<cb::TensorBoard&>(*absolute).log_dir(), "/abs/logs");
  EXPECT_EQ(dynamic_cast<cb::TensorBoard&>(*absolute).batch_frequency(), 100);
  EXPECT_EQ(
      dynamic_cast<cb::TensorBoard&>(*rg::experiment::callback_from_config({{"class_name", "TensorBoard"}}, "", "c")).log_dir(),
      "logs");

  expect_error<rg::ValueError>(
      [&] {
        rg::experiment::callback_from_config({{"class_name", "TensorBoard"}, {"update_freq", "weekly"}}, "", "callbacks[1]");
      },
      {"callbacks[1]", "update_freq='weekly'", "'epoch', 'batch'"});
  expect_error<rg::ValueError>(
      [&] {
        rg::experiment::callback_from_config({{"class_name", "TensorBoard"}, {"update_freq", 1.5}}, "", "callbacks[1]");
      },
      {"callbacks[1]", "update_freq=1.5"});
  expect_error<rg::ValueError>(
      [&] {
        rg::experiment::callback_from_config({{"class_name", "TensorBoard"}, {"histogram_frq", 1}}, "", "callbacks[1]");
      },
      {"histogram_frq"});
}

// ---- the independent reader (Python's protobuf) ---------------------------------------------

namespace {

struct PythonResult {
  int status = -1;
  std::string output;
};

PythonResult run_python_reader(const fs::path& log_dir, const std::string& expect_file) {
  const std::string cmd = std::string(REGULA_TEST_PYTHON) + " " + REGULA_SOURCE_DIR +
                          "/tests/read_tensorboard_events.py --proto-dir " + REGULA_PYTHON_PROTO_DIR +
                          (expect_file.empty() ? "" : " --expect " + expect_file) + " " + log_dir.string() + " 2>&1";
  PythonResult result;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe)) result.output += buf;
  result.status = ::pclose(pipe);
  return result;
}

/// [step, value] points at steps 0, 1, 2, … (or `first`, 2·`first`, … when `first` > 0).
nlohmann::json points_of(const std::vector<double>& values, int64_t first = 0) {
  nlohmann::json points = nlohmann::json::array();
  for (size_t e = 0; e < values.size(); ++e)
    points.push_back({first > 0 ? first * static_cast<int64_t>(e + 1) : static_cast<int64_t>(e), values[e]});
  return points;
}

}  // namespace

TEST(TensorBoardPython, IndependentReaderAgreesWithHistory) {
  TemporaryDirectory tmp;
  auto model = tiny_model();
  cb::TensorBoard tensorboard({.log_dir = tmp.file("logs"), .histogram_freq = 1});
  const auto history = fit_three_epochs(*model, tensorboard);
  const int64_t per_epoch = model->optimizer().iterations() / 3;

  nlohmann::json histograms = nlohmann::json::object();
  for (const rg::layers::Layer* layer : model->layers())
    for (const rg::layers::Weight& w : layer->weights())
      histograms[layer->name() + "/" + w.name + "_0/histogram"] = {{"steps", {0, 1, 2}}, {"count", w.value.size()}};
  const nlohmann::json expect = {{"runs",
                                  {{"train",
                                    {{"scalars",
                                      {{"epoch_loss", points_of(history["loss"])},
                                       {"epoch_accuracy", points_of(history["accuracy"])},
                                       {"epoch_learning_rate", points_of(history["learning_rate"])}}},
                                     {"histograms", histograms},
                                     {"graph", "Functional"}}},
                                   {"validation",
                                    {{"scalars",
                                      {{"epoch_loss", points_of(history["val_loss"])},
                                       {"epoch_accuracy", points_of(history["val_accuracy"])},
                                       {"evaluation_loss_vs_iterations", points_of(history["val_loss"], per_epoch)},
                                       {"evaluation_accuracy_vs_iterations", points_of(history["val_accuracy"], per_epoch)}}}}}}}};
  const std::string expect_file = tmp.file("expect.json");
  std::ofstream(expect_file) << expect.dump(1);

  const PythonResult ok = run_python_reader(tmp.path() / "logs", expect_file);
  ASSERT_EQ(ok.status, 0) << "the Python reader (needs /usr/bin/python3 with python3-protobuf) failed:\n" << ok.output;
  EXPECT_NE(ok.output.find("OK: 2 runs match"), std::string::npos) << ok.output;
  EXPECT_NE(ok.output.find("train epoch_loss 2 "), std::string::npos) << ok.output;
  EXPECT_NE(ok.output.find("train keras 0 graph Functional layers=3"), std::string::npos) << ok.output;

  // The reader can fail: a value off by one float32 step, and a tag too many, are both caught.
  nlohmann::json wrong = expect;
  const double loss0 = history["loss"][0];
  wrong["runs"]["train"]["scalars"]["epoch_loss"][0][1] =
      static_cast<double>(std::nextafter(static_cast<float>(loss0), 1e9f));
  wrong["runs"]["validation"]["scalars"]["epoch_learning_rate"] = points_of({0.1, 0.05, 0.025});
  std::ofstream(expect_file, std::ios::trunc) << wrong.dump(1);
  const PythonResult bad = run_python_reader(tmp.path() / "logs", expect_file);
  EXPECT_NE(bad.status, 0) << bad.output;
  EXPECT_NE(bad.output.find("FAIL: train epoch_loss step 0"), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find("FAIL: validation: scalar tags"), std::string::npos) << bad.output;
}

TEST(TensorBoardPython, IndependentReaderChecksEveryChecksum) {
  TemporaryDirectory tmp;
  {
    io::EventFileWriter writer(tmp.file("logs/train"));
    writer.add_scalar("epoch_loss", 1.5, 0);
    writer.add_scalar("epoch_loss", 1.25, 1);
  }
  const std::string path = io::list_event_files(tmp.file("logs/train")).at(0);
  const std::string good = read_bytes(path);
  const PythonResult ok = run_python_reader(tmp.path() / "logs", "");
  ASSERT_EQ(ok.status, 0) << ok.output;
  EXPECT_NE(ok.output.find("train epoch_loss 1 1.25"), std::string::npos) << ok.output;

  // A flipped bit in the last record's data, then in the first record's length: each is refused.
  const std::vector<io::EventRecord> events = io::read_event_file(path);
  ASSERT_EQ(events.size(), 3u);
  std::string damaged = good;
  damaged[damaged.size() - 6] ^= 0x10;  // inside the last record's data
  write_bytes(path, damaged);
  PythonResult bad = run_python_reader(tmp.path() / "logs", "");
  EXPECT_NE(bad.status, 0) << bad.output;
  EXPECT_NE(bad.output.find("data CRC mismatch"), std::string::npos) << bad.output;

  damaged = good;
  damaged[1] ^= 0x01;  // the first record's length
  write_bytes(path, damaged);
  bad = run_python_reader(tmp.path() / "logs", "");
  EXPECT_NE(bad.status, 0) << bad.output;
  EXPECT_NE(bad.output.find("length CRC mismatch"), std::string::npos) << bad.output;
}
