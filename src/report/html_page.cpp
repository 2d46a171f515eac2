#include "src/report/html_page.hpp"

#include <array>

#include "regula/report/html_report.hpp"

namespace regula::report {
namespace {

// System fonts only: the report must render the same with no network.
constexpr const char* kStyle = R"css(
:root { --ink: #222; --muted: #666; --line: #ddd; --accent: #1f77b4; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f7f9; color: var(--ink);
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", "Liberation Sans", sans-serif; }
main { max-width: 1260px; margin: 0 auto; padding: 20px 28px 40px; }
h1 { font-size: 24px; margin: 4px 0 2px; }
h2 { font-size: 17px; margin: 0 0 10px; }
.source { color: var(--muted); margin: 0 0 16px; word-break: break-all; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 14px 18px; margin: 0 0 16px; }
.diagnosis { border-left: 6px solid var(--accent); }
.diagnosis .verdict { font-size: 17px; font-weight: 600; margin: 0 0 6px; }
.diagnosis ul { margin: 6px 0 0; padding-left: 20px; }
.v-overfitting, .v-diverged { border-left-color: #d62728; }
.v-underfitting, .v-not-learning { border-left-color: #ff7f0e; }
.v-good-fit { border-left-color: #2ca02c; }
.incomplete { color: #a04000; font-weight: 600; }
.note, .omitted { color: var(--muted); font-style: italic; margin: 6px 0; }
.charts { display: flex; flex-wrap: wrap; gap: 12px 24px; }
svg.chart { background: #fff; font-size: 12px; }
svg.chart .chart-title { font-size: 13px; font-weight: 600; fill: var(--ink); }
svg.chart .grid { stroke: #eee; }
svg.chart .frame { fill: none; stroke: #bbb; }
svg.chart .zero { stroke: #888; stroke-dasharray: 2 3; }
svg.chart .tick, svg.chart .axis-label, svg.chart .legend text { fill: #555; }
svg.chart .series { fill: none; stroke-width: 2; stroke-linejoin: round; }
svg.chart .marker { stroke-width: 1.5; stroke-dasharray: 4 3; }
svg.chart .marker-label { font-size: 10.5px; font-weight: 600; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
svg.chart .empty { fill: var(--muted); font-style: italic; }
table { border-collapse: collapse; }
th, td { padding: 4px 10px; border-bottom: 1px solid #eee; text-align: right; }
th { font-weight: 600; background: #fafafa; }
td.name, th.name { text-align: left; }
table.facts td, table.facts th { text-align: left; vertical-align: top; }
table.confusion td { min-width: 44px; text-align: center; }
.bar-cell { min-width: 150px; text-align: left; }
.bar { display: inline-block; height: 10px; background: var(--accent); vertical-align: middle; margin-right: 6px; }
.bar.validation { background: #ff7f0e; } .bar.test { background: #2ca02c; }
.key span { display: inline-block; margin-right: 14px; }
img.augmentation { image-rendering: pixelated; max-width: 100%; border: 1px solid var(--line); }
pre { background: #fafafa; border: 1px solid #eee; padding: 10px; overflow: auto; font-size: 12px; }
.grid2 { display: flex; flex-wrap: wrap; gap: 16px 40px; align-items: flex-start; }
)css";

}  // namespace

std::string html_page(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
         html_escape(title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n<main>\n" + body +
         "</main>\n</body>\n</html>\n";
}

std::string series_color(size_t i) {
  static const std::array<const char*, 10> kPalette = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                                       "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return kPalette[i % kPalette.size()];
}

}  // namespace regula::report
