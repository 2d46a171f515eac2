// The learning-curve report: the diagnosis rules on hand-made histories, the events replayed from
// the callbacks' configurations, the SVG charts, reading run directories (good, empty,
// interrupted, malformed, with NaN), the class evaluation, the comparison report, the callback,
// and a whole `experiment::run` that writes evaluation.json, augmentation.png and report.html.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "experiment_fixture.hpp"
#include "regula/callbacks/early_stopping.hpp"
#include "regula/callbacks/model_checkpoint.hpp"
#include "regula/error.hpp"
#include "regula/experiment/experiment.hpp"
#include "regula/layers/dense.hpp"
#include "regula/layers/input.hpp"
#include "regula/model/sequential.hpp"
#include "regula/optimizers/optimizer.hpp"
#include "regula/report/diagnosis.hpp"
#include "regula/report/html_report.hpp"
#include "regula/report/learning_curve_report.hpp"
#include "regula/report/run_data.hpp"
#include "regula/report/svg_chart.hpp"
#include "regula/report/test_evaluation.hpp"
#include "regula/report/training_events.hpp"
#include "regula/utils/random.hpp"
#include "test_support.hpp"

namespace rg = regula;
namespace rp = regula::report;
namespace fs = std::filesystem;
using nlohmann::json;
using regula::testing_support::expect_error;
using regula::testing_support::TemporaryDirectory;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

rp::HistoryData history(const std::vector<std::pair<std::string, std::vector<double>>>& series) {
  rp::HistoryData h;
  for (size_t i = 0; i < series.front().second.size(); ++i) h.epoch.push_back(static_cast<int>(i));
  for (const auto& [name, values] : series) h.add(name, values);
  return h;
}

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

size_t count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

// ---- diagnosis: one hand-made history per rule ----------------------------------------------

TEST(ReportDiagnosis, NoEpochsAndNoLoss) {
  EXPECT_EQ(rp::diagnose(rp::HistoryData{}).verdict, rp::Verdict::no_epochs);
  EXPECT_EQ(rp::diagnose(history({{"accuracy", {0.5, 0.6}}})).verdict, rp::Verdict::no_epochs);
}

TEST(ReportDiagnosis, DivergedFromTheFirstOfTheTrailingNaNs) {
  const auto d = rp::diagnose(history({{"loss", {1.0, kNaN, 0.8, kNaN, kNaN}}, {"val_loss", {1.1, 1.0, 0.9, kNaN, kNaN}}}));
  EXPECT_EQ(d.verdict, rp::Verdict::diverged);
  EXPECT_EQ(d.from_epoch, 3);
  EXPECT_TRUE(contains(d.sentence, "NaN from epoch 4")) << d.sentence;
}

TEST(ReportDiagnosis, OneEpochIsTooShort) {
  EXPECT_EQ(rp::diagnose(history({{"loss", {1.0}}, {"val_loss", {1.0}}})).verdict, rp::Verdict::too_short);
}

TEST(ReportDiagnosis, NoValidationCurve) {
  const auto d = rp::diagnose(history({{"loss", {1.0, 0.5, 0.3}}, {"val_loss", {kNaN, kNaN, kNaN}}}));
  EXPECT_EQ(d.verdict, rp::Verdict::no_validation);
  EXPECT_TRUE(contains(d.sentence, "1.0000 → 0.3000")) << d.sentence;
}

TEST(ReportDiagnosis, OverfittingWhenValidationLossRisesWhileTrainingLossFalls) {
  // Best validation loss at epoch 5 (index 4), then 5 epochs of rise while training loss falls.
  const auto d = rp::diagnose(history({{"loss", {1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1}},
                                       {"val_loss", {1.1, 0.9, 0.75, 0.7, 0.65, 0.7, 0.75, 0.8, 0.9, 1.0}},
                                       {"accuracy", {0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97}},
                                       {"val_accuracy", {0.5, 0.6, 0.68, 0.7, 0.72, 0.71, 0.7, 0.7, 0.69, 0.68}}}));
  EXPECT_EQ(d.verdict, rp::Verdict::overfitting);
  EXPECT_EQ(d.from_epoch, 5);
  EXPECT_EQ(d.best_val_loss_epoch, 4);
  EXPECT_TRUE(contains(d.sentence, "overfitting from epoch 6: validation loss has risen for 5 epochs")) << d.sentence;
  EXPECT_TRUE(contains(d.sentence, "accuracy gap 0.2900 at epoch 10")) << d.sentence;
}

TEST(ReportDiagnosis, TooFewRisingEpochsOrAFallingTrainingLossIsNotOverfitting) {
  // Only 2 epochs after the best (rising_epochs is 3).
  const auto short_rise = rp::diagnose(history({{"loss", {1.0, 0.8, 0.6, 0.5, 0.4}}, {"val_loss", {1.0, 0.8, 0.7, 0.8, 0.9}}}));
  EXPECT_NE(short_rise.verdict, rp::Verdict::overfitting);
  // Both losses rise after the best: not overfitting (the training loss did not fall).
  const auto both_rise = rp::diagnose(
      history({{"loss", {1.0, 0.5, 0.6, 0.7, 0.8, 0.9}}, {"val_loss", {1.0, 0.6, 0.7, 0.8, 0.9, 1.0}}}));
  EXPECT_NE(both_rise.verdict, rp::Verdict::overfitting);
  // Within the tolerance: 0.5 % above the best is level, not a rise.
  const auto level = rp::diagnose(history({{"loss", {1.0, 0.8, 0.6, 0.5, 0.45, 0.4}},
                                           {"val_loss", {1.0, 0.7, 0.6, 0.601, 0.602, 0.603}}}));
  EXPECT_EQ(level.verdict, rp::Verdict::good_fit) << level.sentence;
}

TEST(ReportDiagnosis, NotLearningWhenTheTrainingLossStaysFlat) {
  const auto d = rp::diagnose(history({{"loss", {1.0, 1.001, 0.999, 0.998}}, {"val_loss", {1.0, 1.0, 1.0, 1.0}}}));
  EXPECT_EQ(d.verdict, rp::Verdict::not_learning);
}

TEST(ReportDiagnosis, UnderfittingWhenBothCurvesAreStillFalling) {
  const auto d = rp::diagnose(history({{"loss", {1.0, 0.9, 0.8, 0.7, 0.6, 0.5}}, {"val_loss", {1.1, 1.0, 0.9, 0.8, 0.7, 0.6}}}));
  EXPECT_EQ(d.verdict, rp::Verdict::underfitting);
  EXPECT_TRUE(contains(d.sentence, "both curves still falling")) << d.sentence;
}

TEST(ReportDiagnosis, GoodFitWhenTheValidationLossLevelsOff) {
  const auto d = rp::diagnose(history({{"loss", {1.0, 0.6, 0.45, 0.4, 0.39, 0.385}},
                                       {"val_loss", {1.0, 0.65, 0.5, 0.48, 0.479, 0.4795}}}));
  EXPECT_EQ(d.verdict, rp::Verdict::good_fit) << d.sentence;
  EXPECT_EQ(d.best_val_loss_epoch, 4);
}

TEST(ReportDiagnosis, NaNValuesAreNamedAndLeftOut) {
  const auto d = rp::diagnose(history({{"loss", {1.0, 0.9, 0.8, 0.7, 0.6, 0.5}},
                                       {"val_loss", {1.1, 1.0, kNaN, 0.8, 0.7, 0.6}},
                                       {"val_accuracy", {0.1, std::numeric_limits<double>::infinity(), 0.3, 0.4, 0.5, 0.6}}}));
  EXPECT_EQ(d.verdict, rp::Verdict::underfitting) << d.sentence;
  ASSERT_EQ(d.notes.size(), 2u);
  EXPECT_EQ(d.notes[0], "val_loss is NaN at epoch 3 (drawn as gaps)");
  EXPECT_EQ(d.notes[1], "val_accuracy is infinite at epoch 2 (drawn as gaps)");
}

// ---- events replayed from the callbacks' configurations ------------------------------------

TEST(ReportEvents, LearningRateChangesComeFromTheLoggedRate) {
  const auto h = history({{"loss", {1, 1, 1, 1}}, {"learning_rate", {0.01, 0.01, 0.001, 0.0001}}});
  const auto events = rp::find_training_events(h, json::array(), 4);
  ASSERT_EQ(events.learning_rate_changes.size(), 2u);
  EXPECT_EQ(events.learning_rate_changes[0].epoch, 1);
  EXPECT_DOUBLE_EQ(events.learning_rate_changes[0].to, 0.001);
  EXPECT_EQ(events.learning_rate_changes[1].epoch, 2);
  EXPECT_FALSE(events.incomplete);
}

TEST(ReportEvents, EarlyStoppingAndKeptEpochsFollowTheCallbacksRules) {
  // val_loss best at index 1; patience 2 stops at index 3 (wait reaches 2).
  const auto h = history({{"val_loss", {1.0, 0.9, 0.95, 0.96}}, {"val_accuracy", {0.5, 0.7, 0.7, 0.65}}});
  const json callbacks = json::parse(R"([
    {"class_name": "EarlyStopping", "monitor": "val_loss", "patience": 2, "restore_best_weights": true},
    {"class_name": "ModelCheckpoint", "filepath": "best.h5", "monitor": "val_accuracy", "save_best_only": true},
    {"class_name": "CSVLogger", "filename": "log.csv"}])");
  const auto events = rp::find_training_events(h, callbacks, 10);
  ASSERT_TRUE(events.early_stopping_epoch.has_value());
  EXPECT_EQ(*events.early_stopping_epoch, 3);
  EXPECT_FALSE(events.incomplete);
  ASSERT_EQ(events.kept.size(), 2u);
  EXPECT_EQ(events.kept[0].by, "EarlyStopping");
  EXPECT_EQ(events.kept[0].epoch, 1);
  EXPECT_EQ(events.kept[0].mode, rg::Direction::kMin);
  // ModelCheckpoint saves on strict improvement only: the tie at index 2 does not replace index 1.
  EXPECT_EQ(events.kept[1].by, "ModelCheckpoint");
  EXPECT_EQ(events.kept[1].epoch, 1);
  EXPECT_EQ(events.kept[1].file, "best.h5");
  EXPECT_EQ(events.kept[1].mode, rg::Direction::kMax);

  // A longer patience would not have stopped: fewer epochs than planned is an interrupted run.
  const auto patient = rp::find_training_events(
      h, json::parse(R"([{"class_name": "EarlyStopping", "monitor": "val_loss", "patience": 5}])"), 10);
  EXPECT_FALSE(patient.early_stopping_epoch.has_value());
  EXPECT_TRUE(patient.incomplete);
  // Malformed configurations (which the run would have refused) mark nothing and do not throw.
  const auto malformed = rp::find_training_events(
      h, json::parse(R"([{"class_name": "EarlyStopping", "monitor": 3}, {"class_name": "ModelCheckpoint", "mode": "sideways",
                          "save_best_only": true}, 7])"), 4);
  EXPECT_TRUE(malformed.kept.empty());
  EXPECT_FALSE(malformed.early_stopping_epoch.has_value());
}

// ---- SVG charts ------------------------------------------------------------------------------

TEST(ReportSvg, NaNValuesBreakTheLineAndLonePointsAreDots) {
  rp::LineChart c{.title = "t"};
  c.series.push_back({"a", {1, 2, 3, 4, 5, 6, 7}, {1.0, 2.0, kNaN, 4.0, 5.0, kNaN, 7.0}});
  const std::string svg = rp::render_svg(c);
  EXPECT_EQ(count(svg, "<path class=\"series\""), 2u) << svg;
  EXPECT_EQ(count(svg, "r=\"3.5\""), 1u);  // the lone value at x = 7
  EXPECT_EQ(count(svg, "<circle"), 5u);
  EXPECT_EQ(svg.rfind("<svg class=\"chart\"", 0), 0u);
}

TEST(ReportSvg, TextIsEscapedAndMarkersAreDrawn) {
  rp::LineChart c{.title = "<script>alert(1)</script>", .y_label = "a & b"};
  c.series.push_back({"\"quoted\"", {1, 2}, {0.5, 0.25}});
  c.markers.push_back({1.5, "LR↓", "<b>", "#9467bd"});
  const std::string svg = rp::render_svg(c);
  EXPECT_FALSE(contains(svg, "<script>"));
  EXPECT_TRUE(contains(svg, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_TRUE(contains(svg, "a &amp; b"));
  EXPECT_TRUE(contains(svg, "&quot;quoted&quot;"));
  EXPECT_EQ(count(svg, "<line class=\"marker\""), 1u);
  EXPECT_TRUE(contains(svg, "<title>&lt;b&gt;</title>"));
}

TEST(ReportSvg, AChartWithoutValuesSaysSo) {
  rp::LineChart c{.title = "empty"};
  c.series.push_back({"a", {1, 2}, {kNaN, kNaN}});
  const std::string svg = rp::render_svg(c);
  EXPECT_TRUE(contains(svg, "no finite values"));
  EXPECT_EQ(count(svg, "<path class=\"series\""), 0u);
}

TEST(ReportSvg, NiceTicksAreRoundSteps) {
  EXPECT_EQ(rp::nice_ticks(0.0, 1.0, 5), (std::vector<double>{0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0}));
  const auto t = rp::nice_ticks(3.0, 47.0, 5);
  ASSERT_GE(t.size(), 2u);
  EXPECT_DOUBLE_EQ(t[1] - t[0], 10.0);
  EXPECT_TRUE(rp::nice_ticks(1.0, 0.0).empty());
  EXPECT_LE(rp::nice_ticks(1e16, 1e16 + 4.0).size(), 50u);  // steps below the values' precision end
  EXPECT_TRUE(rp::nice_ticks(-1e308, 1e308).size() <= 50u);
  rp::LineChart c{.title = "extreme"};
  c.series.push_back({"a", {1, 2, 3}, {1e16, 1e16 + 2.0, -1e308}});
  EXPECT_EQ(count(rp::render_svg(c), "<path class=\"series\""), 1u);
  EXPECT_TRUE(rp::nice_ticks(kNaN, 1.0).empty());
}

// ---- class evaluation ------------------------------------------------------------------------

TEST(ReportEvaluation, ConfusionMatrixAndPerClassAccuracy) {
  const auto e = rp::evaluate_classes({0, 0, 1, 1, 1, 2}, {0, 1, 1, 1, 0, 2}, 4);
  EXPECT_EQ(e.confusion, (std::vector<std::vector<int64_t>>{{1, 1, 0, 0}, {1, 2, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 0}}));
  EXPECT_DOUBLE_EQ(e.per_class_accuracy[0], 0.5);
  EXPECT_DOUBLE_EQ(e.per_class_accuracy[1], 2.0 / 3.0);
  EXPECT_TRUE(std::isnan(e.per_class_accuracy[3]));  // no test sample of class 3
  EXPECT_DOUBLE_EQ(e.accuracy, 4.0 / 6.0);
  EXPECT_THROW(rp::evaluate_classes({0, 5}, {0, 0}, 3), rg::ValueError);
  EXPECT_THROW(rp::evaluate_classes({0}, {0, 0}, 3), rg::ValueError);
}

TEST(ReportEvaluation, LabelsAndPredictionsInEveryForm) {
  EXPECT_EQ(rp::label_classes(rg::Tensor({3}, {2, 0, 1}), "y"), (std::vector<int64_t>{2, 0, 1}));
  EXPECT_EQ(rp::label_classes(rg::Tensor({2, 3}, {0, 0, 1, 1, 0, 0}), "y"), (std::vector<int64_t>{2, 0}));
  expect_error<rg::ValueError>([] { rp::label_classes(rg::Tensor({2}, {0.5f, 1}), "training labels"); },
                               {"training labels", "not a class index"});
  EXPECT_EQ(rp::predicted_classes(rg::Tensor({3, 1}, {0.2f, 0.5f, 0.9f})), (std::vector<int64_t>{0, 1, 1}));
  EXPECT_EQ(rp::predicted_classes(rg::Tensor({2, 3}, {0.1f, 0.7f, 0.2f, 0.4f, 0.4f, 0.2f})), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(rp::class_counts({0, 2, 2}, 3), (std::vector<int64_t>{1, 0, 2}));
}

TEST(ReportEvaluation, JsonRoundTripAndRefusals) {
  auto e = rp::evaluate_classes({0, 1, 1}, {0, 1, 0}, 2);
  e.class_names = {"cat", "dog"};
  e.train_counts = {10, 12};
  e.test_counts = {1, 2};
  const json doc = rp::to_json(e);
  const auto back = rp::evaluation_from_json(doc, "evaluation.json");
  EXPECT_EQ(back.confusion, e.confusion);
  EXPECT_EQ(back.class_names, e.class_names);
  EXPECT_EQ(back.train_counts, e.train_counts);
  EXPECT_TRUE(back.validation_counts.empty());
  EXPECT_DOUBLE_EQ(back.accuracy, e.accuracy);
  json other = doc;
  other["version"] = 99;
  expect_error<rg::ValueError>([&] { rp::evaluation_from_json(other, "evaluation.json"); }, {"evaluation.json", "version 99"});
  json inconsistent = doc;
  inconsistent["class_counts"]["train"] = {1, 2, 3};
  expect_error<rg::ValueError>([&] { rp::evaluation_from_json(inconsistent, "e.json"); }, {"e.json", "2 classes"});
  expect_error<rg::ValueError>([] { rp::evaluation_from_json(json::array(), "e.json"); }, {"e.json", "not an evaluation"});
}

// ---- run directories ---------------------------------------------------------------------------

TEST(ReportRunDirectory, AMissingOrEmptyDirectoryIsAClearError) {
  TemporaryDirectory dir;
  expect_error<rg::IOError>([&] { rp::load_run(dir.file("nowhere")); }, {dir.file("nowhere"), "not a run directory"});
  expect_error<rg::IOError>([&] { rp::write_run_report(dir.path().string()); },
                            {dir.path().string(), "no training logs", "history.json", "history.csv"});
  EXPECT_FALSE(fs::exists(dir.path() / "report.html"));
}

TEST(ReportRunDirectory, MalformedFilesAreValueErrorsNamingTheFile) {
  TemporaryDirectory dir;
  write(dir.path() / "history.json", "{\"epoch\": [0, 1], \"history\": {\"loss\": [1.0, ");
  expect_error<rg::ValueError>([&] { rp::load_run(dir.path().string()); }, {"history.json", "not valid JSON"});
  write(dir.path() / "history.json", "{\"epoch\": [0], \"history\": {\"loss\": [\"x\", {}]}}");
  expect_error<rg::ValueError>([&] { rp::load_run(dir.path().string()); }, {"history.json"});
  write(dir.path() / "history.json", "[1, 2]");
  expect_error<rg::ValueError>([&] { rp::load_run(dir.path().string()); }, {"history.json", "expected"});
  // No epochs at all: a report that says so.
  write(dir.path() / "history.json", R"({"epoch": [], "history": {"loss": [], "val_loss": []}})");
  EXPECT_TRUE(contains(rp::report_html(rp::load_run(dir.path().string())), "No epochs were recorded"));
  fs::remove(dir.path() / "history.json");
  write(dir.path() / "history.csv", "loss,epoch\n1,0\n");
  expect_error<rg::ValueError>([&] { rp::load_run(dir.path().string()); }, {"history.csv", "'epoch'"});
}

TEST(ReportRunDirectory, NullInTheHistoryIsNaNAndDrawnAsAGap) {
  TemporaryDirectory dir;
  write(dir.path() / "history.json",
        R"({"epoch": [0, 1, 2, 3], "history": {"loss": [1.0, 0.8, 0.7, 0.6], "val_loss": [1.1, null, 0.9, 0.85],
            "accuracy": [0.5, 0.6, 0.7, 0.75], "val_accuracy": [0.5, null, 0.6, 0.62]}})");
  const rp::RunData run = rp::load_run(dir.path().string());
  ASSERT_EQ(run.history.size(), 4u);
  EXPECT_TRUE(std::isnan(run.history.find("val_loss")->at(1)));
  const std::string html = rp::report_html(run);
  EXPECT_TRUE(contains(html, "val_loss is NaN at epoch 2 (drawn as gaps)")) << html.substr(0, 3000);
  // The validation loss curve is two pieces around the gap.
  const size_t at = html.find("data-series=\"validation loss\"");
  ASSERT_NE(at, std::string::npos);
  const std::string group = html.substr(at, html.find("</g>", at) - at);
  EXPECT_EQ(count(group, "<path class=\"series\""), 1u);  // epochs 3–4; epoch 1 stands alone
  EXPECT_EQ(count(group, "r=\"3.5\""), 1u);
  EXPECT_TRUE(contains(html, "experiment.yaml is missing"));
}

TEST(ReportRunDirectory, AnInterruptedRunIsReportedFromTheCsvLoggerWithNotes) {
  TemporaryDirectory dir;
  write(dir.path() / "experiment.yaml",
        "fit: {epochs: 10}\ncallbacks:\n  - {class_name: CSVLogger, filename: epochs.csv}\n"
        "  - {class_name: ReduceLROnPlateau, monitor: val_loss, patience: 1}\n");
  // CSVLogger's format: sorted columns, Python floats, NA for a missing value, \r\n line ends.
  write(dir.path() / "epochs.csv",
        "epoch,accuracy,learning_rate,loss,val_accuracy,val_loss\r\n0,0.5,0.01,1.0,0.45,1.1\r\n"
        "1,0.6,0.01,0.8,NA,1.0\r\n2,0.7,0.001,0.6,0.6,0.9\r\n");
  const rp::RunData run = rp::load_run(dir.path().string());
  EXPECT_EQ(run.history_file, "epochs.csv");
  EXPECT_EQ(run.planned_epochs, 10);
  ASSERT_EQ(run.history.size(), 3u);
  EXPECT_TRUE(std::isnan(run.history.find("val_accuracy")->at(1)));
  const std::string path = rp::write_run_report(dir.path().string());
  const std::string html = read(path);
  EXPECT_TRUE(contains(html, "The run is incomplete: 3 of 10 planned epochs recorded, no test results")) << html;
  EXPECT_TRUE(contains(html, "Omitted: evaluation.json is missing"));
  EXPECT_TRUE(contains(html, "history.json is missing (training did not finish)"));
  EXPECT_TRUE(contains(html, "LR↓"));  // the rate fell after epoch 2
  EXPECT_FALSE(contains(html, "id=\"augmentation\""));
}

TEST(ReportRunDirectory, StringsFromTheRunAreEscaped) {
  TemporaryDirectory dir;
  write(dir.path() / "history.json", R"({"epoch": [0, 1], "history": {"loss": [1.0, 0.5], "<img src=x onerror=alert(1)>": [1, 2]}})");
  auto e = rp::evaluate_classes({0, 1}, {0, 1}, 2);
  e.class_names = {"<b>bold</b>", "a&b"};
  e.test_counts = {1, 1};
  write(dir.path() / "evaluation.json", rp::to_json(e).dump());
  const std::string html = rp::report_html(rp::load_run(dir.path().string()));
  EXPECT_FALSE(contains(html, "<img src=x"));
  EXPECT_FALSE(contains(html, "<b>bold</b>"));
  EXPECT_TRUE(contains(html, "&lt;b&gt;bold&lt;/b&gt;"));
  EXPECT_TRUE(contains(html, "a&amp;b"));
  EXPECT_FALSE(contains(html, "<script"));  // no scripts at all
  EXPECT_FALSE(contains(html, "http://") && !contains(html, "xmlns=\"http://www.w3.org/2000/svg\""));
}

TEST(ReportHtml, TheDiagnosisLineNamesTheVerdictAndTheKeptEpoch) {
  rp::RunData run;
  run.source = "in memory";
  run.history = history({{"loss", {1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1}},
                         {"val_loss", {1.1, 0.9, 0.75, 0.7, 0.65, 0.7, 0.75, 0.8, 0.9, 1.0}},
                         {"learning_rate", {0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01}}});
  run.history_file = "history.json";
  run.planned_epochs = 10;
  run.callbacks = json::parse(R"([{"class_name": "ModelCheckpoint", "filepath": "best.h5", "save_best_only": true}])");
  const std::string html = rp::report_html(run);
  EXPECT_TRUE(contains(html, "Overfitting from epoch 6: validation loss has risen for 5 epochs")) << html.substr(0, 3000);
  EXPECT_TRUE(contains(html, "; best epoch 5 kept.</p>"));
  EXPECT_TRUE(contains(html, "class=\"diagnosis v-overfitting\""));
  EXPECT_TRUE(contains(html, "0.1 → 0.01 after epoch 7"));
  // The learning-rate change and the saved epoch are marked on each of the three charts (loss,
  // loss gap, learning rate; no accuracy here).
  EXPECT_EQ(count(html, ">saved</text>"), 3u);
  EXPECT_EQ(count(html, ">LR↓</text>"), 3u);
  EXPECT_FALSE(contains(html, "The run is incomplete"));
  EXPECT_TRUE(contains(html, "Omitted: evaluation.json is missing"));
}

TEST(ReportComparison, OverlaysValidationCurvesOfEveryRun) {
  TemporaryDirectory dir;
  std::vector<rp::LabeledRun> runs;
  for (int k = 0; k < 3; ++k) {
    rp::RunData run;
    run.history = history({{"loss", {1.0, 0.8, 0.6}}, {"val_loss", {1.0, 0.9 - 0.1 * k, 0.85}},
                           {"val_accuracy", {0.5, 0.6 + 0.05 * k, 0.7}}});
    runs.push_back({"run <" + std::to_string(k) + ">", run});
  }
  runs[1].run.test = std::map<std::string, double>{{"accuracy", 0.75}};
  rp::write_comparison_report(runs, dir.file("cmp.html"));
  const std::string html = read(dir.file("cmp.html"));
  EXPECT_EQ(count(html, "<svg class=\"chart\""), 2u);
  EXPECT_EQ(count(html, "data-series=\"run &lt;1&gt;\""), 2u);  // in both charts
  EXPECT_TRUE(contains(html, "0.7 (epoch 3)"));
  EXPECT_TRUE(contains(html, "<td>0.75</td>"));
  EXPECT_THROW(rp::write_comparison_report({}, dir.file("none.html")), rg::ValueError);
}

// ---- the callback and a whole experiment run ---------------------------------------------------

TEST(ReportCallback, WritesTheReportAtTrainEndWithTheCallbacksMarkers) {
  TemporaryDirectory dir;
  rg::set_random_seed(4);
  rg::Rng rng(4);
  rg::Tensor x({64, 4}), y({64});
  for (int64_t i = 0; i < 64; ++i) {
    y[i] = static_cast<float>(i % 2);
    for (int64_t j = 0; j < 4; ++j) x[i * 4 + j] = static_cast<float>(rng.uniform()) + (j == 0 ? y[i] : 0.0f);
  }
  rg::Sequential model;
  model.add(rg::layers::Input({4}));
  model.add(rg::layers::Dense(2, {.activation = "softmax"}));
  model.compile({.optimizer = rg::optimizers::get("sgd"), .loss = "sparse_categorical_crossentropy", .metrics = {"accuracy"}});
  // patience 0 on a loss that cannot improve (learning rate 0) stops at the second epoch.
  model.optimizer().set_learning_rate(0.0);
  rg::callbacks::EarlyStopping early({.monitor = "val_loss", .patience = 0, .restore_best_weights = true});
  rg::report::LearningCurveReport report(dir.file("report.html"), {.callbacks = {&early}, .epochs = 5, .title = "tiny"});
  model.fit(x, y, {.batch_size = 16, .epochs = 5, .verbose = 0, .callbacks = {&early, &report}, .validation_split = 0.25});
  ASSERT_TRUE(fs::exists(dir.file("report.html")));
  const std::string html = read(dir.file("report.html"));
  EXPECT_TRUE(contains(html, "early stopping after epoch 2")) << html.substr(0, 4000);
  EXPECT_TRUE(contains(html, "restored by EarlyStopping(restore_best_weights)"));
  EXPECT_FALSE(contains(html, "The run is incomplete"));
  EXPECT_EQ(report.run_data().history.size(), 2u);
  EXPECT_EQ(early.stopped_epoch(), 1);
  expect_error<rg::ValueError>([] { rg::report::LearningCurveReport("", {}); }, {"LearningCurveReport", "path"});
}

TEST(ReportEvaluation, RegressionTargetsWriteNoEvaluation) {
  TemporaryDirectory dir;
  rg::set_random_seed(2);
  rg::Sequential model;
  model.add(rg::layers::Input({3}));
  model.add(rg::layers::Dense(1));
  const rg::Tensor x({4, 3}, 0.5f), fractional({4}, {0.5f, 1.5f, 2.0f, 3.0f}), huge({4}, {0, 1, 2, 5000});
  EXPECT_FALSE(rp::write_test_evaluation(dir.file("a.json"), model, {.y_train = &fractional, .x_test = &x, .y_test = &fractional}));
  EXPECT_FALSE(rp::write_test_evaluation(dir.file("b.json"), model, {.y_train = &huge}));
  EXPECT_FALSE(fs::exists(dir.file("a.json")) || fs::exists(dir.file("b.json")));
  // Class labels and one sigmoid-like output: two classes, written.
  const rg::Tensor labels({4}, {0, 1, 1, 0});
  const auto e = rp::write_test_evaluation(dir.file("c.json"), model, {.y_train = &labels, .x_test = &x, .y_test = &labels});
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->classes, 2);
  EXPECT_EQ(e->class_names, (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(rp::evaluation_from_json(json::parse(read(dir.file("c.json"))), "c.json").test_counts, (std::vector<int64_t>{2, 2}));
}

using ReportExperimentTest = regula::testing_support::ExperimentDirectoryTest;

TEST_F(ReportExperimentTest, RunWritesEvaluationAugmentationAndTheReport) {
  const std::string file = small_experiment(
      "fit: {epochs: 12, batch_size: 20}\n"
      "augmentation: {rotation_range: 5, zoom_range: 0.1}\n"
      "callbacks:\n"
      "  - {class_name: EarlyStopping, monitor: val_loss, patience: 1, min_delta: 0.05}\n"
      "  - {class_name: ModelCheckpoint, filepath: best.h5, monitor: val_accuracy, save_best_only: true}\n");
  std::FILE* out = std::tmpfile();
  const auto result = rg::experiment::run(rg::experiment::load(file), {.run_dir = (dir_ / "run").string(), .verbose = 0, .out = out});
  std::fclose(out);
  for (const char* name : {"evaluation.json", "augmentation.png", "report.html"})
    EXPECT_TRUE(fs::exists(dir_ / "run" / name)) << name;

  const rp::RunData run = rp::load_run((dir_ / "run").string());
  ASSERT_TRUE(run.evaluation.has_value());
  const rp::ClassEvaluation& e = *run.evaluation;
  EXPECT_EQ(e.classes, 2);
  EXPECT_EQ(e.test_counts, (std::vector<int64_t>{30, 30}));
  EXPECT_EQ(e.train_counts[0] + e.train_counts[1], 180);  // the default validation_split 0.1 of 200
  EXPECT_EQ(e.validation_counts[0] + e.validation_counts[1], 20);
  int64_t total = 0, correct = 0;
  for (size_t r = 0; r < 2; ++r)
    for (size_t c = 0; c < 2; ++c) {
      total += e.confusion[r][c];
      if (r == c) correct += e.confusion[r][c];
    }
  EXPECT_EQ(total, 60);
  // The confusion matrix agrees with evaluate's accuracy on the same test set.
  EXPECT_NEAR(static_cast<double>(correct) / 60.0, result.test.at("accuracy"), 1e-6);

  // The replayed EarlyStopping agrees with the callback that ran: when it stopped before the
  // planned epochs, the replay finds the stop at the last recorded epoch.
  const auto events = rp::find_training_events(run.history, run.callbacks, run.planned_epochs);
  if (run.history.size() < 12u) {
    ASSERT_TRUE(events.early_stopping_epoch.has_value());
    EXPECT_EQ(*events.early_stopping_epoch, run.history.epoch.back());
  }
  EXPECT_FALSE(events.incomplete);
  ASSERT_EQ(events.kept.size(), 1u);
  EXPECT_EQ(events.kept[0].by, "ModelCheckpoint");

  const std::string html = read(dir_ / "run" / "report.html");
  EXPECT_GE(count(html, "<svg class=\"chart\""), 4u);  // loss, accuracy, two gaps
  EXPECT_TRUE(contains(html, "<table class=\"confusion\">"));
  EXPECT_TRUE(contains(html, "src=\"data:image/png;base64,iVBORw0KGgo"));  // the PNG signature
  EXPECT_FALSE(contains(html, "Omitted"));
}
