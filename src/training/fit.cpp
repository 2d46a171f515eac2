// Model::fit, evaluate and predict: the loops over batches around train_on_batch and the
// forward pass, with callbacks, validation and Keras's bookkeeping of logs.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

#include "regula/callbacks/progbar_logger.hpp"
#include "regula/error.hpp"
#include "regula/model/model.hpp"
#include "regula/training/class_weight.hpp"
#include "regula/utils/random.hpp"
#include "regula/utils/stop_request.hpp"
#include "src/training/array_batch_source.hpp"
#include "src/training/batch_shard.hpp"
#include "src/training/training_backups.hpp"

namespace regula {
namespace {

void check_batch_size(int64_t batch_size, const char* what) {
  if (batch_size < 1)
    throw ValueError(std::string(what) + ": batch_size=" + std::to_string(batch_size) + " must be a positive integer");
}

/// Checks x against the model's input shape and y's sample count against x's.
void check_arrays(const char* what, const Tensor& x, const Tensor& y, const Shape& input_shape) {
  if (x.rank() != input_shape.rank() + 1 || x.shape().without_batch() != input_shape)
    throw ShapeError(std::string(what) + ": x has shape " + x.shape().to_string() + ", the model expects " +
                     input_shape.to_string(true));
  if (y.rank() == 0 || y.dim(0) != x.dim(0))
    throw ShapeError(std::string(what) + ": x has " + std::to_string(x.dim(0)) + " samples but y has " +
                     (y.rank() == 0 ? std::string("none") : std::to_string(y.dim(0))) + "; they must be equal");
  if (x.dim(0) == 0) throw ValueError(std::string(what) + ": x has no samples");
}

void check_sample_weight(const char* what, const Tensor& sample_weight, int64_t samples) {
  if (sample_weight.empty()) return;
  if (sample_weight.size() != samples)
    throw ShapeError(std::string(what) + ": sample_weight has " + std::to_string(sample_weight.size()) +
                     " values for " + std::to_string(samples) + " samples");
}

/// Checks every label against the loss before training starts, so a bad label is reported
/// before any weight changes (the loss validates against predictions of the output's shape).
void validate_labels(const losses::Loss& loss, const Tensor& y, const Shape& output_shape) {
  constexpr int64_t kChunk = 4096;
  Tensor y_pred;
  for (int64_t begin = 0; begin < y.dim(0); begin += kChunk) {
    const int64_t end = std::min(y.dim(0), begin + kChunk);
    y_pred.ensure_shape(output_shape.with_batch(end - begin));
    y_pred.fill(0.5f);
    try {
      loss.validate(y.slice_rows(begin, end), y_pred);
    } catch (const ValueError& e) {
      throw ValueError(std::string(e.what()) + " (in y rows " + std::to_string(begin) + " to " + std::to_string(end - 1) + ")");
    }
  }
}

void check_fit_options(const FitOptions& options) {
  if (options.epochs < 0 || options.initial_epoch < 0)
    throw ValueError("fit: epochs=" + std::to_string(options.epochs) + ", initial_epoch=" +
                     std::to_string(options.initial_epoch) + ": both must be >= 0");
  if (options.verbose < 0 || options.verbose > 2)
    throw ValueError("fit: verbose=" + std::to_string(options.verbose) + " must be 0, 1 or 2");
  if (options.validation_freq < 1)
    throw ValueError("fit: validation_freq=" + std::to_string(options.validation_freq) + " must be >= 1");
  if (options.steps_per_epoch < 0 || options.validation_steps < 0)
    throw ValueError("fit: steps_per_epoch=" + std::to_string(options.steps_per_epoch) + ", validation_steps=" +
                     std::to_string(options.validation_steps) + ": both must be >= 0 (0 = one pass)");
}

/// Checks that a batch source has samples and that they fit the model's input.
void check_source(const char* what, const data::BatchSource& source, const Shape& input_shape) {
  if (source.samples() == 0 || source.batches_per_pass() == 0)
    throw ValueError(std::string(what) + ": the batch source has no samples");
  if (source.sample_shape() != input_shape)
    throw ShapeError(std::string(what) + ": the batch source yields samples of shape " + source.sample_shape().to_string() +
                     ", the model expects " + input_shape.to_string(true));
}

/// Validation arrays as an unshuffled source (nullopt when validation is absent or a source).
std::optional<training::ArrayBatchSource> validation_arrays_of(const std::optional<ValidationData>& validation,
                                                               const Shape& input_shape, const FitOptions& options) {
  if (!validation || validation->source) {
    if (validation && (!validation->x.empty() || !validation->y.empty()))
      throw ValueError("fit: validation_data holds both arrays and a batch source; give one or the other");
    return std::nullopt;
  }
  check_arrays("fit (validation_data)", validation->x, validation->y, input_shape);
  check_sample_weight("fit (validation_data)", validation->sample_weight, validation->x.dim(0));
  const int64_t batch_size = options.validation_batch_size > 0 ? options.validation_batch_size : options.batch_size;
  check_batch_size(batch_size, "fit (validation_batch_size)");
  return std::optional<training::ArrayBatchSource>(std::in_place, validation->x, validation->y, validation->sample_weight,
                                                   batch_size);
}

/// Keras's class_weight on a batch from a source: each sample weighs its class's weight.
void weigh_by_class(data::Batch& batch, const std::map<int, double>& class_weight) {
  if (!batch.sample_weight.empty())
    throw ValueError("fit: class_weight cannot be used with a batch source that yields sample weights (Keras's rule); "
                     "fold the class weights into the sample weights instead");
  const std::vector<float> w = training::class_weight_to_sample_weights(batch.y, class_weight);
  batch.sample_weight = Tensor(Shape{static_cast<int64_t>(w.size())}, w);
}

/// A stop was asked for (SIGINT, SIGTERM): the training is backed up where BackupAndRestore keeps
/// it, and fit ends with Interrupted (on_train_end is not called: the backup stays).
[[noreturn]] void stop_on_request(training::TrainingBackups& backups, const training::LoopPosition& position, int64_t steps) {
  const std::optional<std::string> backup = backups.write_now(position);
  const std::string where = position.batch == 0
                                ? "after epoch " + std::to_string(position.epoch)
                                : "at epoch " + std::to_string(position.epoch + 1) + ", batch " + std::to_string(position.batch) +
                                      " of " + std::to_string(steps);
  throw Interrupted("fit: stopped by " + std::string(stop_cause(stop_signal())) + " " + where + "; " +
                    (backup ? "the training is backed up in " + *backup + " (the same fit with the same BackupAndRestore continues it)"
                            : std::string("nothing was backed up (no BackupAndRestore callback)")));
}

/// Running mean of per-batch values weighted by batch size (Keras's loss tracker).
struct RunningMean {
  double total = 0.0;
  int64_t count = 0;
  void add(double value, int64_t n) { total += value * static_cast<double>(n); count += n; }
  double result() const { return count == 0 ? 0.0 : total / static_cast<double>(count); }
};

}  // namespace

callbacks::Logs Model::run_evaluation(data::BatchSource& source, int64_t steps, std::vector<callbacks::Callback*>& cbs) {
  callbacks::Logs logs;
  for (callbacks::Callback* cb : cbs) cb->on_test_begin(logs);
  for (const metrics::MetricPtr& m : metrics_) m->reset();
  double weight_penalty = 0.0;
  for (layers::Layer* l : this->layers())
    for (const layers::Weight& w : l->weights())
      if (w.regularizer) weight_penalty += w.regularizer->penalty(w.value);
  RunningMean loss_mean;
  source.reset();
  data::Batch batch;
  std::optional<training::BatchShard> shard;
  if (distributed()) shard.emplace(communicator_->rank(), communicator_->size());
  for (int64_t step = 0; step < steps; ++step) {
    callbacks::Logs batch_logs;
    for (callbacks::Callback* cb : cbs) cb->on_test_batch_begin(step, batch_logs);
    source.next(batch);
    // Several ranks: each evaluates its shard of the global batch; test_step sums over the ranks.
    const EvaluationStep step_loss = test_step(shard ? shard->of(batch) : batch);
    loss_mean.add(step_loss.loss + weight_penalty, step_loss.samples);
    batch_logs.set("loss", loss_mean.result());
    for (callbacks::Callback* cb : cbs) cb->on_test_batch_end(step, batch_logs);
  }
  logs.set("loss", loss_mean.result());
  for (const metrics::MetricPtr& m : metrics_) logs.set(m->name(), reduced_result(*m));
  for (callbacks::Callback* cb : cbs) cb->on_test_end(logs);
  return logs;
}

callbacks::History Model::fit(const Tensor& x, const Tensor& y, FitOptions options) {
  require_compiled("fit");
  check_arrays("fit", x, y, input_shape());
  check_batch_size(options.batch_size, "fit");
  check_fit_options(options);
  if (!options.class_weight.empty() && !options.sample_weight.empty())
    throw ValueError("fit: class_weight and sample_weight cannot be given together (Keras's rule); "
                     "fold the class weights into sample_weight instead");
  check_sample_weight("fit", options.sample_weight, x.dim(0));

  // Keras: validation_data wins over validation_split; the split takes the last samples, unshuffled.
  Tensor x_train = x, y_train = y, w_train = options.sample_weight;
  std::optional<ValidationData> validation = options.validation_data;
  if (!validation && options.validation_split != 0.0) {
    const int64_t split = training::validation_split_index(x.dim(0), options.validation_split);
    x_train = x.slice_rows(0, split);
    y_train = y.slice_rows(0, split);
    validation = ValidationData{x.slice_rows(split, x.dim(0)), y.slice_rows(split, y.dim(0)),
                                w_train.empty() ? Tensor() : w_train.slice_rows(split, w_train.dim(0))};
    if (!w_train.empty()) w_train = w_train.slice_rows(0, split);
  }
  std::optional<training::ArrayBatchSource> validation_arrays = validation_arrays_of(validation, input_shape(), options);
  if (!options.class_weight.empty()) {
    const std::vector<float> w = training::class_weight_to_sample_weights(y_train, options.class_weight);
    w_train = Tensor(Shape{static_cast<int64_t>(w.size())}, w);
    options.class_weight.clear();  // folded into the sample weights
  }

  validate_labels(*loss_, y, output_shape());
  if (validation_arrays && !validation->y.shares_storage_with(y)) validate_labels(*loss_, validation->y, output_shape());

  // Drawn whether or not it shuffles, so that later draws from the global seed do not depend on it.
  Rng rng = Rng::from_global_seed();
  std::optional<Rng> shuffle_rng;
  if (options.shuffle) shuffle_rng = rng;
  training::ArrayBatchSource train(x_train, y_train, w_train, options.batch_size, options.steps_per_epoch, shuffle_rng);
  data::BatchSource* validation_source = validation_arrays ? &*validation_arrays : validation ? validation->source : nullptr;
  return fit_batches(train, train.batches_per_pass(), options, validation_source,
                     validation_arrays ? validation_arrays->batches_per_pass() : options.validation_steps);
}

callbacks::History Model::fit(data::BatchSource& source, FitOptions options) {
  require_compiled("fit");
  check_fit_options(options);
  if (options.validation_split != 0.0)
    throw ValueError("fit: validation_split is only supported for arrays, not for a batch source (Keras's rule); "
                     "use the generator's validation_split with subset=\"validation\" and pass it as validation_data");
  if (!options.sample_weight.empty())
    throw ValueError("fit: sample_weight is not supported with a batch source (Keras's rule); the source yields "
                     "its own sample weights (e.g. flow(x, y, {.sample_weight = w}))");
  check_source("fit", source, input_shape());
  std::optional<training::ArrayBatchSource> validation_arrays = validation_arrays_of(options.validation_data, input_shape(), options);
  data::BatchSource* validation_source =
      validation_arrays ? &*validation_arrays : options.validation_data ? options.validation_data->source : nullptr;
  if (validation_source && !validation_arrays) check_source("fit (validation_data)", *validation_source, input_shape());
  const int64_t steps = options.steps_per_epoch > 0 ? options.steps_per_epoch : source.batches_per_pass();
  return fit_batches(source, steps, options, validation_source,
                     validation_arrays ? validation_arrays->batches_per_pass() : options.validation_steps);
}

callbacks::History Model::fit_batches(data::BatchSource& train, int64_t steps, const FitOptions& options,
                                      data::BatchSource* validation, int64_t validation_steps) {
  if (validation && validation_steps <= 0) validation_steps = validation->batches_per_pass();
  history_ = callbacks::History();
  callbacks::ProgbarLogger progbar(options.verbose, options.epochs, steps);
  std::vector<callbacks::Callback*> cbs = options.callbacks;
  cbs.push_back(&history_);
  cbs.push_back(&progbar);
  for (callbacks::Callback* cb : cbs) cb->set_model(this);
  training::TrainingBackups backups(*this, cbs, train);
  fit_backups_ = &backups;
  const struct Detach {
    Model& model;
    ~Detach() { model.fit_backups_ = nullptr; }
  } detach{*this};

  stop_training = false;
  callbacks::Logs train_logs;
  for (callbacks::Callback* cb : cbs) cb->on_train_begin(train_logs);
  // BackupAndRestore asks for its backup in on_train_begin: fit goes on where it was saved.
  const std::optional<training::LoopPosition> resumed = backups.restore_pending();
  if (distributed()) {
    // Every rank must go on from the same batch: a rank killed while backing up keeps an older
    // backup than the others, and going on from it would train on other batches than theirs.
    const int64_t position[2] = {resumed ? resumed->epoch : -1, resumed ? resumed->batch : -1};
    communicator_->require_same(distributed::fingerprint(position, sizeof position), "position to resume from (BackupAndRestore)");
  }
  const int first_epoch = resumed ? resumed->epoch : options.initial_epoch;
  // A backup taken mid-epoch after a callback asked to stop (at that batch) resumes into that
  // epoch's end: validation and on_epoch_end still run, as they did in the uninterrupted run.
  const bool resumed_mid_epoch = resumed && resumed->batch > 0;
  if (resumed && !resumed_mid_epoch) stop_training = resumed->stop_training;
  RunningMean loss_mean;
  // The epoch's logs so far: the loss tracker's mean and the metrics' results.
  const auto progress_logs = [&] {
    callbacks::Logs logs;
    logs.set("loss", loss_mean.result());
    for (const metrics::MetricPtr& m : metrics_) logs.set(m->name(), reduced_result(*m));
    return logs;
  };
  // A stop request (SIGINT, SIGTERM) is agreed by every rank, so that all stop at the same batch.
  const auto stop_asked = [&] { return distributed() ? communicator_->any(stop_requested()) : stop_requested(); };
  data::Batch batch;
  // Several ranks: every rank draws the same global batches (the same seed and order) and trains
  // on its shard of each; train_on_batch sums the gradients over the ranks.
  std::optional<training::BatchShard> shard;
  if (distributed()) shard.emplace(communicator_->rank(), communicator_->size());
  for (int epoch = first_epoch; epoch < options.epochs && !stop_training; ++epoch) {
    callbacks::Logs epoch_logs;
    int64_t first_step = 0;
    if (resumed_mid_epoch && epoch == resumed->epoch) {
      // The epoch began before the backup: its on_epoch_begin ran then (only the progress bar,
      // which keeps no state, starts its line again), and its totals come from the backup.
      progbar.on_epoch_begin(epoch, epoch_logs);
      first_step = resumed->batch;
      loss_mean.total = resumed->loss_total;
      loss_mean.count = resumed->loss_count;
      stop_training = resumed->stop_training;
    } else {
      for (callbacks::Callback* cb : cbs) cb->on_epoch_begin(epoch, epoch_logs);
      for (const metrics::MetricPtr& m : metrics_) m->reset();
      loss_mean = RunningMean();
    }
    callbacks::Logs batch_logs;
    for (int64_t step = first_step; step < steps && !stop_training; ++step) {
      for (callbacks::Callback* cb : cbs) cb->on_train_batch_begin(step, batch_logs);
      train.next(batch);
      if (!options.class_weight.empty()) weigh_by_class(batch, options.class_weight);
      const data::Batch& mine = shard ? shard->of(batch) : batch;
      const double loss = train_on_batch(mine.x, mine.y, mine.sample_weight.empty() ? nullptr : mine.sample_weight.data());
      loss_mean.add(loss, last_step_samples_);
      batch_logs = progress_logs();
      for (callbacks::Callback* cb : cbs) cb->on_train_batch_end(step, batch_logs);
      if (distributed()) stop_training = communicator_->any(stop_training);
      // A non-finite loss ends fit with an error, unless a callback (TerminateOnNaN) chose to
      // stop training, in which case the epoch ends normally as in Keras.
      if (!std::isfinite(loss) && !stop_training) {
        backups.fail();  // the backup stays (BackupAndRestore keeps it when fit ends with an error)
        for (callbacks::Callback* cb : cbs) cb->on_train_end(epoch_logs);
        throw NumericalError("fit: the loss became " + std::string(std::isnan(loss) ? "NaN" : "infinite") +
                             " at epoch " + std::to_string(epoch + 1) + ", batch " + std::to_string(step + 1) +
                             "; training stopped with the weights of the last finite step (try a lower "
                             "learning rate, or check the data for NaN/inf values)");
      }
      const training::LoopPosition position{epoch, step + 1, loss_mean.total, loss_mean.count, stop_training};
      backups.write_pending(position);
      if (stop_asked()) stop_on_request(backups, position, steps);
      if (stop_training) break;  // Keras 3 checks after every batch
    }
    epoch_logs = progress_logs();
    if (validation && (epoch + 1 - options.initial_epoch) % options.validation_freq == 0) {
      // Keras passes fit's callbacks to the validation's evaluate: on_test_begin, the test batch
      // hooks and on_test_end run for every validation.
      const callbacks::Logs val = run_evaluation(*validation, validation_steps, cbs);
      for (const auto& [name, value] : val) epoch_logs.set("val_" + name, value);
    }
    for (callbacks::Callback* cb : cbs) cb->on_epoch_end(epoch, epoch_logs);
    if (distributed()) stop_training = communicator_->any(stop_training);
    const training::LoopPosition next_epoch{epoch + 1, 0, 0.0, 0, stop_training};
    backups.write_pending(next_epoch);
    if (stop_asked()) stop_on_request(backups, next_epoch, steps);
  }
  for (callbacks::Callback* cb : cbs) cb->on_train_end(train_logs);
  return history_;
}

callbacks::Logs Model::evaluate(const Tensor& x, const Tensor& y, EvaluateOptions options) {
  require_compiled("evaluate");
  check_arrays("evaluate", x, y, input_shape());
  check_batch_size(options.batch_size, "evaluate");
  check_sample_weight("evaluate", options.sample_weight, x.dim(0));
  for (callbacks::Callback* cb : options.callbacks) cb->set_model(this);
  training::ArrayBatchSource source(x, y, options.sample_weight, options.batch_size);
  return run_evaluation(source, source.batches_per_pass(), options.callbacks);
}

callbacks::Logs Model::evaluate(data::BatchSource& source, EvaluateOptions options) {
  require_compiled("evaluate");
  check_source("evaluate", source, input_shape());
  if (options.steps < 0) throw ValueError("evaluate: steps=" + std::to_string(options.steps) + " must be >= 0");
  for (callbacks::Callback* cb : options.callbacks) cb->set_model(this);
  return run_evaluation(source, options.steps > 0 ? options.steps : source.batches_per_pass(), options.callbacks);
}

Tensor Model::predict(const Tensor& x, PredictOptions options) {
  require_graph("predict");
  check_batch_size(options.batch_size, "predict");
  if (x.rank() != input_shape().rank() + 1 || x.shape().without_batch() != input_shape())
    throw ShapeError("predict: x has shape " + x.shape().to_string() + ", the model expects " + input_shape().to_string(true));
  const int64_t n = x.dim(0);
  Tensor result = Tensor::uninitialized(output_shape().with_batch(n));
  const int64_t row = output_shape().num_elements();
  callbacks::Logs logs;
  for (callbacks::Callback* cb : options.callbacks) {
    cb->set_model(this);
    cb->on_predict_begin(logs);
  }
  for (int64_t begin = 0, batch = 0; begin < n; begin += options.batch_size, ++batch) {
    const int64_t end = std::min(n, begin + options.batch_size);
    for (callbacks::Callback* cb : options.callbacks) cb->on_predict_batch_begin(batch, logs);
    const Tensor& out = predict_on_batch(x.slice_rows(begin, end));
    std::memcpy(result.data() + begin * row, out.data(), static_cast<size_t>(out.size()) * sizeof(float));
    for (callbacks::Callback* cb : options.callbacks) cb->on_predict_batch_end(batch, logs);
  }
  for (callbacks::Callback* cb : options.callbacks) cb->on_predict_end(logs);
  return result;
}

}  // namespace regula
