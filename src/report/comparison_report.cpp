// Several runs in one report: their validation curves overlaid, and a table of their best epochs.

#include <cmath>
#include <filesystem>

#include "regula/error.hpp"
#include "regula/io/file_bytes.hpp"
#include "regula/report/diagnosis.hpp"
#include "regula/report/html_report.hpp"
#include "regula/report/svg_chart.hpp"
#include "src/report/html_page.hpp"
#include "src/report/html_text.hpp"

namespace regula::report {
namespace {

/// The best finite value of `name` (lowest or highest) as "value (epoch N)", or "—".
std::string best_of(const HistoryData& h, const std::string& name, bool lowest) {
  const auto* v = h.find(name);
  if (!v) return "—";
  int best = -1;
  for (size_t i = 0; i < v->size(); ++i) {
    if (!std::isfinite((*v)[i])) continue;
    const double b = best < 0 ? 0.0 : (*v)[static_cast<size_t>(best)];
    if (best < 0 || (lowest ? (*v)[i] < b : (*v)[i] > b)) best = static_cast<int>(i);
  }
  if (best < 0) return "—";
  return format_number((*v)[static_cast<size_t>(best)], 5) + " (epoch " + std::to_string(h.epoch[static_cast<size_t>(best)] + 1) + ")";
}

LineChart overlay(const std::vector<LabeledRun>& runs, const std::string& name, const std::string& title) {
  LineChart c{.title = title, .y_label = name, .height = 340};
  for (size_t i = 0; i < runs.size(); ++i) {
    const HistoryData& h = runs[i].run.history;
    const auto* v = h.find(name);
    std::vector<double> x;
    for (const int e : h.epoch) x.push_back(e + 1);
    c.series.push_back({runs[i].label, x, v ? *v : std::vector<double>(x.size(), NAN), series_color(i)});
  }
  return c;
}

}  // namespace

void write_comparison_report(const std::vector<LabeledRun>& runs, const std::string& path) {
  if (runs.empty()) throw ValueError("write_comparison_report: no runs to compare");
  std::string body = "<header><h1>Runs compared</h1><p class=\"source\">" + std::to_string(runs.size()) +
                     " runs: validation curves overlaid</p></header>\n";
  body += "<section id=\"curves\"><h2>Validation curves</h2>\n<div class=\"charts\">\n";
  body += render_svg(overlay(runs, "val_accuracy", "Validation accuracy"));
  body += render_svg(overlay(runs, "val_loss", "Validation loss"));
  body += "</div>\n</section>\n";
  body += "<section id=\"table\"><h2>Runs</h2>\n<table>\n<tr><th class=\"name\">run</th><th>epochs</th>"
          "<th>best val_accuracy</th><th>best val_loss</th><th>test accuracy</th><th class=\"name\">diagnosis</th></tr>\n";
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunData& r = runs[i].run;
    std::string test = "—";
    if (r.test && r.test->count("accuracy")) test = format_number(r.test->at("accuracy"), 5);
    body += "<tr><td class=\"name\"><span class=\"bar\" style=\"width:14px;background:" + series_color(i) + "\"></span>" +
            html_escape(runs[i].label) + "</td><td>" + std::to_string(r.history.size()) + "</td><td>" +
            best_of(r.history, "val_accuracy", false) + "</td><td>" + best_of(r.history, "val_loss", true) + "</td><td>" +
            test + "</td><td class=\"name\">" + html_escape(verdict_name(diagnose(r.history).verdict)) + "</td></tr>\n";
  }
  body += "</table>\n</section>\n";
  io::write_file_atomically(path, html_page("Runs compared", body));
}

std::string compare_run_directories(const std::vector<std::string>& run_dirs, const std::string& path) {
  std::vector<LabeledRun> runs;
  for (const std::string& dir : run_dirs) {
    const std::filesystem::path p = std::filesystem::path(dir).lexically_normal();
    runs.push_back({(p.has_filename() ? p.filename() : p.parent_path().filename()).string(), load_run(dir)});
  }
  const std::string out = path.empty() ? "comparison.html" : path;
  write_comparison_report(runs, out);
  return out;
}

}  // namespace regula::report
