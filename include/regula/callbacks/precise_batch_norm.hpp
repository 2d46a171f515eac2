#pragma once
/// @file
/// PreciseBatchNorm: recalibrates the statistics of batch normalization on clean training images
/// before the model is validated or saved ("precise BN", Wu & Johnson 2021, *Rethinking "Batch"
/// in BatchNorm*). Keras has no such callback; the rule is regula's.
///
/// Why: BatchNormalization's moving statistics are averaged over the training batches, which are
/// augmented and pass through active dropout, and then used on clean images without dropout; the
/// two populations differ (dropout's "variance shift"), and with momentum 0.99 the average also
/// trails the weights by ~100 steps. Validation accuracy then swings from epoch to epoch.
///
/// What, each time (Model::recalibrate_batch_normalization): `batches` batches of `batch_size`
/// rows of the images given (a fixed random choice of rows, drawn once from `seed`) run through the
/// network with dropout and noise layers off; every BatchNormalization normalizes by each batch's
/// own statistics and its moving mean and variance become the exact population statistics
/// (Σx / n and Σx² / n − mean²) of every value it saw. Training itself is unchanged: it normalizes
/// by batch statistics and never reads the moving ones.
///
/// When (`schedule`):
/// - "epoch" (default): before each validation of `fit` (on_test_begin, so `val_*` and the
///   callbacks reading them see the recalibrated model) and at the end of an epoch without one, so
///   a ModelCheckpoint listed after this callback saves recalibrated statistics;
/// - "train_end": once, when `fit` ends.
/// Before recalibrating, the moving averages as Keras would have them are kept aside and put back
/// at the next epoch's start, so they go on as in a run without this callback.
///
/// With comparison data (`compare_on`), the end of `fit` evaluates it with the recalibrated
/// statistics and with the moving averages, for the report (`final_comparison`).
///
/// Allowed: batches >= 1, batch_size >= 1, schedule "epoch" or "train_end", images with at least
/// one row (ValueError naming the option otherwise).

#include <optional>
#include <string>
#include <vector>

#include "regula/model/callback.hpp"
#include "regula/tensor/tensor.hpp"

namespace regula::callbacks {

struct PreciseBatchNormOptions {
  /// Batches of clean images per recalibration (fewer when the images run out).
  int64_t batches = 50;
  int64_t batch_size = 128;
  /// "epoch" or "train_end".
  std::string schedule = "epoch";
  /// The seed of the rows chosen (the same rows every time).
  uint64_t seed = 0;
  int verbose = 0;
};

/// Validation metrics of the final model with and without recalibrated statistics.
struct PreciseBatchNormComparison {
  int epoch = 0;  ///< 1-based, the last epoch fit ran
  Logs recalibrated;
  Logs moving_average;
};

class PreciseBatchNorm final : public Callback {
 public:
  /// `images`: clean training inputs, as the model takes them (standardized, not augmented).
  explicit PreciseBatchNorm(Tensor images, PreciseBatchNormOptions options = {});

  /// Data evaluated both ways at the end of fit (see the file comment).
  void compare_on(Tensor x, Tensor y);

  const PreciseBatchNormOptions& options() const { return options_; }
  /// Recalibrations so far, and the seconds they took.
  int64_t recalibrations() const { return recalibrations_; }
  double seconds() const { return seconds_; }
  const std::optional<PreciseBatchNormComparison>& final_comparison() const { return comparison_; }

  /// Recalibrates the model now.
  void recalibrate();

  void on_train_begin(Logs& logs) override;
  void on_epoch_begin(int epoch, Logs& logs) override;
  void on_test_begin(Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(Logs& logs) override;

 private:
  PreciseBatchNormOptions options_;
  Tensor images_;
  Tensor compare_x_, compare_y_;
  bool in_fit_ = false;
  bool recalibrated_this_epoch_ = false;
  int last_epoch_ = -1;
  // The moving statistics as Keras would have them, kept aside while recalibrated ones are in.
  std::vector<Tensor> moving_averages_;
  int64_t recalibrations_ = 0;
  double seconds_ = 0.0;
  std::optional<PreciseBatchNormComparison> comparison_;

  std::vector<Tensor*> moving_statistics();
  void keep_moving_averages();
  void set_moving_statistics(const std::vector<Tensor>& values);
  void restore_moving_averages();
};

}  // namespace regula::callbacks
