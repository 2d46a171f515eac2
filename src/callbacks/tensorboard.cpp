#include "regula/callbacks/tensorboard.hpp"

#include <filesystem>
#include <optional>

#include "regula/error.hpp"
#include "regula/io/event_file_writer.hpp"
#include "regula/model/model.hpp"
#include "regula/model/model_file.hpp"

namespace regula::callbacks {
namespace {

int64_t batch_frequency_of(const UpdateFreq& freq) {
  if (freq.name == "epoch") return 0;
  if (freq.name == "batch") return 1;
  if (freq.name.empty() && freq.batches >= 1) return freq.batches;
  const std::string given = freq.name.empty() ? std::to_string(freq.batches) : "'" + freq.name + "'";
  throw ValueError("TensorBoard: update_freq=" + given +
                   " is not allowed; allowed: 'epoch', 'batch' or a number of batches >= 1");
}

}  // namespace

TensorBoard::TensorBoard(TensorBoardOptions options) : options_(std::move(options)) {
  if (options_.log_dir.empty()) throw ValueError("TensorBoard: log_dir='' is not allowed; allowed: a directory path");
  if (options_.histogram_freq < 0)
    throw ValueError("TensorBoard: histogram_freq=" + std::to_string(options_.histogram_freq) +
                     " is not allowed; allowed: 0 (no histograms) or a number of epochs >= 1");
  batch_frequency_ = batch_frequency_of(options_.update_freq);
}

TensorBoard::~TensorBoard() = default;

io::EventFileWriter& TensorBoard::writer(std::unique_ptr<io::EventFileWriter>& slot, const char* run) {
  if (!slot) {
    try {
      slot = std::make_unique<io::EventFileWriter>((std::filesystem::path(options_.log_dir) / run).string());
    } catch (const IOError& e) {
      throw IOError("TensorBoard (log_dir '" + options_.log_dir + "'): " + e.what());
    }
  }
  return *slot;
}

io::EventFileWriter& TensorBoard::train_writer() { return writer(train_, "train"); }

io::EventFileWriter& TensorBoard::validation_writer() { return writer(validation_, "validation"); }

void TensorBoard::close_writers() {
  // Both are released even when closing the first one fails.
  std::unique_ptr<io::EventFileWriter> train = std::move(train_), validation = std::move(validation_);
  if (train) train->close();
  if (validation) validation->close();
}

SavedState TensorBoard::state() const {
  SavedState s;
  s.numbers = {{"global_train_batch", static_cast<double>(global_train_batch_)}};
  // Each event file by its name in log_dir/<run> (the run directory may have moved since).
  const auto record = [&s](const std::unique_ptr<io::EventFileWriter>& writer, const std::string& run) {
    if (!writer || !writer->is_open()) return;
    s.texts[run + "/file"] = std::filesystem::path(writer->path()).filename().string();
    s.numbers[run + "/length"] = static_cast<double>(writer->flushed_length());
  };
  record(train_, "train");
  record(validation_, "validation");
  return s;
}

void TensorBoard::set_state(const SavedState& s) {
  constexpr const char* kOwner = "TensorBoard::set_state";
  const int64_t global_train_batch = static_cast<int64_t>(s.number(kOwner, "global_train_batch"));
  // The saved files, each checked before anything changes.
  struct Saved {
    std::string path;
    uint64_t length = 0;
  };
  std::optional<Saved> saved[2];
  const char* runs[2] = {"train", "validation"};
  for (int r = 0; r < 2; ++r) {
    const auto file = s.texts.find(std::string(runs[r]) + "/file");
    if (file == s.texts.end()) continue;
    const std::string path = (std::filesystem::path(options_.log_dir) / runs[r] / file->second).string();
    const uint64_t length = static_cast<uint64_t>(s.number(kOwner, std::string(runs[r]) + "/length"));
    std::error_code ec;
    const uintmax_t size = std::filesystem::file_size(path, ec);
    if (ec || size < length)
      throw IOError("TensorBoard: cannot continue the event file '" + path + "' of the backup: " +
                    (ec ? ec.message() : "it holds fewer bytes than were written before the backup"));
    saved[r] = Saved{path, length};
  }
  // The files this fit's on_train_begin opened make way for the saved ones.
  for (std::unique_ptr<io::EventFileWriter>* slot : {&train_, &validation_}) {
    if (!*slot) continue;
    const std::string opened = (*slot)->path();
    (*slot)->close();
    slot->reset();
    const bool kept = (saved[0] && saved[0]->path == opened) || (saved[1] && saved[1]->path == opened);
    std::error_code ec;
    if (!kept) std::filesystem::remove(opened, ec);
  }
  if (saved[0]) train_ = std::make_unique<io::EventFileWriter>(io::EventFileWriter::continue_file(saved[0]->path, saved[0]->length));
  if (saved[1])
    validation_ = std::make_unique<io::EventFileWriter>(io::EventFileWriter::continue_file(saved[1]->path, saved[1]->length));
  global_train_batch_ = global_train_batch;
}

void TensorBoard::on_train_begin(Logs&) {
  // Keras opens new writers for every fit (set_model resets them).
  train_.reset();
  validation_.reset();
  global_train_batch_ = 0;
  io::EventFileWriter& train = train_writer();  // a log_dir that cannot be written fails here
  if (options_.write_graph && has_model() && !model().layers().empty()) {
    train.add_string_tensor("keras", regula::model_config(model()).dump(), 0, "graph_keras_model", "1");
    train.flush();
  }
}

void TensorBoard::on_train_end(Logs&) { close_writers(); }

void TensorBoard::on_train_batch_begin(int64_t, Logs&) { ++global_train_batch_; }

void TensorBoard::on_train_batch_end(int64_t, Logs& logs) {
  if (batch_frequency_ == 0 || global_train_batch_ % batch_frequency_ != 0) return;
  io::EventFileWriter& train = train_writer();
  for (const auto& [name, value] : logs) train.add_scalar("batch_" + name, value, global_train_batch_);
}

void TensorBoard::on_epoch_end(int epoch, Logs& logs) {
  if (!logs.empty()) {
    Logs train_logs, validation_logs;
    for (const auto& [name, value] : logs) {
      if (name.rfind("val_", 0) == 0)
        validation_logs.set(name.substr(4), value);
      else
        train_logs.set(name, value);
    }
    if (has_model() && model().compiled()) train_logs.set("learning_rate", model().optimizer().learning_rate());
    io::EventFileWriter& train = train_writer();
    for (const auto& [name, value] : train_logs) train.add_scalar("epoch_" + name, value, epoch);
    train.flush();
    if (!validation_logs.empty()) {
      io::EventFileWriter& validation = validation_writer();
      for (const auto& [name, value] : validation_logs) validation.add_scalar("epoch_" + name, value, epoch);
      validation.flush();
    }
  }
  if (options_.histogram_freq > 0 && epoch % options_.histogram_freq == 0) write_weight_histograms(epoch);
}

void TensorBoard::write_weight_histograms(int epoch) {
  if (!has_model()) return;
  io::EventFileWriter& train = train_writer();
  for (const layers::Layer* layer : model().layers())
    for (const layers::Weight& w : layer->weights())
      train.add_histogram(layer->name() + "/" + w.name + "_0/histogram", w.value.data(),
                          static_cast<size_t>(w.value.size()), epoch);
  train.flush();
}

void TensorBoard::on_test_end(Logs& logs) {
  if (logs.empty() || !has_model() || !model().compiled()) return;
  io::EventFileWriter& validation = validation_writer();
  const int64_t iterations = model().optimizer().iterations();
  for (const auto& [name, value] : logs)
    validation.add_scalar("evaluation_" + name + "_vs_iterations", value, iterations);
  validation.flush();
}

}  // namespace regula::callbacks
