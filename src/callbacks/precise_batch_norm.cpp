// PreciseBatchNorm: the recalibration of batch normalization's statistics on clean images, on
// its schedule, with the moving averages kept aside and put back.

#include "regula/callbacks/precise_batch_norm.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "regula/data/batch_source.hpp"
#include "regula/error.hpp"
#include "regula/model/model.hpp"
#include "regula/tensor/gather.hpp"
#include "regula/utils/random.hpp"

namespace regula::callbacks {
namespace {

/// The rows of a tensor in batches, in order (labels are not needed).
class RowBatches final : public data::BatchSource {
 public:
  RowBatches(const Tensor& x, int64_t batch_size) : x_(x), batch_size_(batch_size) {}
  int64_t batches_per_pass() const override { return (x_.dim(0) + batch_size_ - 1) / batch_size_; }
  int64_t samples() const override { return x_.dim(0); }
  Shape sample_shape() const override { return x_.shape().without_batch(); }
  void next(data::Batch& batch) override {
    const int64_t begin = std::min(next_ * batch_size_, x_.dim(0));
    batch.x = x_.slice_rows(begin, std::min(begin + batch_size_, x_.dim(0)));
    ++next_;
  }
  void reset() override { next_ = 0; }

 private:
  const Tensor& x_;
  int64_t batch_size_;
  int64_t next_ = 0;
};

PreciseBatchNormOptions validated(PreciseBatchNormOptions o) {
  if (o.batches < 1)
    throw ValueError("PreciseBatchNorm: batches=" + std::to_string(o.batches) + " is not allowed; allowed: >= 1");
  if (o.batch_size < 1)
    throw ValueError("PreciseBatchNorm: batch_size=" + std::to_string(o.batch_size) + " is not allowed; allowed: >= 1");
  if (o.schedule != "epoch" && o.schedule != "train_end")
    throw ValueError("PreciseBatchNorm: schedule='" + o.schedule + "' is not allowed; allowed: 'epoch', 'train_end'");
  return o;
}

}  // namespace

PreciseBatchNorm::PreciseBatchNorm(Tensor images, PreciseBatchNormOptions options) : options_(validated(std::move(options))) {
  if (images.rank() < 1 || images.dim(0) < 1)
    throw ValueError("PreciseBatchNorm: the images have shape " + images.shape().to_string() +
                     "; allowed: at least one row of clean training inputs");
  // A fixed random choice of rows, gathered once.
  const int64_t wanted = std::min(images.dim(0), options_.batches * options_.batch_size);
  std::vector<int64_t> rows = Rng(options_.seed).permutation(images.dim(0));
  rows.resize(static_cast<size_t>(wanted));
  std::sort(rows.begin(), rows.end());
  images_ = gather_rows(images, rows);
}

void PreciseBatchNorm::compare_on(Tensor x, Tensor y) {
  if (x.rank() < 1 || x.dim(0) < 1 || y.rank() < 1 || y.dim(0) != x.dim(0))
    throw ValueError("PreciseBatchNorm: compare_on needs as many labels as inputs, at least one; got x " +
                     x.shape().to_string() + ", y " + y.shape().to_string());
  compare_x_ = std::move(x);
  compare_y_ = std::move(y);
}

std::vector<Tensor*> PreciseBatchNorm::moving_statistics() {
  std::vector<Tensor*> statistics;
  for (layers::Layer* layer : model().layers())
    for (layers::Weight& w : layer->weights())
      if (!w.trainable) statistics.push_back(&w.value);
  return statistics;
}

void PreciseBatchNorm::keep_moving_averages() {
  moving_averages_.clear();
  for (Tensor* t : moving_statistics()) moving_averages_.push_back(t->clone());
}

void PreciseBatchNorm::set_moving_statistics(const std::vector<Tensor>& values) {
  const std::vector<Tensor*> statistics = moving_statistics();
  for (size_t i = 0; i < statistics.size() && i < values.size(); ++i)
    std::copy_n(values[i].data(), statistics[i]->size(), statistics[i]->data());
}

void PreciseBatchNorm::restore_moving_averages() {
  if (moving_averages_.size() != moving_statistics().size()) return;
  set_moving_statistics(moving_averages_);
  moving_averages_.clear();
}

void PreciseBatchNorm::recalibrate() {
  const auto start = std::chrono::steady_clock::now();
  RowBatches source(images_, options_.batch_size);
  const int64_t samples = model().recalibrate_batch_normalization(source);
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++recalibrations_;
  if (options_.verbose > 0)
    std::printf("PreciseBatchNorm: batch normalization statistics recalibrated on %lld images\n",
                static_cast<long long>(samples));
}

void PreciseBatchNorm::on_train_begin(Logs&) {
  in_fit_ = true;
  moving_averages_.clear();
  comparison_.reset();
}

void PreciseBatchNorm::on_epoch_begin(int epoch, Logs&) {
  restore_moving_averages();
  recalibrated_this_epoch_ = false;
  last_epoch_ = epoch;
}

void PreciseBatchNorm::on_test_begin(Logs&) {
  if (!in_fit_ || options_.schedule != "epoch" || recalibrated_this_epoch_) return;
  keep_moving_averages();
  recalibrate();
  recalibrated_this_epoch_ = true;
}

void PreciseBatchNorm::on_epoch_end(int, Logs& logs) {
  if (options_.schedule == "epoch" && !recalibrated_this_epoch_) on_test_begin(logs);
}

void PreciseBatchNorm::on_train_end(Logs&) {
  in_fit_ = false;
  if (options_.schedule == "train_end") {
    keep_moving_averages();
    recalibrate();
  }
  if (compare_x_.empty() || moving_averages_.empty()) return;
  PreciseBatchNormComparison comparison;
  comparison.epoch = last_epoch_ + 1;
  comparison.recalibrated = model().evaluate(compare_x_, compare_y_, {.batch_size = 256, .verbose = 0});
  std::vector<Tensor> recalibrated;
  for (Tensor* t : moving_statistics()) recalibrated.push_back(t->clone());
  restore_moving_averages();
  comparison.moving_average = model().evaluate(compare_x_, compare_y_, {.batch_size = 256, .verbose = 0});
  set_moving_statistics(recalibrated);
  comparison_ = comparison;
}

}  // namespace regula::callbacks
