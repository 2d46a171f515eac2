#pragma once
/// @file
/// A plain-words verdict on a training history, for the top of the learning-curve report.
///
/// The rules, applied in this order to `loss` and `val_loss` (epochs printed 1-based):
/// 1. no epochs (or no `loss`) → Verdict::no_epochs.
/// 2. the last training loss is NaN or infinite → Verdict::diverged, from the first epoch of the
///    trailing run of non-finite losses.
/// 3. fewer than 2 epochs with a finite training loss → Verdict::too_short.
/// 4. no finite `val_loss` → Verdict::no_validation (the training loss's trend is still given).
/// 5. overfitting: the best (lowest) validation loss is at least `rising_epochs` epochs before
///    the last, the last validation loss is above the best by more than `rise_tolerance` (relative
///    to the best's magnitude), and the training loss fell over the same epochs → Verdict::
///    overfitting, from the epoch after the best.
/// 6. not learning: the training loss fell by less than `fall_tolerance` (relative) from the
///    first to the last epoch → Verdict::not_learning.
/// 7. underfitting: both losses fell by more than `fall_tolerance` (relative) over the last
///    `window` epochs (fewer when the run is shorter) and over the last epoch alone, and the best
///    validation loss is one of those epochs → Verdict::underfitting ("both curves still
///    falling").
/// 8. otherwise → Verdict::good_fit (the validation loss levelled off).
/// Non-finite values of any series are named in `notes` (the report draws them as gaps) and left
/// out of rules 3–8. With `accuracy` and `val_accuracy`, the sentence gives the accuracy gap.

#include <string>
#include <vector>

#include "regula/report/run_data.hpp"

namespace regula::report {

enum class Verdict { no_epochs, diverged, too_short, no_validation, overfitting, not_learning, underfitting, good_fit };

/// "overfitting", "underfitting", "good fit", …
std::string verdict_name(Verdict verdict);

struct DiagnosisOptions {
  /// Rule 5: epochs after the best validation loss before rising counts as overfitting.
  int rising_epochs = 3;
  /// Rule 5: how far above the best the last validation loss must be (relative).
  double rise_tolerance = 0.01;
  /// Rules 6 and 7: the smallest relative fall that counts as falling.
  double fall_tolerance = 0.01;
  /// Rule 7: the trailing epochs examined.
  int window = 3;
};

struct Diagnosis {
  Verdict verdict = Verdict::no_epochs;
  /// One sentence, e.g. "overfitting from epoch 12: validation loss has risen for 6 epochs while
  /// training loss fell".
  std::string sentence;
  /// The 0-based epoch the verdict starts at (overfitting, divergence); -1 otherwise.
  int from_epoch = -1;
  /// The 0-based epoch of the lowest validation loss; -1 without one.
  int best_val_loss_epoch = -1;
  /// Non-finite values by series, e.g. "val_loss is NaN at epochs 3, 4".
  std::vector<std::string> notes;
};

/// Applies the rules above. Pure: same history, same diagnosis.
Diagnosis diagnose(const HistoryData& history, const DiagnosisOptions& options = {});

}  // namespace regula::report
