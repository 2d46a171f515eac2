#pragma once
/// @file
/// The learning-curve report: one self-contained HTML file (inline CSS and SVG, the augmentation
/// picture as a data URI, no scripts, nothing fetched from the network) that shows
/// - the diagnosis (report/diagnosis.hpp), the kept epoch and, for an incomplete run, what is
///   missing, at the top;
/// - training and validation loss and accuracy per epoch, with markers where the learning rate
///   changed, where EarlyStopping fired and which epoch's weights were kept
///   (report/training_events.hpp);
/// - the generalization gap per epoch (train accuracy − validation accuracy, validation loss −
///   training loss) and the learning rate;
/// - the test results, the confusion matrix and per-class accuracy, the class distribution of the
///   training / validation / test sets (report/test_evaluation.hpp), the augmentation grid and
///   the resolved experiment, each when the run has it (a note says what is omitted).
/// Every string read from a run is HTML-escaped.
///
/// ```sh
/// regula report runs/20250101-120000            # writes runs/20250101-120000/report.html
/// ```

#include <string>
#include <vector>

#include "regula/report/run_data.hpp"

namespace regula::report {

/// The report of `run` as an HTML document.
std::string report_html(const RunData& run);

/// Writes `report_html(run)` to `path` (atomically; IOError naming the path on failure).
void write_report(const RunData& run, const std::string& path);

/// Reads the run directory `run_dir` (load_run) and writes its report to `out`, by default
/// `run_dir/report.html`. Returns the path written. Throws as load_run and write_report.
std::string write_run_report(const std::string& run_dir, const std::string& out = "");

/// A run with the label it has in a comparison.
struct LabeledRun {
  std::string label;
  RunData run;
};

/// One HTML file that overlays the runs' validation accuracy and validation loss curves (one
/// colour per run) above a table of each run's epochs, best validation accuracy and loss (with
/// their epochs), test results and diagnosis. Throws ValueError for no runs, IOError when `path`
/// cannot be written.
void write_comparison_report(const std::vector<LabeledRun>& runs, const std::string& path);
/// Reads each run directory (load_run), labels it by the directory's own name ("runs/a/" → "a"),
/// and writes their comparison to `path` (default "comparison.html"). Returns the path written.
std::string compare_run_directories(const std::vector<std::string>& run_dirs, const std::string& path = "");

/// `text` with &, <, >, " and ' replaced by character references.
std::string html_escape(const std::string& text);

}  // namespace regula::report
