// Line charts as SVG text: axes with round ticks, series broken at NaN gaps, vertical markers.

#include "regula/report/svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "regula/report/html_report.hpp"
#include "src/report/html_text.hpp"

namespace regula::report {
namespace {

constexpr double kLeft = 72, kRight = 18, kBottom = 46, kTitleHeight = 22, kLegendRow = 16;

std::string num(double v) { return format_number(v, 6); }

/// Rough text width of the report's 12px sans-serif (for laying out legend entries).
double text_width(const std::string& s, double px) { return 0.58 * px * static_cast<double>(s.size()); }

struct Range {
  double low = 0, high = 1;
};

/// Ticks of a logarithmic axis over [low, high] (in log10 units): the decades, with 2× and 5×
/// between them when the range spans less than two decades.
std::vector<double> log_ticks(double low, double high) {
  std::vector<double> ticks;
  const bool fine = high - low < 2.0;
  for (double decade = std::floor(low); decade <= std::ceil(high); decade += 1.0)
    for (const double m : {1.0, 2.0, 5.0}) {
      if (m != 1.0 && !fine) continue;
      const double t = decade + std::log10(m);
      if (t >= low - 1e-9 && t <= high + 1e-9) ticks.push_back(t);
    }
  if (ticks.empty()) ticks = {low, high};
  return ticks;
}

}  // namespace

std::vector<double> nice_ticks(double low, double high, int target) {
  if (!std::isfinite(low) || !std::isfinite(high) || high < low || target < 1) return {};
  if (high == low) return {low};
  const double raw = (high - low) / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (const double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (raw <= step) break;
  }
  std::vector<double> ticks;
  // Counted, not accumulated: a step below the values' precision must not loop for ever.
  const double first = std::ceil(low / step - 1e-9);
  for (int k = 0; k < 50; ++k) {
    const double t = (first + k) * step;
    if (t > high + step * 1e-9) break;
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  }
  return ticks;
}

std::string render_svg(const LineChart& c) {
  const bool log_y = c.log_y;
  auto ty = [&](double y) { return log_y ? (y > 0 ? std::log10(y) : std::numeric_limits<double>::quiet_NaN()) : y; };

  // Data ranges over finite values.
  Range xr{std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
  Range yr = xr;
  for (const ChartSeries& s : c.series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      const double y = ty(s.y[i]);
      if (!std::isfinite(s.x[i])) continue;
      xr.low = std::min(xr.low, s.x[i]);
      xr.high = std::max(xr.high, s.x[i]);
      if (!std::isfinite(y)) continue;
      yr.low = std::min(yr.low, y);
      yr.high = std::max(yr.high, y);
    }
  for (const ChartMarker& m : c.markers) {
    xr.low = std::min(xr.low, m.x);
    xr.high = std::max(xr.high, m.x);
  }
  const bool has_values = std::isfinite(yr.low);
  if (!std::isfinite(xr.low)) xr = {0, 1};
  if (!has_values) yr = {0, 1};
  if (c.zero_line && !log_y) {
    yr.low = std::min(yr.low, 0.0);
    yr.high = std::max(yr.high, 0.0);
  }
  if (yr.high - yr.low < 1e-12) {
    const double pad = std::max(std::fabs(yr.low) * 0.1, 0.5);
    yr = {yr.low - pad, yr.high + pad};
  }
  std::vector<double> y_ticks = log_y ? log_ticks(yr.low, yr.high) : nice_ticks(yr.low, yr.high, 5);
  if (log_y) {
    const double pad = (yr.high - yr.low) * 0.08;
    yr = {yr.low - pad, yr.high + pad};
  } else if (!y_ticks.empty()) {
    const double step = y_ticks.size() > 1 ? y_ticks[1] - y_ticks[0] : 1.0;
    if (y_ticks.front() > yr.low) y_ticks.insert(y_ticks.begin(), y_ticks.front() - step);
    if (y_ticks.back() < yr.high) y_ticks.push_back(y_ticks.back() + step);
    yr = {y_ticks.front(), y_ticks.back()};
  }
  const double x_pad = std::max((xr.high - xr.low) * 0.03, 0.5);
  const Range xv{xr.low - x_pad, xr.high + x_pad};
  std::vector<double> x_ticks;
  for (const double t : nice_ticks(xr.low, xr.high, 8))
    if (t == std::round(t)) x_ticks.push_back(t);  // epochs are whole numbers

  // Legend rows under the title.
  struct Entry {
    double x, y;
  };
  std::vector<Entry> entries;
  double lx = kLeft, ly = kTitleHeight + 12;
  for (const ChartSeries& s : c.series) {
    const double w = 26 + text_width(s.name, 12) + 16;
    if (lx + w > c.width - kRight && lx > kLeft) {
      lx = kLeft;
      ly += kLegendRow;
    }
    entries.push_back({lx, ly});
    lx += w;
  }
  const double top = ly + 14;
  const double plot_w = c.width - kLeft - kRight, plot_h = c.height - top - kBottom;
  auto px = [&](double x) { return kLeft + (x - xv.low) / (xv.high - xv.low) * plot_w; };
  auto py = [&](double y) { return top + (1.0 - (y - yr.low) / (yr.high - yr.low)) * plot_h; };

  std::string svg = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(c.width) +
                    "\" height=\"" + std::to_string(c.height) + "\" viewBox=\"0 0 " + std::to_string(c.width) + " " +
                    std::to_string(c.height) + "\" role=\"img\" aria-label=\"" + html_escape(c.title) + "\">\n";
  svg += "<text class=\"chart-title\" x=\"" + num(kLeft) + "\" y=\"16\">" + html_escape(c.title) + "</text>\n";
  // Grid and axes.
  for (const double t : y_ticks) {
    const double y = py(t);
    const std::string label = log_y ? format_number(std::pow(10.0, t), 3) : format_number(t, 4);
    svg += "<line class=\"grid\" x1=\"" + num(kLeft) + "\" x2=\"" + num(kLeft + plot_w) + "\" y1=\"" + num(y) + "\" y2=\"" +
           num(y) + "\"/><text class=\"tick\" x=\"" + num(kLeft - 6) + "\" y=\"" + num(y + 4) +
           "\" text-anchor=\"end\">" + label + "</text>\n";
  }
  for (const double t : x_ticks) {
    const double x = px(t);
    svg += "<line class=\"grid\" x1=\"" + num(x) + "\" x2=\"" + num(x) + "\" y1=\"" + num(top) + "\" y2=\"" +
           num(top + plot_h) + "\"/><text class=\"tick\" x=\"" + num(x) + "\" y=\"" + num(top + plot_h + 16) +
           "\" text-anchor=\"middle\">" + format_number(t, 6) + "</text>\n";
  }
  svg += "<rect class=\"frame\" x=\"" + num(kLeft) + "\" y=\"" + num(top) + "\" width=\"" + num(plot_w) + "\" height=\"" +
         num(plot_h) + "\"/>\n";
  if (c.zero_line && !log_y && yr.low < 0 && yr.high > 0)
    svg += "<line class=\"zero\" x1=\"" + num(kLeft) + "\" x2=\"" + num(kLeft + plot_w) + "\" y1=\"" + num(py(0)) +
           "\" y2=\"" + num(py(0)) + "\"/>\n";
  svg += "<text class=\"axis-label\" x=\"" + num(kLeft + plot_w / 2) + "\" y=\"" + num(c.height - 8) +
         "\" text-anchor=\"middle\">" + html_escape(c.x_label) + "</text>\n";
  svg += "<text class=\"axis-label\" transform=\"translate(14," + num(top + plot_h / 2) +
         ") rotate(-90)\" text-anchor=\"middle\">" + html_escape(c.y_label) + "</text>\n";

  // Markers: dashed vertical lines; a label goes one row lower when it would touch another.
  struct Placed {
    double left, right;
    int row;
  };
  std::vector<Placed> placed;
  for (const ChartMarker& m : c.markers) {
    const double x = px(m.x), width = text_width(m.label, 10.5) + 6;
    // A label reads to the right of its line, or to the left where it would leave the plot.
    const bool flip = x + width > kLeft + plot_w;
    const double left = flip ? x - width : x, right = flip ? x : x + width;
    int row = 0;
    while (std::any_of(placed.begin(), placed.end(),
                       [&](const Placed& p) { return p.row == row && left < p.right && p.left < right; }))
      ++row;
    placed.push_back({left, right, row});
    svg += "<g class=\"marker-group\"><title>" + html_escape(m.tooltip.empty() ? m.label : m.tooltip) +
           "</title><line class=\"marker\" x1=\"" + num(x) + "\" x2=\"" + num(x) + "\" y1=\"" + num(top) + "\" y2=\"" +
           num(top + plot_h) + "\" stroke=\"" + html_escape(m.color) + "\"/><text class=\"marker-label\" x=\"" +
           num(flip ? x - 3 : x + 3) + "\" y=\"" + num(top + 11 + 12 * row) + "\"" + (flip ? " text-anchor=\"end\"" : "") +
           " fill=\"" + html_escape(m.color) + "\">" + html_escape(m.label) + "</text></g>\n";
  }

  // Series: one path per run of finite values, dots for the points.
  for (size_t k = 0; k < c.series.size(); ++k) {
    const ChartSeries& s = c.series[k];
    const std::string color = html_escape(s.color);
    svg += "<g class=\"series-group\" data-series=\"" + html_escape(s.name) + "\">";
    std::string d;
    size_t run = 0;
    const size_t n = std::min(s.x.size(), s.y.size());
    std::vector<size_t> lone;
    for (size_t i = 0; i <= n; ++i) {
      const bool ok = i < n && std::isfinite(s.x[i]) && std::isfinite(ty(s.y[i]));
      if (ok) {
        d += (run == 0 ? "M" : "L") + num(px(s.x[i])) + " " + num(py(ty(s.y[i]))) + " ";
        ++run;
        continue;
      }
      if (run == 1) lone.push_back(i - 1);
      if (run > 1)
        svg += "<path class=\"series\" d=\"" + d + "\" stroke=\"" + color + "\"" +
               (s.dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>";
      d.clear();
      run = 0;
    }
    const bool dots = n <= 80;
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(ty(s.y[i]))) continue;
      const bool is_lone = std::find(lone.begin(), lone.end(), i) != lone.end();
      if (!dots && !is_lone) continue;
      svg += "<circle cx=\"" + num(px(s.x[i])) + "\" cy=\"" + num(py(ty(s.y[i]))) + "\" r=\"" + (is_lone ? "3.5" : "2.5") +
             "\" fill=\"" + color + "\"><title>" + html_escape(s.name) + ", " + html_escape(c.x_label) + " " +
             format_number(s.x[i], 6) + ": " + format_number(s.y[i], 5) + "</title></circle>";
    }
    svg += "</g>\n";
    // Legend entry.
    const Entry& e = entries[k];
    svg += "<g class=\"legend\"><line x1=\"" + num(e.x) + "\" x2=\"" + num(e.x + 20) + "\" y1=\"" + num(e.y - 4) +
           "\" y2=\"" + num(e.y - 4) + "\" stroke=\"" + color + "\" stroke-width=\"2.5\"" +
           (s.dashed ? " stroke-dasharray=\"6 4\"" : "") + "/><text x=\"" + num(e.x + 26) + "\" y=\"" + num(e.y) + "\">" +
           html_escape(s.name) + "</text></g>\n";
  }
  if (!has_values)
    svg += "<text class=\"empty\" x=\"" + num(kLeft + plot_w / 2) + "\" y=\"" + num(top + plot_h / 2) +
           "\" text-anchor=\"middle\">no finite values</text>\n";
  svg += "</svg>\n";
  return svg;
}

}  // namespace regula::report
