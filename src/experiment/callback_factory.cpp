#include "regula/experiment/callback_factory.hpp"

#include <filesystem>
#include <functional>
#include <map>
#include <optional>

#include "regula/callbacks/backup_and_restore.hpp"
#include "regula/callbacks/csv_logger.hpp"
#include "regula/callbacks/early_stopping.hpp"
#include "regula/callbacks/model_checkpoint.hpp"
#include "regula/callbacks/precise_batch_norm.hpp"
#include "regula/callbacks/reduce_lr_on_plateau.hpp"
#include "regula/callbacks/tensorboard.hpp"
#include "regula/callbacks/terminate_on_nan.hpp"
#include "regula/config/config_reader.hpp"
#include "regula/config/registry.hpp"
#include "regula/error.hpp"

namespace regula::experiment {
using namespace callbacks;  // the callbacks an experiment file names
namespace {

using Reader = config::ConfigReader;
using Make = std::function<std::unique_ptr<Callback>(const CallbackInputs& inputs)>;

std::string in_run_dir(const std::string& path, const std::string& run_dir) {
  const std::filesystem::path p(path);
  return p.is_absolute() || run_dir.empty() ? path : (std::filesystem::path(run_dir) / p).string();
}

/// `save_freq` is "epoch" or a number of batches, as in Keras.
SaveFrequency save_frequency(const nlohmann::json& freq, const Reader& r) {
  if (freq.is_string()) return freq.get<std::string>();
  if (freq.is_number_integer()) return freq.get<int64_t>();
  const SaveFrequency neither(freq.dump());
  neither.check(r.where());  // throws, saying what is allowed
  return neither;
}

/// Each factory reads the options once and returns how to make the callback from them.
const config::Registry<Make>& registry() {
  static const config::Registry<Make> table(
      {.kind = "callback", .example = "{class_name: EarlyStopping, patience: 3}"},
      {
      {"EarlyStopping",
       [](Reader& r) -> Make {
         EarlyStoppingOptions o;
         o.monitor = r.get_string("monitor", o.monitor);
         o.min_delta = r.get_double("min_delta", o.min_delta);
         o.patience = static_cast<int>(r.get_int("patience", o.patience));
         o.verbose = static_cast<int>(r.get_int("verbose", o.verbose));
         o.mode = r.get_string("mode", o.mode);
         if (r.has("baseline")) o.baseline = r.get_double("baseline", 0.0);
         o.restore_best_weights = r.get_bool("restore_best_weights", o.restore_best_weights);
         o.start_from_epoch = static_cast<int>(r.get_int("start_from_epoch", o.start_from_epoch));
         return [o](const CallbackInputs&) { return std::make_unique<EarlyStopping>(o); };
       }},
      {"ReduceLROnPlateau",
       [](Reader& r) -> Make {
         ReduceLROnPlateauOptions o;
         o.monitor = r.get_string("monitor", o.monitor);
         o.factor = r.get_double("factor", o.factor);
         o.patience = static_cast<int>(r.get_int("patience", o.patience));
         o.verbose = static_cast<int>(r.get_int("verbose", o.verbose));
         o.mode = r.get_string("mode", o.mode);
         o.min_delta = r.get_double("min_delta", o.min_delta);
         o.cooldown = static_cast<int>(r.get_int("cooldown", o.cooldown));
         o.min_lr = r.get_double("min_lr", o.min_lr);
         return [o](const CallbackInputs&) { return std::make_unique<ReduceLROnPlateau>(o); };
       }},
      {"CSVLogger",
       [](Reader& r) -> Make {
         const std::string filename = r.get_string("filename", "");
         if (filename.empty()) throw ValueError(r.where() + ": give the 'filename' to write");
         CSVLoggerOptions o;
         o.separator = r.get_string("separator", o.separator);
         o.append = r.get_bool("append", o.append);
         return [o, filename](const CallbackInputs& inputs) {
           return std::make_unique<CSVLogger>(in_run_dir(filename, inputs.run_dir), o);
         };
       }},
      {"ModelCheckpoint",
       [](Reader& r) -> Make {
         const std::string filepath = r.get_string("filepath", "");
         if (filepath.empty()) throw ValueError(r.where() + ": give the 'filepath' to save to, e.g. best.h5");
         ModelCheckpointOptions o;
         o.monitor = r.get_string("monitor", o.monitor);
         o.verbose = static_cast<int>(r.get_int("verbose", o.verbose));
         o.save_best_only = r.get_bool("save_best_only", o.save_best_only);
         o.save_weights_only = r.get_bool("save_weights_only", o.save_weights_only);
         o.mode = r.get_string("mode", o.mode);
         if (const std::optional<nlohmann::json> freq = r.get_json("save_freq")) o.save_freq = save_frequency(*freq, r);
         if (r.has("initial_value_threshold")) o.initial_value_threshold = r.get_double("initial_value_threshold", 0.0);
         return [o, filepath](const CallbackInputs& inputs) {
           return std::make_unique<ModelCheckpoint>(in_run_dir(filepath, inputs.run_dir), o);
         };
       }},
      {"TensorBoard",
       [](Reader& r) -> Make {
         TensorBoardOptions o;
         o.log_dir = r.get_string("log_dir", o.log_dir);
         o.histogram_freq = static_cast<int>(r.get_int("histogram_freq", o.histogram_freq));
         o.write_graph = r.get_bool("write_graph", o.write_graph);
         // update_freq is "epoch", "batch" or a number of batches, as in Keras.
         if (const std::optional<nlohmann::json> freq = r.get_json("update_freq")) {
           if (freq->is_string())
             o.update_freq = freq->get<std::string>();
           else if (freq->is_number_integer())
             o.update_freq = freq->get<int64_t>();
           else
             throw ValueError(r.where() + ": update_freq=" + freq->dump() +
                              " is not allowed; allowed: 'epoch', 'batch' or a number of batches >= 1");
         }
         return [o](const CallbackInputs& inputs) {
           TensorBoardOptions in_run = o;
           in_run.log_dir = in_run_dir(o.log_dir, inputs.run_dir);
           return std::make_unique<TensorBoard>(in_run);
         };
       }},
      {"BackupAndRestore",
       [](Reader& r) -> Make {
         const std::string backup_dir = r.get_string("backup_dir", "");
         if (backup_dir.empty()) throw ValueError(r.where() + ": give the 'backup_dir' to keep the backup in, e.g. backup");
         BackupAndRestoreOptions o;
         if (const std::optional<nlohmann::json> freq = r.get_json("save_freq")) o.save_freq = save_frequency(*freq, r);
         o.double_checkpoint = r.get_bool("double_checkpoint", o.double_checkpoint);
         o.delete_checkpoint = r.get_bool("delete_checkpoint", o.delete_checkpoint);
         return [o, backup_dir](const CallbackInputs& inputs) {
           return std::make_unique<BackupAndRestore>(in_run_dir(backup_dir, inputs.run_dir), o);
         };
       }},
      {"TerminateOnNaN",
       [](Reader&) -> Make { return [](const CallbackInputs&) { return std::make_unique<TerminateOnNaN>(); }; }},
      {"PreciseBatchNorm",
       [](Reader& r) -> Make {
         PreciseBatchNormOptions o;
         o.batches = r.get_int("batches", o.batches);
         o.batch_size = r.get_int("batch_size", o.batch_size);
         o.schedule = r.get_string("schedule", o.schedule);
         o.seed = static_cast<uint64_t>(r.get_int("seed", static_cast<int64_t>(o.seed)));
         o.verbose = static_cast<int>(r.get_int("verbose", o.verbose));
         return [o](const CallbackInputs& inputs) {
           if (inputs.x_train == nullptr)
             throw ValueError("PreciseBatchNorm needs the training inputs; it is made by an experiment's training");
           auto callback = std::make_unique<PreciseBatchNorm>(*inputs.x_train, o);
           if (inputs.x_val != nullptr && inputs.y_val != nullptr) callback->compare_on(*inputs.x_val, *inputs.y_val);
           return callback;
         };
       }},
      });
  return table;
}

}  // namespace

std::vector<std::string> known_callback_classes() { return registry().class_names(); }

CallbackRecipe callback_recipe_from_config(const nlohmann::json& spec, const std::string& where) {
  CallbackRecipe recipe;
  recipe.class_name = config::read_class_config(spec, registry().options(), where).class_name;
  recipe.make = registry().make(spec, where);
  try {
    // The callback's own checks of its options, before any training, on a one-sample stand-in.
    const Tensor stand_in(Shape{1, 1});
    recipe.make({.run_dir = "", .x_train = &stand_in});
  } catch (const ValueError& e) {
    throw ValueError(where + ": " + e.what());
  }
  return recipe;
}

std::unique_ptr<Callback> callback_from_config(const nlohmann::json& spec, const std::string& run_dir,
                                               const std::string& where) {
  return callback_recipe_from_config(spec, where).make({.run_dir = run_dir});
}

}  // namespace regula::experiment
