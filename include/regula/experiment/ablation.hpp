#pragma once
/// @file
/// The ablation that measures the recipe (`regula ablate experiment.yaml`): the same model on the
/// same data with the same seed and epoch budget, trained with none of the recipe's techniques,
/// with each one alone, and with all of them, side by side in one table.
///
/// The techniques and what switching one on means (the experiment's own setting when it has one,
/// else the article's):
///
/// | technique          | on                                                         | off                          |
/// | ---                | ---                                                        | ---                          |
/// | dropout            | the model's dropout rates                                   | every dropout rate 0         |
/// | augmentation       | the experiment's augmentation, else the article's           | no augmentation              |
/// | L2                 | the model's kernel / bias / activity regularizers           | none                         |
/// | class weights      | fit.class_weight, else "balanced"                           | none                         |
/// | early stopping     | the experiment's EarlyStopping, else (val_accuracy, 10, max) | none                         |
/// | LR schedule        | the experiment's ReduceLROnPlateau or its optimizer's learning-rate schedule, else the article's ReduceLROnPlateau | neither: a constant rate (a schedule's initial one) |
/// | best checkpoint    | the experiment's ModelCheckpoint(save_best_only), else the article's best.h5 | none        |
/// | BN recalibration   | the experiment's PreciseBatchNorm, else the default experiment's | none                    |
///
/// Dropout and L2 apply to `model: seed` / `{builtin: seed}` (its conv_dropout, dense_dropout and
/// activity_l2) and to layer lists (rates of Dropout, SpatialDropout2D and GaussianDropout layers;
/// `*_regularizer` options). Other callbacks (CSVLogger, ...) stay in every variant.
///
/// Each variant is an ordinary run (`experiment::run`, its own run directory under the ablation's)
/// whose test accuracy is that of its kept model (the best checkpoint when that technique is on).
/// The table: final and best validation accuracy, test accuracy of the kept model, the
/// generalization gap (training minus validation accuracy at the last epoch) and the epochs run,
/// written to RUN_DIR/ablation.md; the variants' validation curves, overlaid, go to
/// RUN_DIR/ablation.html (report::write_comparison_report).

#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace regula::experiment {

enum class Technique {
  dropout,
  augmentation,
  l2,
  class_weights,
  early_stopping,
  lr_reduction,
  best_checkpoint,
  batch_norm_recalibration
};

/// Every technique, in the article's order, then regula's BN recalibration.
const std::vector<Technique>& all_techniques();
/// "dropout", "augmentation", "L2", "class weights", "early stopping", "LR schedule",
/// "best checkpoint", "BN recalibration".
std::string technique_name(Technique technique);

/// The experiment with exactly the techniques in `on` in use (see the file comment).
nlohmann::json with_techniques(const nlohmann::json& experiment, const std::set<Technique>& on);

struct AblationVariant {
  /// "none", "+dropout", …, "all".
  std::string label;
  std::set<Technique> on;
};
/// none; each technique alone; all.
std::vector<AblationVariant> ablation_variants();

/// One row of the table.
struct AblationRow {
  std::string label;
  /// The variant's run directory.
  std::string run_dir;
  double final_val_accuracy = 0.0;
  double best_val_accuracy = 0.0;
  /// Of the kept model; empty without a test set.
  std::optional<double> test_accuracy;
  /// accuracy - val_accuracy at the last epoch.
  double generalization_gap = 0.0;
  int64_t epochs = 0;
  /// Why the variant failed (empty when it ran).
  std::string error;
};

struct AblationOptions {
  /// The ablation's directory (default runs/ablate-<YYYYmmdd-HHMMSS>); variant k runs in
  /// RUN_DIR/<k>-<label>.
  std::string run_dir;
  /// Variants at once (worker processes need `worker_command`).
  int jobs = 1;
  /// Threads for all running variants together (0: the experiment's, else num_threads()).
  int threads = 0;
  /// The command that runs an experiment file in a new process, given `FILE --run-dir DIR`
  /// appended (the CLI gives {"regula", "fit", "--verbose", "2"}). Empty: variants run here.
  std::vector<std::string> worker_command;
  /// Only these variants (labels); empty: all.
  std::vector<std::string> only;
  /// 0 silent; 1 a line per variant and the table.
  int verbose = 1;
  std::FILE* out = stdout;
};

struct AblationResult {
  std::vector<AblationRow> rows;
  std::string run_dir;
};

/// Runs the ablation of a resolved experiment. Throws ValueError before anything runs when the
/// experiment has no validation data (the table is about validation accuracy), does not log
/// accuracy, or `only` names an unknown variant (listing them).
AblationResult ablate(const nlohmann::json& experiment, const AblationOptions& options = {});

/// The table as Markdown (for the README) with the variants in order.
std::string ablation_table(const std::vector<AblationRow>& rows);

}  // namespace regula::experiment
