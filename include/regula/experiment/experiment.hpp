#pragma once
/// @file
/// Experiments: a whole training run described by an experiment file (DESIGN.md, "The
/// experiment file") and run without writing C++ (`regula fit experiment.yaml`).
///
/// Sections built today: `seed`, `threads`, `data` (dataset `fashion_mnist` or IDX files
/// `{x: …, y: …}`, `limit`, `validation_split` or `validation: {x, y}`, `test: {x, y}`),
/// `model` (`seed`; `{builtin: seed, conv_dropout, dense_dropout, activity_l2}` for the seed model
/// with other options (models::SeedModelOptions); or `{layers: [...]}` of Keras-style layer
/// configs, optional `input_shape`),
/// `compile` (`optimizer` as a name or `{class_name, learning_rate, …}`, `loss`, `metrics`) and
/// `fit` (`epochs`, `batch_size`, `shuffle`, `class_weight`, `validation_freq`, `initial_epoch`)
/// `augmentation` (ImageDataGenerator options with Keras's names, see
/// preprocessing/image_data_generator_config.hpp; training then runs on `flow` batches; null or {}
/// turns it off; featurewise statistics are fitted on the training images, and validation and
/// test images get the same standardization) and `callbacks` (a list of Keras-style callback
/// configs, see experiment/callback_factory.hpp; relative file names land in the run directory).
/// The `search` section describes a hyperparameter search over the experiment (`regula search`,
/// experiment/experiment_search.hpp); `run` trains the experiment as written and ignores it.
///
/// A run writes its run directory: `experiment.yaml` (the resolved experiment), `history.json`,
/// `history.csv`, `test.json`, `evaluation.json` (confusion matrix and class counts,
/// report/test_evaluation.hpp), `augmentation.png` (when it augments) and the learning-curve report
/// `report.html` (report/html_report.hpp); and ends by printing `test_loss: … - test_accuracy: …`.
/// The test set is evaluated on the kept model: the last file a save_best_only ModelCheckpoint
/// wrote, loaded back as the article does (`load_model('best.h5')`), else the model as fit left it.

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "regula/callbacks/progbar_logger.hpp"
#include "regula/model/history.hpp"
#include "regula/model/model.hpp"
#include "regula/preprocessing/augmentation_preview.hpp"

namespace regula::experiment {

/// The default experiment, the main job (`regula fit` with no file): the seed model on
/// Fashion-MNIST with 10 % of the training set validating, Adam under a cosine decay from 0.002 to 0
/// over its 11 epochs of batch 128 (CosineDecay, decay_steps 11 · 422), light augmentation
/// (horizontal_flip only), seed 1, and the callbacks PreciseBatchNorm(50 batches of 128),
/// BackupAndRestore(backup, every 200 batches), EarlyStopping(val_accuracy, patience 10, max),
/// ModelCheckpoint(best.h5, val_accuracy, save_best_only, max), CSVLogger(log.csv) and
/// TensorBoard(log_dir logs). How these settings differ from the article's, and how they were
/// chosen, is in the README ("The main job").
nlohmann::json default_experiment();
/// The article's recipe as an experiment: the seed model, Adam, sparse categorical crossentropy
/// with accuracy, 2 epochs of batch 128, validation_split 0.2, seed 1, the article's augmentation
/// (rotation_range 10, width/height_shift_range 0.1, zoom_range 0.2, horizontal_flip) and its
/// callbacks: EarlyStopping(val_accuracy, patience 10, max), ReduceLROnPlateau(val_accuracy, factor
/// 0.1, patience 7, min_delta 1e-4, max, verbose 1), ModelCheckpoint(best.h5, val_accuracy,
/// save_best_only, max), CSVLogger(log.csv); and TensorBoard(log_dir logs). What the ablation
/// switches on when an experiment has no setting of its own (experiment/ablation.hpp).
nlohmann::json article_experiment();

/// Reads an experiment file (YAML) and fills omitted keys from the default experiment.
/// Throws IOError for an unreadable file and ValueError (naming the file and key) for an
/// unknown section or key.
nlohmann::json load(const std::string& path);
/// The experiment a run directory's run was started with (its experiment.yaml, as written: already
/// resolved, so it is not merged with the default again). Throws ValueError when the directory
/// holds no run, IOError when the file cannot be read.
nlohmann::json load_run_experiment(const std::string& run_dir);

/// Overlays `overrides` on `base` key by key (objects merge recursively; other values replace).
nlohmann::json merge(nlohmann::json base, const nlohmann::json& overrides);

/// Builds the model of a `model` section for inputs of `input_shape` (uncompiled).
std::unique_ptr<Model> build_model(const nlohmann::json& model_section, const Shape& input_shape);
/// The model of a resolved experiment without loading its data (for `regula summary`): seeded with
/// the experiment's seed and built for the model section's `input_shape`, else Fashion-MNIST's
/// (28, 28, 1), the default data set's; its layers under the experiment's dtype_policy.
std::unique_ptr<Model> summary_model(const nlohmann::json& experiment);

/// What a run does with a run directory that already holds a run (its experiment.yaml).
enum class ExistingRun {
  /// Refuse, saying how to resume it or start afresh (nothing is changed).
  refuse,
  /// Continue the interrupted run from its BackupAndRestore backup; a finished run (report.html,
  /// its last file, written) or a directory without a run is refused.
  resume,
  /// Remove the earlier run's directory and start afresh.
  overwrite,
};

struct RunOptions {
  /// Where to write the run directory; empty: runs/<YYYYmmdd-HHMMSS>.
  std::string run_dir = "";
  /// A run directory that already holds a run: refused unless resumed or overwritten.
  ExistingRun existing = ExistingRun::refuse;
  /// Progress verbosity of fit (Keras's 0/1/2).
  int verbose = 1;
  /// Where the summary, progress and results are printed.
  std::FILE* out = stdout;
  /// The ranks that run this experiment together (`mpirun -np N regula fit`; see
  /// distributed/mpi.hpp); one process by default. Every rank loads the same data and trains one
  /// model on its shards (Model::set_communicator). Rank 0 prints and writes the run directory;
  /// rank r > 0 prints nothing and keeps its own files (its checkpoints and backups, which a
  /// resume reads) in RUN_DIR/rank-r. With several ranks `run_dir` must be given, the same on
  /// every rank; a rank that cannot prepare its directory stops every rank.
  distributed::CommunicatorPtr communicator = distributed::single_process();
};

struct RunResult {
  callbacks::History history;
  /// Loss and metrics on the test set: {"loss": …, "accuracy": …}.
  callbacks::Logs test;
  std::string run_dir;
};

/// Runs a (resolved) experiment end to end.
RunResult run(const nlohmann::json& experiment, const RunOptions& options = {});

/// Writes the augmentation preview of an experiment (`regula augment-preview`): its first
/// `samples` training images, each followed by random augmentations from its `augmentation`
/// section, as an image grid at `path`. Throws ValueError when the experiment has no augmentation.
void write_augmentation_preview(const nlohmann::json& experiment, const std::string& path, int64_t samples,
                                const preprocessing::AugmentationPreviewOptions& options = {});

}  // namespace regula::experiment
