// The learning-curve report of one run: the diagnosis, the curves with their markers, the
// generalization gap, the learning rate, the test set's classes and the augmentation grid.

#include "regula/report/html_report.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "regula/config/yaml.hpp"
#include "regula/error.hpp"
#include "regula/io/file_bytes.hpp"
#include "regula/report/diagnosis.hpp"
#include "regula/report/svg_chart.hpp"
#include "regula/report/training_events.hpp"
#include "src/report/html_page.hpp"
#include "src/report/html_text.hpp"

namespace regula::report {
namespace {

namespace fs = std::filesystem;

const char* const kTrainColor = "#1f77b4";
const char* const kValColor = "#ff7f0e";
const char* const kLrColor = "#9467bd";
const char* const kStopColor = "#d62728";
const char* const kKeptColor = "#2ca02c";

std::string epoch_text(int zero_based) { return "epoch " + std::to_string(zero_based + 1); }

std::string capitalized(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

/// Epochs 1-based, for the x axis.
std::vector<double> epoch_axis(const HistoryData& h) {
  std::vector<double> x;
  for (const int e : h.epoch) x.push_back(e + 1);
  return x;
}

std::string kept_text(const KeptEpoch& k) {
  const std::string how = k.by == "ModelCheckpoint" ? "saved to " + k.file + " by ModelCheckpoint(save_best_only)"
                                                    : "restored by EarlyStopping(restore_best_weights)";
  return epoch_text(k.epoch) + " (" + k.monitor + " " + format_number(k.value, 5) + ", " + direction_name(k.mode) + "), " + how;
}

std::vector<ChartMarker> event_markers(const TrainingEvents& events) {
  std::vector<ChartMarker> markers;
  for (const LearningRateChange& c : events.learning_rate_changes)
    markers.push_back({static_cast<double>(c.epoch + 1), c.to < c.from ? "LR↓" : "LR↑",
                       "learning rate " + format_number(c.from) + " → " + format_number(c.to) + " after " +
                           epoch_text(c.epoch),
                       kLrColor});
  if (events.early_stopping_epoch)
    markers.push_back({static_cast<double>(*events.early_stopping_epoch + 1), "stop",
                       "EarlyStopping stopped training after " + epoch_text(*events.early_stopping_epoch), kStopColor});
  for (const KeptEpoch& k : events.kept)
    markers.push_back({static_cast<double>(k.epoch + 1), k.by == "ModelCheckpoint" ? "saved" : "kept",
                       "weights kept: " + kept_text(k), kKeptColor});
  return markers;
}

/// Training metric names with a curve to draw: `loss` first, then the others (not `val_…`, not
/// the learning rate).
std::vector<std::string> metric_names(const HistoryData& h) {
  std::vector<std::string> names;
  if (h.has("loss") || h.has("val_loss")) names.push_back("loss");
  for (const std::string& n : h.names) {
    if (n == "loss" || n == "learning_rate" || n == "lr") continue;
    const std::string base = n.rfind("val_", 0) == 0 ? n.substr(4) : n;
    if (base == "loss" || std::find(names.begin(), names.end(), base) != names.end()) continue;
    names.push_back(base);
  }
  return names;
}

LineChart metric_chart(const HistoryData& h, const std::string& metric, const std::vector<ChartMarker>& markers) {
  LineChart c{.title = capitalized(metric) + ": training vs validation", .y_label = metric};
  const std::vector<double> x = epoch_axis(h);
  if (const auto* v = h.find(metric)) c.series.push_back({"training " + metric, x, *v, kTrainColor});
  if (const auto* v = h.find("val_" + metric)) c.series.push_back({"validation " + metric, x, *v, kValColor});
  c.markers = markers;
  return c;
}

/// `a - b` per epoch (NaN where either is).
std::vector<double> difference(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> d(a.size());
  for (size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
  return d;
}

std::string diagnosis_section(const RunData& run, const Diagnosis& d, const TrainingEvents& events) {
  std::string verdict = verdict_name(d.verdict);
  std::string cls = "v-";
  for (const char ch : verdict) cls += ch == ' ' ? '-' : ch;
  std::string sentence = capitalized(d.sentence);
  const bool same_epoch = std::all_of(events.kept.begin(), events.kept.end(),
                                      [&](const KeptEpoch& k) { return k.epoch == events.kept.front().epoch; });
  if (!events.kept.empty() && same_epoch) sentence += "; best " + epoch_text(events.kept.front().epoch) + " kept";
  if (!same_epoch)
    for (const KeptEpoch& k : events.kept)
      sentence += "; " + epoch_text(k.epoch) + (k.by == "ModelCheckpoint" ? " saved to " + k.file : " kept") + " by " + k.by;
  if (events.early_stopping_epoch) sentence += "; early stopping after " + epoch_text(*events.early_stopping_epoch);
  sentence += ".";
  std::string s = "<section class=\"diagnosis " + cls + "\" id=\"diagnosis\">\n<h2>Diagnosis: " + html_escape(verdict) +
                  "</h2>\n<p class=\"verdict\">" + html_escape(sentence) + "</p>\n";
  const bool no_test = !run.test;
  if (events.incomplete || (run.history_file != "history.json" && run.history_file != "memory")) {
    std::string why = "The run is incomplete: ";
    why += std::to_string(run.history.size()) + " of " +
           (run.planned_epochs > 0 ? std::to_string(run.planned_epochs - run.initial_epoch) : std::string("?")) +
           " planned epochs recorded";
    if (no_test) why += ", no test results";
    s += "<p class=\"incomplete\">" + html_escape(why + ". The report shows what is there.") + "</p>\n";
  }
  if (!d.notes.empty()) {
    s += "<ul>\n";
    for (const std::string& note : d.notes) s += "<li>" + html_escape(note) + "</li>\n";
    s += "</ul>\n";
  }
  return s + "</section>\n";
}

/// "recalibrated 20 times (PreciseBatchNorm, 50 batches of 128, 31.2 s in all); final epoch 20:
/// val_accuracy 0.9031 recalibrated, 0.8220 with the moving averages; …".
std::string precise_batch_norm_text(const nlohmann::json& p) {
  std::string s = "recalibrated " + std::to_string(p.value("recalibrations", 0)) + " times (PreciseBatchNorm, " +
                  std::to_string(p.value("batches", 0)) + " batches of " + std::to_string(p.value("batch_size", 0)) + ", " +
                  format_number(p.value("seconds", 0.0), 3) + " s in all)";
  if (!p.contains("final_epoch") || !p["final_epoch"].is_object()) return s;
  const nlohmann::json& f = p["final_epoch"];
  s += "; validation after epoch " + std::to_string(f.value("epoch", 0)) + ":";
  const nlohmann::json recalibrated = f.value("recalibrated", nlohmann::json::object());
  const nlohmann::json moving = f.value("moving_average", nlohmann::json::object());
  for (const auto& [name, value] : recalibrated.items()) {
    if (!value.is_number() || !moving.contains(name) || !moving[name].is_number()) continue;
    s += " " + name + " " + format_number(value.get<double>(), 4) + " recalibrated, " +
         format_number(moving[name].get<double>(), 4) + " with the moving averages;";
  }
  if (s.back() == ';') s.pop_back();
  return s;
}

std::string facts_section(const RunData& run, const TrainingEvents& events) {
  auto row = [](const std::string& name, const std::string& value) {
    return "<tr><th>" + html_escape(name) + "</th><td>" + html_escape(value) + "</td></tr>\n";
  };
  const HistoryData& h = run.history;
  std::string s = "<section id=\"facts\"><h2>The run</h2>\n<table class=\"facts\">\n";
  std::string epochs = std::to_string(h.size()) + " recorded";
  if (h.size() > 0) epochs += " (epochs " + std::to_string(h.epoch.front() + 1) + "–" + std::to_string(h.epoch.back() + 1) + ")";
  if (run.planned_epochs > 0) epochs += " of " + std::to_string(run.planned_epochs) + " planned (fit.epochs)";
  s += row("Epochs", epochs);
  s += row("History from", run.history_file);
  std::string ending = "ran all planned epochs";
  if (events.early_stopping_epoch) ending = "EarlyStopping stopped training after " + epoch_text(*events.early_stopping_epoch);
  else if (events.incomplete) ending = "stopped before the planned epochs without early stopping (interrupted, or stopped on NaN)";
  else if (run.planned_epochs == 0) ending = "planned epochs unknown";
  s += row("Ending", ending);
  std::string kept;
  for (const KeptEpoch& k : events.kept) kept += (kept.empty() ? "" : "; ") + kept_text(k);
  s += row("Weights kept", kept.empty() ? "the last epoch's (no ModelCheckpoint(save_best_only) or "
                                          "EarlyStopping(restore_best_weights))"
                                        : kept);
  std::string lr;
  for (const LearningRateChange& c : events.learning_rate_changes)
    lr += (lr.empty() ? "" : "; ") + format_number(c.from) + " → " + format_number(c.to) + " after " + epoch_text(c.epoch);
  if (!lr.empty()) s += row("Learning rate", lr);
  for (const std::string name : {"val_loss", "val_accuracy"}) {
    const auto* v = h.find(name);
    if (!v) continue;
    int best = -1;
    for (size_t i = 0; i < v->size(); ++i)
      if (std::isfinite((*v)[i]) &&
          (best < 0 || (name == "val_loss" ? (*v)[i] < (*v)[static_cast<size_t>(best)] : (*v)[i] > (*v)[static_cast<size_t>(best)])))
        best = static_cast<int>(i);
    if (best >= 0)
      s += row("Best " + std::string(name), format_number((*v)[static_cast<size_t>(best)], 5) + " at " +
                                                epoch_text(h.epoch[static_cast<size_t>(best)]));
  }
  if (run.precise_batch_norm.is_object()) s += row("Batch-norm statistics", precise_batch_norm_text(run.precise_batch_norm));
  if (run.test) {
    std::string t;
    for (const auto& [name, value] : *run.test) t += (t.empty() ? "" : ", ") + name + " " + format_number(value, 5);
    s += row("Test set", t);
  } else {
    s += row("Test set", "no test results (test.json is missing: the run did not finish, or had no test set)");
  }
  return s + "</table>\n</section>\n";
}

std::string curves_section(const RunData& run, const std::vector<ChartMarker>& markers) {
  const HistoryData& h = run.history;
  std::string s = "<section id=\"curves\"><h2>Learning curves</h2>\n<div class=\"charts\">\n";
  for (const std::string& metric : metric_names(h)) s += render_svg(metric_chart(h, metric, markers));
  s += "</div>\n<p class=\"note\">Markers: <b style=\"color:#9467bd\">LR↓</b> the learning rate was reduced at the end "
       "of that epoch; <b style=\"color:#d62728\">stop</b> early stopping fired; <b style=\"color:#2ca02c\">kept</b> the "
       "epoch whose weights EarlyStopping restored, <b style=\"color:#2ca02c\">saved</b> the epoch in the best "
       "checkpoint. Gaps in a curve are NaN values. Hover a point for its value.</p>\n";
  return s + "</section>\n";
}

/// A gap chart: `a - b` per epoch around a zero line, with the event markers.
std::string gap_chart(const HistoryData& h, const std::string& a, const std::string& b, const std::string& title,
                      const std::string& series, const char* color, const std::vector<ChartMarker>& markers) {
  const auto *va = h.find(a), *vb = h.find(b);
  if (!va || !vb) return "";
  LineChart c{.title = title, .y_label = series};
  c.series.push_back({series, epoch_axis(h), difference(*va, *vb), color});
  c.markers = markers;
  c.zero_line = true;
  return render_svg(c);
}

std::string gap_section(const RunData& run, const std::vector<ChartMarker>& markers) {
  const std::string charts =
      gap_chart(run.history, "accuracy", "val_accuracy", "Accuracy gap: training − validation", "train acc − val acc",
                "#8c564b", markers) +
      gap_chart(run.history, "val_loss", "loss", "Loss gap: validation − training", "val loss − train loss", "#e377c2",
                markers);
  std::string s = "<section id=\"gap\"><h2>Generalization gap</h2>\n";
  if (charts.empty()) return s + "<p class=\"omitted\">Omitted: the history has no validation curves.</p>\n</section>\n";
  return s + "<div class=\"charts\">\n" + charts +
         "</div>\n<p class=\"note\">A gap that widens while the training curve keeps improving is overfitting.</p>\n"
         "</section>\n";
}

std::string learning_rate_section(const RunData& run, const std::vector<ChartMarker>& markers) {
  const auto* lr = run.history.find("learning_rate");
  if (!lr) return "";
  LineChart c{.title = "Learning rate per epoch", .y_label = "learning rate"};
  c.series.push_back({"learning rate", epoch_axis(run.history), *lr, kLrColor});
  c.markers = markers;
  c.log_y = true;
  c.height = 260;
  return "<section id=\"learning-rate\"><h2>Learning rate</h2>\n" + render_svg(c) + "</section>\n";
}

std::string class_name(const ClassEvaluation& e, size_t c) {
  return c < e.class_names.size() ? e.class_names[c] : std::to_string(c);
}

std::string confusion_section(const RunData& run) {
  std::string s = "<section id=\"test\"><h2>Test set: confusion matrix and per-class accuracy</h2>\n";
  if (!run.evaluation || run.evaluation->confusion.empty())
    return s + "<p class=\"omitted\">Omitted: " +
           std::string(run.evaluation ? "the run had no test set" : "evaluation.json is missing (the run did not finish, "
                                                                     "had no test set, or its labels are not classes)") +
           ".</p>\n</section>\n";
  const ClassEvaluation& e = *run.evaluation;
  s += "<p>Accuracy " + format_number(e.accuracy, 5) +
       ". Rows are true classes, columns predicted ones; a cell's shade is its share of the row.</p>\n";
  s += "<table class=\"confusion\">\n<tr><th class=\"name\">true \\ predicted</th>";
  for (size_t c = 0; c < e.confusion.size(); ++c) s += "<th>" + html_escape(class_name(e, c)) + "</th>";
  s += "<th>samples</th><th class=\"bar-cell\">class accuracy</th></tr>\n";
  for (size_t r = 0; r < e.confusion.size(); ++r) {
    int64_t total = 0;
    for (const int64_t v : e.confusion[r]) total += v;
    s += "<tr><th class=\"name\">" + html_escape(class_name(e, r)) + "</th>";
    for (size_t c = 0; c < e.confusion[r].size(); ++c) {
      const double share = total > 0 ? static_cast<double>(e.confusion[r][c]) / static_cast<double>(total) : 0.0;
      const std::string rgb = r == c ? "44,160,44" : "214,39,40";
      s += "<td style=\"background:rgba(" + rgb + "," + format_number(0.08 + 0.8 * share, 3) + ")" +
           (share > 0.55 ? ";color:#fff" : "") + "\">" + std::to_string(e.confusion[r][c]) + "</td>";
    }
    const double acc = r < e.per_class_accuracy.size() ? e.per_class_accuracy[r] : NAN;
    s += "<td>" + std::to_string(total) + "</td><td class=\"bar-cell\"><span class=\"bar\" style=\"width:" +
         format_number(std::isfinite(acc) ? 100.0 * acc : 0.0, 4) + "px\"></span>" +
         (std::isfinite(acc) ? format_number(acc, 4) : "no samples") + "</td></tr>\n";
  }
  return s + "</table>\n</section>\n";
}

std::string distribution_section(const RunData& run) {
  std::string s = "<section id=\"classes\"><h2>Class distribution</h2>\n";
  if (!run.evaluation) return s + "<p class=\"omitted\">Omitted: evaluation.json is missing.</p>\n</section>\n";
  const ClassEvaluation& e = *run.evaluation;
  struct Set {
    const char* name;
    const char* cls;
    const std::vector<int64_t>* counts;
  };
  std::vector<Set> sets;
  for (const Set& set : {Set{"train", "train", &e.train_counts}, Set{"validation", "validation", &e.validation_counts},
                         Set{"test", "test", &e.test_counts}})
    if (!set.counts->empty()) sets.push_back(set);
  if (sets.empty()) return s + "<p class=\"omitted\">Omitted: no class counts were recorded.</p>\n</section>\n";
  int64_t largest = 1;
  std::vector<int64_t> totals;
  for (const Set& set : sets) {
    int64_t total = 0;
    for (const int64_t v : *set.counts) {
      total += v;
      largest = std::max(largest, v);
    }
    totals.push_back(total);
  }
  s += "<table>\n<tr><th class=\"name\">class</th>";
  for (const Set& set : sets) s += std::string("<th class=\"bar-cell\">") + set.name + "</th>";
  s += "</tr>\n";
  for (size_t c = 0; c < static_cast<size_t>(e.classes); ++c) {
    s += "<tr><th class=\"name\">" + html_escape(class_name(e, c)) + "</th>";
    for (size_t k = 0; k < sets.size(); ++k) {
      const int64_t v = (*sets[k].counts)[c];
      const double share = totals[k] > 0 ? 100.0 * static_cast<double>(v) / static_cast<double>(totals[k]) : 0.0;
      s += "<td class=\"bar-cell\"><span class=\"bar " + std::string(sets[k].cls) + "\" style=\"width:" +
           format_number(120.0 * static_cast<double>(v) / static_cast<double>(largest), 4) + "px\"></span>" +
           std::to_string(v) + " (" + format_number(share, 3) + " %)</td>";
    }
    s += "</tr>\n";
  }
  s += "<tr><th class=\"name\">total</th>";
  for (const int64_t t : totals) s += "<td class=\"bar-cell\">" + std::to_string(t) + "</td>";
  return s + "</tr>\n</table>\n</section>\n";
}

std::string augmentation_section(const RunData& run) {
  const bool augments = run.experiment.is_object() && run.experiment.contains("augmentation") &&
                        !run.experiment["augmentation"].is_null() && !run.experiment["augmentation"].empty();
  if (run.augmentation_png.empty() && !augments) return "";
  std::string s = "<section id=\"augmentation\"><h2>Augmented training samples</h2>\n";
  if (run.augmentation_png.empty())
    return s + "<p class=\"omitted\">Omitted: augmentation.png is missing.</p>\n</section>\n";
  s += "<p>Each row: a training image, then random augmentations of it";
  if (augments) s += " (" + html_escape(run.experiment["augmentation"].dump()) + ")";
  return s + ".</p>\n<img class=\"augmentation\" alt=\"augmented training samples\" src=\"data:image/png;base64," +
         base64(run.augmentation_png) + "\">\n</section>\n";
}

std::string experiment_section(const RunData& run) {
  if (!run.experiment.is_object()) return "";
  return "<section id=\"experiment\"><details><summary><b>The experiment</b> (resolved experiment.yaml)</summary>\n<pre>" +
         html_escape(config::json_to_yaml(run.experiment)) + "</pre></details></section>\n";
}

}  // namespace

std::string report_html(const RunData& run) {
  const TrainingEvents events = find_training_events(run.history, run.callbacks, run.planned_epochs, run.initial_epoch);
  const Diagnosis d = diagnose(run.history);
  const std::vector<ChartMarker> markers = event_markers(events);
  std::string body = "<header><h1>Learning curves</h1><p class=\"source\">" + html_escape(run.source) + "</p></header>\n";
  body += diagnosis_section(run, d, events);
  body += facts_section(run, events);
  body += curves_section(run, markers);
  body += gap_section(run, markers);
  body += learning_rate_section(run, markers);
  body += confusion_section(run);
  body += distribution_section(run);
  body += augmentation_section(run);
  body += experiment_section(run);
  for (const std::string& note : run.notes) body += "<p class=\"note\">" + html_escape(note) + "</p>\n";
  return html_page("Learning curves — " + run.source, body);
}

void write_report(const RunData& run, const std::string& path) { io::write_file_atomically(path, report_html(run)); }

std::string write_run_report(const std::string& run_dir, const std::string& out) {
  const std::string path = out.empty() ? (fs::path(run_dir) / "report.html").string() : out;
  write_report(load_run(run_dir), path);
  return path;
}

}  // namespace regula::report
