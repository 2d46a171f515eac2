// One training of an experiment: the sections read and checked up front, then the model built,
// compiled and fitted (on augmented batches when the experiment augments), and the run directory
// written.

#include "src/experiment/experiment_training.hpp"

#include <ctime>
#include <filesystem>
#include <optional>

#include "regula/backend/context.hpp"
#include "regula/callbacks/model_checkpoint.hpp"
#include "regula/callbacks/precise_batch_norm.hpp"
#include "regula/optimizers/learning_rate_schedule.hpp"
#include "regula/config/yaml.hpp"
#include "regula/error.hpp"
#include "regula/experiment/experiment.hpp"
#include "regula/io/file_bytes.hpp"
#include "regula/model/model_file.hpp"
#include "regula/preprocessing/image_data_generator.hpp"
#include "regula/preprocessing/numpy_array_iterator.hpp"
#include "regula/utils/class_weight.hpp"

namespace regula::experiment {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string history_csv(const callbacks::History& history) {
  std::string s = "epoch";
  for (const std::string& name : history.names()) s += "," + name;
  s += "\n";
  for (size_t e = 0; e < history.size(); ++e) {
    s += std::to_string(history.epoch()[e]);
    for (const std::string& name : history.names()) s += "," + json(history[name][e]).dump();
    s += "\n";
  }
  return s;
}

json history_json(const callbacks::History& history) {
  json h = {{"epoch", history.epoch()}, {"history", json::object()}};
  for (const std::string& name : history.names()) h["history"][name] = history[name];
  return h;
}

json logs_json(const callbacks::Logs& logs) {
  json j = json::object();
  for (const auto& [name, value] : logs) j[name] = value;
  return j;
}

/// What PreciseBatchNorm did, and the final epoch's validation with and without it (the report
/// reads this file).
json precise_batch_norm_json(const callbacks::PreciseBatchNorm& precise) {
  json j = {{"recalibrations", precise.recalibrations()},
            {"seconds", precise.seconds()},
            {"batches", precise.options().batches},
            {"batch_size", precise.options().batch_size},
            {"schedule", precise.options().schedule}};
  if (const auto& c = precise.final_comparison())
    j["final_epoch"] = {{"epoch", c->epoch}, {"recalibrated", logs_json(c->recalibrated)}, {"moving_average", logs_json(c->moving_average)}};
  return j;
}

/// A learning-rate schedule that reaches its final rate before fit ends leaves the last epochs at
/// that rate (with the default CosineDecay, 0): said before training, with the number of steps a
/// schedule would need to span the run.
void warn_if_schedule_ends_early(const Model& model, const FitOptions& fit, int64_t samples, std::FILE* out) {
  const optimizers::LearningRateSchedulePtr& schedule = model.optimizer().learning_rate_schedule();
  if (!schedule || !schedule->final_step() || fit.batch_size < 1) return;
  const int64_t steps_per_epoch =
      fit.steps_per_epoch > 0 ? fit.steps_per_epoch : (samples + fit.batch_size - 1) / fit.batch_size;
  const int64_t planned = steps_per_epoch * (fit.epochs - fit.initial_epoch);
  const int64_t final_step = *schedule->final_step();
  if (steps_per_epoch < 1 || final_step >= planned) return;
  std::fprintf(out,
               "Warning: the learning rate follows %s to its final value %g at step %lld (epoch %lld), but fit runs %d "
               "epochs of %lld steps: the last %lld epochs train at that rate (a schedule of %lld steps would span "
               "the run)\n",
               schedule->class_name().c_str(), (*schedule)(final_step), static_cast<long long>(final_step),
               static_cast<long long>((final_step + steps_per_epoch - 1) / steps_per_epoch), fit.epochs,
               static_cast<long long>(steps_per_epoch), static_cast<long long>((planned - final_step) / steps_per_epoch),
               static_cast<long long>(planned));
}

/// Whether the generator changes the values of every image (rescale, centering, normalization),
/// augmentation aside.
bool standardizes(const preprocessing::ImageDataGeneratorOptions& o) {
  return o.rescale != 0.0 || o.samplewise_center || o.samplewise_std_normalization || o.featurewise_center ||
         o.featurewise_std_normalization || static_cast<bool>(o.preprocessing_function);
}

/// Fits the featurewise statistics on the training images, and standardizes the validation and
/// test images as the training batches will be (rescale, centering, normalization), since the
/// generator only sees the training data. (Copies: the arrays may share the data set's storage.)
void standardize_held_out(preprocessing::ImageDataGenerator& generator, Arrays& a) {
  const preprocessing::ImageDataGeneratorOptions& o = generator.options();
  if (o.featurewise_center || o.featurewise_std_normalization) generator.fit(a.x_train);
  if (!standardizes(o)) return;
  if (a.has_validation) {
    a.x_val = a.x_val.clone();
    generator.standardize(a.x_val);
  }
  if (a.has_test) {
    a.x_test = a.x_test.clone();
    generator.standardize(a.x_test);
  }
}

}  // namespace

std::string default_run_dir(const std::string& prefix) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return "runs/" + prefix + stamp;
}

Training train(const TrainingPlan& plan, Arrays& a, const std::string& run_dir, int verbose, std::FILE* out,
               const distributed::CommunicatorPtr& communicator) {
  std::optional<preprocessing::ImageDataGenerator> augmentation;
  if (plan.augmentation) augmentation.emplace(*plan.augmentation);
  FitOptions fit = plan.fit;

  Training result;
  result.model = plan.model.build(a.x_train.shape().without_batch());
  result.model->compile(plan.compile.options());
  result.model->set_communicator(communicator);
  if (communicator->size() > 1) {
    // Rank 0's initial weights on every rank (the same seed draws the same; this makes it so).
    std::vector<Tensor> weights = result.model->get_weights();
    for (Tensor& w : weights) communicator->broadcast(std::span<float>(w.data(), static_cast<size_t>(w.size())), 0);
    result.model->set_weights(weights);
  }
  if (augmentation) standardize_held_out(*augmentation, a);
  if (a.has_validation) fit.validation_data = ValidationData{a.x_val, a.y_val};

  // The callbacks see the training images as the model takes them, without augmentation.
  Tensor clean_x_train = a.x_train;
  if (augmentation && standardizes(augmentation->options()) && !plan.callbacks.empty()) {
    clean_x_train = a.x_train.clone();
    augmentation->standardize(clean_x_train);
  }
  const CallbackInputs inputs{.run_dir = run_dir,
                              .x_train = &clean_x_train,
                              .x_val = a.has_validation ? &a.x_val : nullptr,
                              .y_val = a.has_validation ? &a.y_val : nullptr};
  std::vector<std::unique_ptr<callbacks::Callback>> callback_objects;
  for (const CallbackRecipe& recipe : plan.callbacks) callback_objects.push_back(recipe.make(inputs));
  for (const auto& callback : callback_objects) fit.callbacks.push_back(callback.get());
  if (plan.balanced_class_weight) fit.class_weight = utils::compute_class_weight("balanced", a.y_train);

  const fs::path dir(run_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IOError(run_dir + ": cannot create the run directory: " + ec.message());
  io::write_file_atomically((dir / "experiment.yaml").string(), config::json_to_yaml(plan.experiment));

  warn_if_schedule_ends_early(*result.model, fit, a.x_train.dim(0), out);
  if (verbose > 0) result.model->summary(out);
  std::fprintf(out, "Training on %lld samples%s%s, %d threads\n", static_cast<long long>(a.x_train.dim(0)),
               a.has_validation ? (", validating on " + std::to_string(a.x_val.dim(0))).c_str() : "",
               augmentation ? (", augmented as " + plan.experiment.at("augmentation").dump()).c_str() : "", num_threads());
  std::fflush(out);
  if (augmentation)
    result.history = result.model->fit(
        augmentation->flow(a.x_train, a.y_train, {.batch_size = fit.batch_size, .shuffle = fit.shuffle}), fit);
  else
    result.history = result.model->fit(a.x_train, a.y_train, fit);
  for (const auto& callback : callback_objects) {
    const auto* checkpoint = dynamic_cast<const callbacks::ModelCheckpoint*>(callback.get());
    if (checkpoint != nullptr && checkpoint->options().save_best_only && !checkpoint->last_saved().empty())
      result.kept_checkpoint = checkpoint->last_saved();
  }
  for (const auto& callback : callback_objects)
    if (const auto* precise = dynamic_cast<const callbacks::PreciseBatchNorm*>(callback.get()))
      io::write_file_atomically((dir / "precise_batch_norm.json").string(), precise_batch_norm_json(*precise).dump(2) + "\n");
  if (!result.kept_checkpoint.empty()) regula::load_weights(*result.model, result.kept_checkpoint);
  io::write_file_atomically((dir / "history.json").string(), history_json(result.history).dump(2) + "\n");
  io::write_file_atomically((dir / "history.csv").string(), history_csv(result.history));
  return result;
}

}  // namespace regula::experiment
