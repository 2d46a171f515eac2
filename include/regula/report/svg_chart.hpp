#pragma once
/// @file
/// Line charts as inline SVG for the learning-curve report: several series over a shared x axis,
/// vertical markers at chosen x positions, a legend, and axes with round tick values.
///
/// A NaN or infinite y value is a gap: the line breaks there and resumes at the next finite value
/// (a finite value with no finite neighbour is drawn as a dot). Every text from the caller
/// (title, axis labels, series and marker labels) is HTML-escaped. The chart is an `<svg>` element
/// with class `chart`; each series is drawn as `<path class="series">` pieces, each marker as a
/// `<line class="marker">`.

#include <string>
#include <vector>

namespace regula::report {

struct ChartSeries {
  std::string name;
  std::vector<double> x;
  /// As long as `x`; NaN values are gaps.
  std::vector<double> y;
  /// Any CSS colour.
  std::string color = "#1f77b4";
  bool dashed = false;
};

struct ChartMarker {
  double x = 0.0;
  /// Drawn at the top of the line (short: a few characters); the full text is its tooltip.
  std::string label;
  std::string tooltip;
  std::string color = "#777";
};

struct LineChart {
  std::string title;
  std::string x_label = "epoch";
  std::string y_label;
  std::vector<ChartSeries> series;
  std::vector<ChartMarker> markers;
  /// A horizontal reference line at y = 0 when the range includes it (for gaps).
  bool zero_line = false;
  /// Logarithmic y axis (values <= 0 become gaps).
  bool log_y = false;
  int width = 560;
  int height = 320;
};

/// The chart as an `<svg>` element. A chart without any finite value says so in its plot area.
std::string render_svg(const LineChart& chart);

/// Tick values that cover [low, high] in steps of 1, 2 or 5 times a power of ten, about
/// `target` of them.
std::vector<double> nice_ticks(double low, double high, int target = 5);

}  // namespace regula::report
