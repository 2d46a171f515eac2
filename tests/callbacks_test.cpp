// The Keras callbacks: EarlyStopping, ReduceLROnPlateau, TerminateOnNaN, CSVLogger,
// LearningRateScheduler and LambdaCallback, driven directly with made-up logs (a real small
// Model attached) and inside fit. Each test cites the Keras 3 rule it checks
// (keras/src/callbacks/<name>.py).

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include "regula/callbacks/csv_logger.hpp"
#include "regula/callbacks/early_stopping.hpp"
#include "regula/callbacks/lambda_callback.hpp"
#include "regula/callbacks/learning_rate_scheduler.hpp"
#include "regula/callbacks/monitor.hpp"
#include "regula/callbacks/reduce_lr_on_plateau.hpp"
#include "regula/callbacks/terminate_on_nan.hpp"
#include "regula/regula.hpp"

namespace rg = regula;
namespace cb = regula::callbacks;

namespace {

struct Blobs {
  rg::Tensor x, y;
};

/// Gaussian blobs per class in 2-D (as in model_test.cpp).
Blobs make_blobs(int64_t n, int64_t classes, uint64_t seed) {
  rg::Rng rng(seed);
  Blobs b{rg::Tensor({n, 2}), rg::Tensor({n})};
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = i % classes;
    const double angle = 2.0 * 3.14159265358979 * static_cast<double>(c) / static_cast<double>(classes);
    b.x[2 * i] = static_cast<float>(3.0 * std::cos(angle) + 0.5 * rng.normal());
    b.x[2 * i + 1] = static_cast<float>(3.0 * std::sin(angle) + 0.5 * rng.normal());
    b.y[i] = static_cast<float>(c);
  }
  return b;
}

/// A small classifier compiled with SGD at `learning_rate` (round numbers for lr schedules).
std::unique_ptr<rg::Model> small_classifier(int64_t classes, double learning_rate = 0.1) {
  auto input = rg::layers::Input({2});
  auto x = rg::layers::Dense(8, {.activation = "relu"})(input);
  auto out = rg::layers::Dense(classes, {.activation = "softmax"})(x);
  auto model = std::make_unique<rg::Model>(input, out);
  model->compile({.optimizer = rg::optimizers::SGD({.learning_rate = learning_rate}),
                  .loss = "sparse_categorical_crossentropy",
                  .metrics = {"accuracy"}});
  return model;
}

cb::Logs logs_of(std::initializer_list<std::pair<std::string, double>> entries) {
  cb::Logs logs;
  for (const auto& [name, value] : entries) logs.set(name, value);
  return logs;
}

/// Weights shifted by `delta` (to tell epochs' weights apart).
std::vector<rg::Tensor> shifted(std::vector<rg::Tensor> weights, float delta) {
  for (rg::Tensor& w : weights)
    for (int64_t i = 0; i < w.size(); ++i) w[i] += delta;
  return weights;
}

bool same_weights(const std::vector<rg::Tensor>& a, const std::vector<rg::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t k = 0; k < a.size(); ++k) {
    if (a[k].size() != b[k].size()) return false;
    for (int64_t i = 0; i < a[k].size(); ++i)
      if (a[k][i] != b[k][i]) return false;
  }
  return true;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string temp_path(const std::string& name) { return std::string(REGULA_BINARY_DIR) + "/callbacks_test_" + name; }

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

}  // namespace

// ---- monitor helper --------------------------------------------------------------------------

TEST(Monitor, AutoModeTakesTheDirectionOfTheLossOrTheMetricAsKeras3) {
  // Keras 3's MonitorCallback: loss → min, a compiled metric → its direction, else a ValueError.
  EXPECT_EQ(cb::resolve_monitor_mode("T", "auto", "val_loss"), cb::MonitorMode::kMin);
  EXPECT_EQ(cb::resolve_monitor_mode("T", "auto", "loss"), cb::MonitorMode::kMin);
  EXPECT_EQ(cb::resolve_monitor_mode("T", "auto", "val_accuracy"), cb::MonitorMode::kMax);
  EXPECT_EQ(cb::resolve_monitor_mode("T", "auto", "acc"), cb::MonitorMode::kMax);
  EXPECT_EQ(cb::resolve_monitor_mode("T", "auto", "val_sparse_categorical_accuracy"), cb::MonitorMode::kMax);
  for (const char* unknown : {"val_lossy", "learning_rate", "my_accuracy_like_thing"}) {
    try {
      cb::resolve_monitor_mode("EarlyStopping", "auto", unknown);
      ADD_FAILURE() << unknown << ": a direction was guessed";
    } catch (const rg::ValueError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("mode='max'"), std::string::npos) << msg;
      EXPECT_NE(msg.find(unknown), std::string::npos) << msg;
    }
  }
  EXPECT_EQ(cb::resolve_monitor_mode("T", "max", "val_loss"), cb::MonitorMode::kMax);
  EXPECT_EQ(cb::resolve_monitor_mode("T", "min", "accuracy"), cb::MonitorMode::kMin);
  try {
    cb::resolve_monitor_mode("EarlyStopping", "minimum", "val_loss");
    FAIL() << "expected ValueError";
  } catch (const rg::ValueError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("EarlyStopping"), std::string::npos) << msg;
    EXPECT_NE(msg.find("mode='minimum'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'auto', 'min', 'max'"), std::string::npos) << msg;
  }
}

TEST(Monitor, AbsentKeyWarnsOnceListingTheNames) {
  // Keras warns ("... conditioned on metric `x` which is not available. Available metrics are:
  // a,b"), it does not raise.
  cb::Monitor monitor("EarlyStopping", "Early stopping", "val_loss", "auto");
  cb::Logs logs = logs_of({{"loss", 1.0}, {"accuracy", 0.5}});
  testing::internal::CaptureStderr();
  EXPECT_FALSE(monitor.value(logs).has_value());
  EXPECT_FALSE(monitor.value(logs).has_value());
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("Early stopping conditioned on metric `val_loss` which is not available. Available metrics are: "
                     "loss,accuracy"),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find("val_loss", err.find("val_loss") + 1), std::string::npos) << "warned twice: " << err;
  EXPECT_TRUE(monitor.warned());
}

TEST(Monitor, PythonFloatFormatting) {
  // Keras messages and CSV cells show Python's str(float).
  EXPECT_EQ(cb::python_float(0.5), "0.5");
  EXPECT_EQ(cb::python_float(1.0), "1.0");
  EXPECT_EQ(cb::python_float(0.001), "0.001");
  EXPECT_EQ(cb::python_float(0.0001), "0.0001");
  EXPECT_EQ(cb::python_float(1e-05), "1e-05");
  EXPECT_EQ(cb::python_float(0.1 * 3), "0.30000000000000004");
  EXPECT_EQ(cb::python_float(123.25), "123.25");
  EXPECT_EQ(cb::python_float(1e16), "1e+16");
  EXPECT_EQ(cb::python_float(-2.5e-7), "-2.5e-07");
  EXPECT_EQ(cb::python_float(0.0), "0.0");
  EXPECT_EQ(cb::python_float(kNaN), "nan");
  EXPECT_EQ(cb::python_float(-kInf), "-inf");
}

// ---- EarlyStopping ---------------------------------------------------------------------------

TEST(EarlyStopping, WaitAndBestOverAMadeUpSequence) {
  // early_stopping.py: wait += 1 before the test; reset on improvement; stop when
  // wait >= patience and epoch > 0.
  auto model = small_classifier(2);
  cb::EarlyStopping es({.patience = 2});
  es.set_model(model.get());
  cb::Logs begin;
  es.on_train_begin(begin);
  const double values[] = {1.0, 0.9, 0.95, 0.92};
  const int expected_wait[] = {0, 0, 1, 2};
  for (int epoch = 0; epoch < 4; ++epoch) {
    cb::Logs logs = logs_of({{"loss", 0.0}, {"val_loss", values[epoch]}});
    es.on_epoch_end(epoch, logs);
    EXPECT_EQ(es.wait(), expected_wait[epoch]) << "epoch " << epoch;
    EXPECT_EQ(model->stop_training, epoch == 3) << "epoch " << epoch;
  }
  EXPECT_EQ(es.stopped_epoch(), 3);
  EXPECT_EQ(es.best_epoch(), 1);
  EXPECT_DOUBLE_EQ(es.best(), 0.9);
}

TEST(EarlyStopping, MinDeltaIsMadePositiveAndSignedByTheMode) {
  // early_stopping.py: min_delta = abs(min_delta), negated for "min"; improvement is
  // monitor_op(current - min_delta, best).
  auto model = small_classifier(2);
  for (double delta : {0.05, -0.05}) {
    cb::EarlyStopping es({.min_delta = delta, .patience = 1});
    es.set_model(model.get());
    model->stop_training = false;
    cb::Logs begin;
    es.on_train_begin(begin);
    cb::Logs l0 = logs_of({{"val_loss", 1.0}});
    es.on_epoch_end(0, l0);
    cb::Logs l1 = logs_of({{"val_loss", 0.96}});  // 0.96 + 0.05 is not < 1.0
    es.on_epoch_end(1, l1);
    EXPECT_TRUE(model->stop_training) << "min_delta " << delta;
    EXPECT_EQ(es.best_epoch(), 0);
  }
  // "max" (auto from "accuracy"): current - 0.05 must exceed best.
  cb::EarlyStopping es({.monitor = "val_accuracy", .min_delta = 0.05, .patience = 1});
  es.set_model(model.get());
  model->stop_training = false;
  cb::Logs begin;
  es.on_train_begin(begin);
  cb::Logs l0 = logs_of({{"val_accuracy", 0.5}});
  es.on_epoch_end(0, l0);
  cb::Logs l1 = logs_of({{"val_accuracy", 0.6}});
  es.on_epoch_end(1, l1);
  EXPECT_FALSE(model->stop_training);
  EXPECT_EQ(es.best_epoch(), 1);
  cb::Logs l2 = logs_of({{"val_accuracy", 0.64}});
  es.on_epoch_end(2, l2);
  EXPECT_TRUE(model->stop_training);
  EXPECT_EQ(es.stopped_epoch(), 2);
}

TEST(EarlyStopping, NeverStopsAtEpochZeroAndIgnoresWarmUpEpochs) {
  // early_stopping.py: `if self.wait >= self.patience and epoch > 0`; epochs < start_from_epoch
  // return before anything is counted.
  auto model = small_classifier(2);
  cb::EarlyStopping es({.patience = 0});
  es.set_model(model.get());
  cb::Logs begin;
  es.on_train_begin(begin);
  cb::Logs nan0 = logs_of({{"val_loss", kNaN}});  // NaN never improves
  es.on_epoch_end(0, nan0);
  EXPECT_EQ(es.wait(), 1);
  EXPECT_FALSE(model->stop_training);
  cb::Logs nan1 = logs_of({{"val_loss", kNaN}});
  es.on_epoch_end(1, nan1);
  EXPECT_TRUE(model->stop_training);

  model->stop_training = false;
  cb::EarlyStopping warm({.patience = 1, .start_from_epoch = 2});
  warm.set_model(model.get());
  warm.on_train_begin(begin);
  for (int epoch = 0; epoch < 2; ++epoch) {
    cb::Logs logs = logs_of({{"val_loss", 1.0 + epoch}});
    warm.on_epoch_end(epoch, logs);
    EXPECT_EQ(warm.wait(), 0);
  }
  cb::Logs l2 = logs_of({{"val_loss", 5.0}});
  warm.on_epoch_end(2, l2);
  EXPECT_EQ(warm.best_epoch(), 2);
  EXPECT_FALSE(model->stop_training);
}

TEST(EarlyStopping, BaselineMustBeBeatenToResetPatience) {
  // Keras 3: best follows any improvement, but wait is reset only when the value also improves
  // on the baseline.
  auto model = small_classifier(2);
  cb::EarlyStopping es({.patience = 2, .baseline = 0.5});
  es.set_model(model.get());
  cb::Logs begin;
  es.on_train_begin(begin);
  cb::Logs l0 = logs_of({{"val_loss", 1.0}});
  es.on_epoch_end(0, l0);
  EXPECT_EQ(es.wait(), 1);
  EXPECT_EQ(es.best_epoch(), 0);
  cb::Logs l1 = logs_of({{"val_loss", 1.2}});
  es.on_epoch_end(1, l1);
  EXPECT_EQ(es.wait(), 2);
  EXPECT_TRUE(model->stop_training);
  EXPECT_EQ(es.stopped_epoch(), 1);

  model->stop_training = false;
  es.on_train_begin(begin);
  cb::Logs b0 = logs_of({{"val_loss", 0.4}});
  es.on_epoch_end(0, b0);
  EXPECT_EQ(es.wait(), 0);
}

TEST(EarlyStopping, AbsentMonitorWarnsAndDoesNothing) {
  // Keras warns when the monitored key is missing and skips the epoch.
  auto model = small_classifier(2);
  cb::EarlyStopping es({.monitor = "val_loss"});
  es.set_model(model.get());
  cb::Logs begin;
  es.on_train_begin(begin);
  testing::internal::CaptureStderr();
  for (int epoch = 0; epoch < 3; ++epoch) {
    cb::Logs logs = logs_of({{"loss", 1.0}});
    es.on_epoch_end(epoch, logs);
  }
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("Available metrics are: loss"), std::string::npos) << err;
  EXPECT_FALSE(model->stop_training);
  EXPECT_EQ(es.wait(), 0);
}

TEST(EarlyStopping, RestoresTheBestWeightsAtTrainEndEvenWithoutStopping) {
  // Keras 3 on_train_end: restores best_weights whenever they were kept, stopped early or not.
  auto model = small_classifier(2);
  cb::EarlyStopping es({.patience = 5, .verbose = 1, .restore_best_weights = true});
  es.set_model(model.get());
  cb::Logs begin;
  es.on_train_begin(begin);
  const std::vector<rg::Tensor> w0 = model->get_weights();
  const double values[] = {1.0, 0.5, 0.8};
  std::vector<rg::Tensor> best;
  for (int epoch = 0; epoch < 3; ++epoch) {
    model->set_weights(shifted(w0, static_cast<float>(epoch)));
    if (epoch == 1) best = model->get_weights();
    cb::Logs logs = logs_of({{"val_loss", values[epoch]}});
    es.on_epoch_end(epoch, logs);
  }
  EXPECT_FALSE(model->stop_training);
  testing::internal::CaptureStdout();
  es.on_train_end(begin);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_TRUE(same_weights(model->get_weights(), best));
  EXPECT_NE(out.find("Restoring model weights from the end of the best epoch: 2."), std::string::npos) << out;
  EXPECT_EQ(out.find("early stopping"), std::string::npos) << out;
}

TEST(EarlyStopping, StopsARealFitAtTheExpectedEpochAndRestores) {
  // With a min_delta no change can meet, only the first epoch improves (on +inf): wait reaches
  // patience=2 at epoch 2, so fit runs 3 epochs; restore_best_weights brings back epoch 0's.
  auto model = small_classifier(2);
  Blobs b = make_blobs(64, 2, 3);
  cb::EarlyStopping es({.min_delta = 100.0, .patience = 2, .verbose = 1, .restore_best_weights = true});
  std::vector<rg::Tensor> after_epoch0;
  cb::LambdaCallback keep({.on_epoch_end = [&](int epoch, cb::Logs&) {
    if (epoch == 0) after_epoch0 = model->get_weights();
  }});
  testing::internal::CaptureStdout();
  auto history = model->fit(
      b.x, b.y, {.batch_size = 16, .epochs = 10, .verbose = 0, .callbacks = {&keep, &es}, .validation_split = 0.25});
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(history.size(), 3u);
  EXPECT_EQ(es.stopped_epoch(), 2);
  EXPECT_EQ(es.best_epoch(), 0);
  EXPECT_NE(out.find("Epoch 3: early stopping"), std::string::npos) << out;
  EXPECT_NE(out.find("Restoring model weights from the end of the best epoch: 1."), std::string::npos) << out;
  EXPECT_TRUE(same_weights(model->get_weights(), after_epoch0));
}

TEST(Fit, EachValidationCallsTheTestHooksOfFitsCallbacksAsKeras3) {
  // Keras 3's fit passes its callbacks to the validation's evaluate: on_test_begin, the test batch
  // hooks and on_test_end run once per validation (validation_freq 2: epochs 2 and 4), after the
  // epoch's training batches and before on_epoch_end.
  struct Recorder final : cb::Callback {
    std::vector<std::string> events;
    void on_epoch_end(int epoch, cb::Logs&) override { events.push_back("epoch_end " + std::to_string(epoch)); }
    void on_test_begin(cb::Logs&) override { events.push_back("test_begin"); }
    void on_test_batch_end(int64_t, cb::Logs&) override { ++test_batches; }
    void on_test_end(cb::Logs& logs) override { events.push_back("test_end " + std::to_string(logs.contains("loss"))); }
    int test_batches = 0;
  } recorder;
  auto model = small_classifier(2);
  Blobs b = make_blobs(64, 2, 3);
  model->fit(b.x, b.y,
             {.batch_size = 16, .epochs = 4, .verbose = 0, .callbacks = {&recorder}, .validation_split = 0.25,
              .validation_freq = 2});
  EXPECT_EQ(recorder.events, (std::vector<std::string>{"epoch_end 0", "test_begin", "test_end 1", "epoch_end 1",
                                                       "epoch_end 2", "test_begin", "test_end 1", "epoch_end 3"}));
  EXPECT_EQ(recorder.test_batches, 2);  // 16 validation samples in one batch of 16, twice
}

TEST(EarlyStopping, ValidatesItsOptions) {
  EXPECT_THROW(cb::EarlyStopping({.patience = -1}), rg::ValueError);
  EXPECT_THROW(cb::EarlyStopping({.mode = "down"}), rg::ValueError);
  EXPECT_THROW(cb::EarlyStopping({.monitor = ""}), rg::ValueError);
  EXPECT_THROW(cb::EarlyStopping({.start_from_epoch = -2}), rg::ValueError);
  EXPECT_THROW(cb::EarlyStopping({.min_delta = kNaN}), rg::ValueError);
  try {
    cb::EarlyStopping({.patience = -1});
  } catch (const rg::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("EarlyStopping: patience=-1"), std::string::npos) << e.what();
  }
}

// ---- ReduceLROnPlateau -----------------------------------------------------------------------

TEST(ReduceLROnPlateau, WaitCooldownAndLearningRateOverAMadeUpSequence) {
  // reduce_lr_on_plateau.py order: logs["learning_rate"] = lr; in cooldown → counter -= 1,
  // wait = 0; improved → best, wait = 0; elif not in cooldown → wait += 1 and at patience, when
  // lr > float32(min_lr): lr = max(lr * factor, min_lr), cooldown_counter = cooldown, wait = 0.
  auto model = small_classifier(2, 1.0);
  cb::ReduceLROnPlateau rl(
      {.factor = 0.5, .patience = 2, .verbose = 1, .min_delta = 0.0, .cooldown = 1, .min_lr = 0.2});
  rl.set_model(model.get());
  cb::Logs begin;
  rl.on_train_begin(begin);
  struct Step {
    double value;
    double logged_lr;  // the rate in the logs (before this epoch's change)
    int wait;
    int cooldown;
    double lr_after;
  };
  const Step steps[] = {
      {1.0, 1.0, 0, 0, 1.0},    // first value improves on +inf
      {1.0, 1.0, 1, 0, 1.0},    // no improvement: wait 1
      {1.0, 1.0, 0, 1, 0.5},    // wait 2 = patience: reduce, cooldown 1
      {1.0, 0.5, 1, 0, 0.5},    // cooldown ends this epoch, so wait counts again
      {1.0, 0.5, 0, 1, 0.25},   // reduce again
      {1.0, 0.25, 1, 0, 0.25},  //
      {0.5, 0.25, 0, 0, 0.25},  // improvement: best 0.5, wait 0
      {0.5, 0.25, 1, 0, 0.25},  //
      {0.5, 0.25, 0, 1, 0.2},   // max(0.125, min_lr 0.2)
      {0.5, 0.2, 1, 0, 0.2},    //
      {0.5, 0.2, 2, 0, 0.2},    // lr 0.2 is not > float32(0.2): no change, wait keeps growing
      {0.5, 0.2, 3, 0, 0.2},
  };
  testing::internal::CaptureStdout();
  for (int epoch = 0; epoch < static_cast<int>(std::size(steps)); ++epoch) {
    cb::Logs logs = logs_of({{"loss", 0.1}, {"val_loss", steps[epoch].value}});
    rl.on_epoch_end(epoch, logs);
    EXPECT_DOUBLE_EQ(logs.at("learning_rate"), steps[epoch].logged_lr) << "epoch " << epoch;
    EXPECT_EQ(rl.wait(), steps[epoch].wait) << "epoch " << epoch;
    EXPECT_EQ(rl.cooldown_counter(), steps[epoch].cooldown) << "epoch " << epoch;
    EXPECT_DOUBLE_EQ(model->optimizer().learning_rate(), steps[epoch].lr_after) << "epoch " << epoch;
  }
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("Epoch 3: ReduceLROnPlateau reducing learning rate to 0.5."), std::string::npos) << out;
  EXPECT_NE(out.find("Epoch 5: ReduceLROnPlateau reducing learning rate to 0.25."), std::string::npos) << out;
  EXPECT_NE(out.find("Epoch 9: ReduceLROnPlateau reducing learning rate to 0.2."), std::string::npos) << out;
  EXPECT_DOUBLE_EQ(rl.best(), 0.5);
}

TEST(ReduceLROnPlateau, MinDeltaAndMaxMode) {
  // Keras: min mode improves when current < best - min_delta; "acc" in the name → max mode,
  // improving when current > best + min_delta.
  auto model = small_classifier(2, 1.0);
  cb::ReduceLROnPlateau rl({.monitor = "val_accuracy", .factor = 0.5, .patience = 1, .min_delta = 0.1});
  rl.set_model(model.get());
  cb::Logs begin;
  rl.on_train_begin(begin);
  cb::Logs l0 = logs_of({{"val_accuracy", 0.5}});
  rl.on_epoch_end(0, l0);
  cb::Logs l1 = logs_of({{"val_accuracy", 0.65}});
  rl.on_epoch_end(1, l1);
  EXPECT_EQ(rl.wait(), 0);
  EXPECT_DOUBLE_EQ(rl.best(), 0.65);
  cb::Logs l2 = logs_of({{"val_accuracy", 0.7}});  // not > 0.65 + 0.1
  rl.on_epoch_end(2, l2);
  EXPECT_DOUBLE_EQ(model->optimizer().learning_rate(), 0.5);
}

TEST(ReduceLROnPlateau, ANegativeMinDeltaCountsAsItsAbsoluteValue) {
  // Keras 3's MonitorCallback takes abs(min_delta): -0.1 asks for improvements of more than 0.1,
  // so a flat loss still reduces the rate (with min_delta as given, every epoch would "improve").
  auto model = small_classifier(2, 0.1);
  cb::ReduceLROnPlateau rl({.factor = 0.1, .patience = 1, .verbose = 1, .min_delta = -0.1});
  rl.set_model(model.get());
  cb::Logs begin;
  rl.on_train_begin(begin);
  testing::internal::CaptureStdout();
  for (int epoch = 0; epoch < 2; ++epoch) {
    cb::Logs logs = logs_of({{"val_loss", 1.0 - 0.05 * epoch}});  // 0.05 better: less than 0.1
    rl.on_epoch_end(epoch, logs);
  }
  const std::string out = testing::internal::GetCapturedStdout();
  // The message prints the new rate computed from the float32 rate, as Keras's does.
  EXPECT_EQ(out, "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.010000000149011612.\n");
  EXPECT_NEAR(model->optimizer().learning_rate(), 0.01, 1e-9);
}

TEST(ReduceLROnPlateau, FactorOfOneOrMoreIsAValueError) {
  // reduce_lr_on_plateau.py: "ReduceLROnPlateau does not support a factor >= 1.0".
  try {
    cb::ReduceLROnPlateau rl({.factor = 1.0});
    FAIL() << "expected ValueError";
  } catch (const rg::ValueError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("ReduceLROnPlateau: factor=1.0"), std::string::npos) << msg;
  }
  EXPECT_THROW(cb::ReduceLROnPlateau({.factor = 2.0}), rg::ValueError);
  EXPECT_THROW(cb::ReduceLROnPlateau({.patience = -1}), rg::ValueError);
  EXPECT_THROW(cb::ReduceLROnPlateau({.cooldown = -1}), rg::ValueError);
  EXPECT_THROW(cb::ReduceLROnPlateau({.min_lr = -1.0}), rg::ValueError);
  EXPECT_THROW(cb::ReduceLROnPlateau({.mode = "maximum"}), rg::ValueError);
}

TEST(ReduceLROnPlateau, LearningRateReachesHistoryInFit) {
  // fit runs user callbacks before History, so the learning_rate Keras writes is recorded.
  auto model = small_classifier(2, 0.1);
  Blobs b = make_blobs(32, 2, 4);
  cb::ReduceLROnPlateau rl({.monitor = "loss", .patience = 0, .min_delta = 100.0});
  auto history = model->fit(b.x, b.y, {.batch_size = 16, .epochs = 3, .verbose = 0, .callbacks = {&rl}});
  ASSERT_TRUE(history.contains("learning_rate"));
  const std::vector<double>& lr = history["learning_rate"];
  ASSERT_EQ(lr.size(), 3u);
  // patience 0: every non-improving epoch (all after the first) reduces by 0.1, from the rate as
  // the optimizer's float32 variable holds it (Keras's arithmetic).
  const auto as_float32 = [](double v) { return static_cast<double>(static_cast<float>(v)); };
  EXPECT_DOUBLE_EQ(lr[0], 0.1);
  EXPECT_DOUBLE_EQ(lr[1], 0.1);
  EXPECT_EQ(lr[2], as_float32(0.1) * 0.1);
  EXPECT_EQ(model->optimizer().learning_rate(), as_float32(as_float32(0.1) * 0.1) * 0.1);
}

// ---- TerminateOnNaN --------------------------------------------------------------------------

TEST(TerminateOnNaN, StopsOnANaNOrInfiniteBatchLoss) {
  // terminate_on_nan.py: on batch end, NaN or inf loss → "Batch N: Invalid loss, terminating
  // training" and model.stop_training = True.
  auto model = small_classifier(2);
  cb::TerminateOnNaN t;
  t.set_model(model.get());
  cb::Logs fine = logs_of({{"loss", 0.5}});
  t.on_train_batch_end(0, fine);
  cb::Logs no_loss = logs_of({{"accuracy", kNaN}});
  t.on_train_batch_end(1, no_loss);
  EXPECT_FALSE(model->stop_training);
  testing::internal::CaptureStdout();
  cb::Logs bad = logs_of({{"loss", kNaN}});
  t.on_train_batch_end(7, bad);
  std::string out = testing::internal::GetCapturedStdout();
  EXPECT_TRUE(model->stop_training);
  EXPECT_TRUE(t.terminated());
  EXPECT_NE(out.find("Batch 7: Invalid loss, terminating training"), std::string::npos) << out;

  model->stop_training = false;
  cb::TerminateOnNaN t2;
  t2.set_model(model.get());
  testing::internal::CaptureStdout();
  cb::Logs inf = logs_of({{"loss", kInf}});
  t2.on_train_batch_end(3, inf);
  out = testing::internal::GetCapturedStdout();
  EXPECT_TRUE(model->stop_training);
}

// ---- CSVLogger -------------------------------------------------------------------------------

TEST(CSVLogger, WritesSortedColumnsAndOneRowPerEpoch) {
  // csv_logger.py: keys = sorted(logs) at the first epoch; "NA" for a key missing later; csv
  // "excel" dialect rows end with "\r\n"; values as Python's str(float).
  const std::string path = temp_path("sorted.csv");
  std::remove(path.c_str());
  auto model = small_classifier(2);
  cb::CSVLogger logger(path);
  logger.set_model(model.get());
  cb::Logs begin;
  logger.on_train_begin(begin);
  cb::Logs l0 = logs_of({{"loss", 0.5}, {"accuracy", 0.25}, {"val_loss", 1e-05}});
  logger.on_epoch_end(0, l0);
  // Flushed after each row.
  EXPECT_EQ(read_all(path), "epoch,accuracy,loss,val_loss\r\n0,0.25,0.5,1e-05\r\n");
  cb::Logs l1 = logs_of({{"loss", 0.25}, {"accuracy", 1.0}, {"extra", 3.0}});
  logger.on_epoch_end(1, l1);
  logger.on_train_end(begin);
  EXPECT_EQ(read_all(path), "epoch,accuracy,loss,val_loss\r\n0,0.25,0.5,1e-05\r\n1,1.0,0.25,NA\r\n");
  std::remove(path.c_str());
}

TEST(CSVLogger, AppendDoesNotRepeatTheHeaderAndSeparatorIsUsed) {
  // csv_logger.py: in append mode the header is written only when the file's first line is empty.
  const std::string path = temp_path("append.csv");
  std::remove(path.c_str());
  auto model = small_classifier(2);
  cb::CSVLogger logger(path, {.separator = ";", .append = true});
  logger.set_model(model.get());
  cb::Logs begin;
  for (int run = 0; run < 2; ++run) {
    logger.on_train_begin(begin);
    cb::Logs logs = logs_of({{"loss", 0.5 + run}});
    logger.on_epoch_end(run, logs);
    logger.on_train_end(begin);
  }
  EXPECT_EQ(read_all(path), "epoch;loss\r\n0;0.5\r\n1;1.5\r\n");
  // Without append the file is overwritten.
  cb::CSVLogger fresh(path);
  fresh.set_model(model.get());
  fresh.on_train_begin(begin);
  cb::Logs logs = logs_of({{"loss", 2.0}});
  fresh.on_epoch_end(0, logs);
  fresh.on_train_end(begin);
  EXPECT_EQ(read_all(path), "epoch,loss\r\n0,2.0\r\n");
  std::remove(path.c_str());
}

TEST(CSVLogger, LogsARealFit) {
  const std::string path = temp_path("fit.csv");
  auto model = small_classifier(2);
  Blobs b = make_blobs(32, 2, 6);
  cb::CSVLogger logger(path);
  model->fit(b.x, b.y, {.batch_size = 16, .epochs = 2, .verbose = 0, .callbacks = {&logger}, .validation_split = 0.25});
  const std::string text = read_all(path);
  EXPECT_EQ(text.rfind("epoch,accuracy,loss,val_accuracy,val_loss\r\n0,", 0), 0u) << text;
  EXPECT_NE(text.find("\r\n1,"), std::string::npos) << text;
  std::remove(path.c_str());
}

TEST(CSVLogger, UnwritablePathIsAnIOErrorAtTrainBegin) {
  const std::string path = "/nonexistent-regula-dir/log.csv";
  cb::CSVLogger logger(path);  // nothing is opened yet
  cb::Logs begin;
  try {
    logger.on_train_begin(begin);
    FAIL() << "expected IOError";
  } catch (const rg::IOError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  EXPECT_THROW(cb::CSVLogger("", {}), rg::ValueError);
  EXPECT_THROW(cb::CSVLogger("x.csv", {.separator = ""}), rg::ValueError);
}

// ---- LearningRateScheduler -------------------------------------------------------------------

TEST(LearningRateScheduler, SetsTheRateAtEpochBeginAndLogsIt) {
  // learning_rate_scheduler.py: lr = schedule(epoch, lr) at epoch begin; logs["learning_rate"]
  // at epoch end.
  auto model = small_classifier(2, 0.1);
  Blobs b = make_blobs(32, 2, 7);
  std::vector<std::pair<int, double>> calls;
  cb::LearningRateScheduler scheduler(
      [&](int epoch, double lr) {
        calls.emplace_back(epoch, lr);
        return epoch == 0 ? lr : lr * 0.5;
      },
      1);
  testing::internal::CaptureStdout();
  auto history = model->fit(b.x, b.y, {.batch_size = 16, .epochs = 3, .verbose = 0, .callbacks = {&scheduler}});
  const std::string out = testing::internal::GetCapturedStdout();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[2].first, 2);
  EXPECT_DOUBLE_EQ(calls[2].second, 0.05);
  const std::vector<double>& lr = history["learning_rate"];
  ASSERT_EQ(lr.size(), 3u);
  EXPECT_DOUBLE_EQ(lr[0], 0.1);
  EXPECT_DOUBLE_EQ(lr[1], 0.05);
  EXPECT_DOUBLE_EQ(lr[2], 0.025);
  EXPECT_NE(out.find("Epoch 2: LearningRateScheduler setting learning rate to 0.05."), std::string::npos) << out;
}

TEST(LearningRateScheduler, InvalidScheduleResultsAreValueErrors) {
  auto model = small_classifier(2, 0.1);
  cb::Logs logs;
  for (double bad : {-0.1, kNaN, kInf}) {
    cb::LearningRateScheduler scheduler([bad](int, double) { return bad; });
    scheduler.set_model(model.get());
    try {
      scheduler.on_epoch_begin(4, logs);
      FAIL() << "expected ValueError for " << bad;
    } catch (const rg::ValueError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("LearningRateScheduler"), std::string::npos) << msg;
      EXPECT_NE(msg.find("epoch 4"), std::string::npos) << msg;
    }
  }
  EXPECT_DOUBLE_EQ(model->optimizer().learning_rate(), 0.1);
  EXPECT_THROW(cb::LearningRateScheduler(nullptr), rg::ValueError);
}

// ---- LambdaCallback --------------------------------------------------------------------------

TEST(LambdaCallback, CallsTheGivenFunctionsAndSkipsTheOthers) {
  // lambda_callback.py: each given function runs at its hook; the others are no-ops.
  auto model = small_classifier(2);
  Blobs b = make_blobs(48, 2, 8);
  int train_begin = 0, train_end = 0, epoch_begin = 0, batch_end = 0;
  std::vector<int> epochs_ended;
  cb::LambdaCallback lambda({.on_epoch_begin = [&](int, cb::Logs&) { ++epoch_begin; },
                             .on_epoch_end =
                                 [&](int epoch, cb::Logs& logs) {
                                   epochs_ended.push_back(epoch);
                                   EXPECT_TRUE(logs.contains("loss"));
                                 },
                             .on_train_begin = [&](cb::Logs&) { ++train_begin; },
                             .on_train_end = [&](cb::Logs&) { ++train_end; },
                             .on_train_batch_end = [&](int64_t, cb::Logs&) { ++batch_end; }});
  model->fit(b.x, b.y, {.batch_size = 16, .epochs = 2, .verbose = 0, .callbacks = {&lambda}});
  EXPECT_EQ(train_begin, 1);
  EXPECT_EQ(train_end, 1);
  EXPECT_EQ(epoch_begin, 2);
  EXPECT_EQ(epochs_ended, (std::vector<int>{0, 1}));
  EXPECT_EQ(batch_end, 6);
  cb::LambdaCallback empty;
  cb::Logs logs;
  empty.on_epoch_end(0, logs);  // no function given: nothing happens
}

TEST(TerminateOnNaN, EndsFitGracefullyWhereFitWouldOtherwiseThrow) {
  // Keras 3: TerminateOnNaN sets stop_training at the batch whose loss is NaN; fit stops after
  // that batch and still ends the epoch. Without it, regula's fit throws NumericalError.
  auto make = [] {
    auto input = rg::layers::Input({2});
    auto model = std::make_unique<rg::Model>(input, rg::layers::Dense(2, {.activation = "softmax"})(input));
    model->compile({.optimizer = "adam", .loss = "sparse_categorical_crossentropy"});
    return model;
  };
  rg::Tensor x({64, 2}, 0.5f), y({64});
  x[2 * 40] = std::nanf("");  // batch 2 of 4 with batch_size 16, unshuffled
  cb::TerminateOnNaN terminate;
  auto model = make();
  const auto history = model->fit(x, y, {.batch_size = 16, .epochs = 3, .verbose = 0, .callbacks = {&terminate}, .shuffle = false});
  EXPECT_TRUE(terminate.terminated());
  EXPECT_EQ(history.size(), 1u);  // the epoch ended, no further epoch ran
  EXPECT_TRUE(std::isnan(history["loss"].front()));
  EXPECT_THROW(make()->fit(x, y, {.batch_size = 16, .epochs = 3, .verbose = 0, .shuffle = false}), rg::NumericalError);
}
