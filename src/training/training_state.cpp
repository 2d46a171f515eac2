// TrainingState: capture from a model, its callbacks and its batch source; restore into them;
// and its HDF5 file (layout in the header).

#include "regula/training/training_state.hpp"

#include <exception>
#include <optional>
#include <utility>

#include "regula/error.hpp"
#include "regula/io/file_bytes.hpp"
#include "regula/io/hdf5_file.hpp"
#include "regula/utils/random.hpp"

namespace regula::training {
namespace {

constexpr const char* kFormat = "regula-training-state";

std::vector<std::string> weight_names_of(const Model& model) {
  std::vector<std::string> names;
  for (const layers::Layer* layer : model.layers())
    for (const layers::Weight& w : layer->weights()) names.push_back(layer->name() + "/" + w.name);
  return names;
}

std::string index_name(size_t i) { return std::to_string(i); }

template <class Map, class Write>
void write_named(io::Hdf5Group& parent, const std::string& kind, const Map& entries, Write write) {
  if (entries.empty()) return;
  io::Hdf5Group group = parent.create_group(kind);
  std::vector<std::string> names;
  for (const auto& [name, value] : entries) {
    write(group, index_name(names.size()), value);
    names.push_back(name);
  }
  group.set_attr("names", names);
}

template <class Map, class Read>
void read_named(const io::Hdf5Group& parent, const std::string& kind, Map& entries, Read read) {
  if (!parent.has(kind)) return;
  const io::Hdf5Group group = parent.group(kind);
  const std::vector<std::string> names = group.attr_strings("names");
  for (size_t i = 0; i < names.size(); ++i) entries[names[i]] = read(group, index_name(i));
}

void write_saved_state(io::Hdf5Group& group, const SavedState& state) {
  if (!state.numbers.empty()) {
    io::Hdf5Group numbers = group.create_group("numbers");
    std::vector<std::string> names;
    std::vector<double> values;
    for (const auto& [name, value] : state.numbers) {
      names.push_back(name);
      values.push_back(value);
    }
    numbers.set_attr("names", names);
    numbers.write_float64_array("values", values);
  }
  write_named(group, "number_arrays", state.number_arrays,
              [](io::Hdf5Group& g, const std::string& n, const std::vector<double>& v) { g.write_float64_array(n, v); });
  write_named(group, "integers", state.integers,
              [](io::Hdf5Group& g, const std::string& n, const std::vector<int64_t>& v) { g.write_int64_array(n, v); });
  write_named(group, "tensors", state.tensors, [](io::Hdf5Group& g, const std::string& n, const Tensor& v) { g.write_dataset(n, v); });
  if (!state.texts.empty()) {
    io::Hdf5Group texts = group.create_group("texts");
    std::vector<std::string> names, values;
    for (const auto& [name, value] : state.texts) {
      names.push_back(name);
      values.push_back(value);
    }
    texts.set_attr("names", names);
    texts.set_attr("values", values);
  }
}

SavedState read_saved_state(const io::Hdf5Group& group, const std::string& path) {
  SavedState state;
  if (group.has("numbers")) {
    const io::Hdf5Group numbers = group.group("numbers");
    const std::vector<std::string> names = numbers.attr_strings("names");
    const std::vector<double> values = numbers.read_float64_array("values");
    if (names.size() != values.size())
      throw IOError(path + ": a saved state has " + std::to_string(names.size()) + " number names for " +
                    std::to_string(values.size()) + " values (file corrupt?)");
    for (size_t i = 0; i < names.size(); ++i) state.numbers[names[i]] = values[i];
  }
  read_named(group, "number_arrays", state.number_arrays,
             [](const io::Hdf5Group& g, const std::string& n) { return g.read_float64_array(n); });
  read_named(group, "integers", state.integers, [](const io::Hdf5Group& g, const std::string& n) { return g.read_int64_array(n); });
  read_named(group, "tensors", state.tensors, [](const io::Hdf5Group& g, const std::string& n) { return g.read_dataset(n); });
  if (group.has("texts")) {
    const io::Hdf5Group texts = group.group("texts");
    const std::vector<std::string> names = texts.attr_strings("names");
    const std::vector<std::string> values = texts.attr_strings("values");
    if (names.size() != values.size())
      throw IOError(path + ": a saved state has " + std::to_string(names.size()) + " text names for " +
                    std::to_string(values.size()) + " values (file corrupt?)");
    for (size_t i = 0; i < names.size(); ++i) state.texts[names[i]] = values[i];
  }
  return state;
}

/// Checks that `state` fits `model` before anything is changed.
void check_fits(const TrainingState& state, const Model& model, const std::vector<callbacks::Callback*>& callbacks) {
  const std::vector<std::string> names = weight_names_of(model);
  if (state.weights.size() != names.size() || state.weight_names.size() != state.weights.size())
    throw ShapeError("restore_training_state: the state holds " + std::to_string(state.weights.size()) + " weights, model '" +
                     model.name() + "' has " + std::to_string(names.size()));
  size_t i = 0;
  for (const layers::Layer* layer : model.layers())
    for (const layers::Weight& w : layer->weights()) {
      if (state.weight_names[i] != names[i])
        throw ValueError("restore_training_state: weight " + std::to_string(i) + " of the state is '" + state.weight_names[i] +
                         "', the model's is '" + names[i] + "'; build the model as it was when the state was saved");
      if (state.weights[i].shape() != w.value.shape())
        throw ShapeError("restore_training_state: weight '" + names[i] + "' has shape " + w.value.shape().to_string() +
                         " in the model and " + state.weights[i].shape().to_string() + " in the state");
      ++i;
    }
  std::vector<std::string> random_layers;
  for (const layers::Layer* layer : model.layers())
    if (layer->random_key()) random_layers.push_back(layer->name());
  if (random_layers != state.random_key_layers || state.random_keys.size() != random_layers.size())
    throw ValueError("restore_training_state: the state's layers with a random stream are not the model's; build the model "
                     "as it was when the state was saved");
  if (state.optimizer != model.optimizer().name())
    throw ValueError("restore_training_state: the state was saved with optimizer '" + state.optimizer + "', the model is compiled with '" +
                     model.optimizer().name() + "'");
  if (state.callbacks.size() != callbacks.size())
    throw ValueError("restore_training_state: the state holds " + std::to_string(state.callbacks.size()) + " callbacks' states, " +
                     std::to_string(callbacks.size()) + " callbacks were given; give the same callbacks in the same order");
}

}  // namespace

TrainingState capture_training_state(const Model& model, const std::vector<callbacks::Callback*>& callbacks,
                                     const data::BatchSource* source, int epoch, int64_t batch) {
  TrainingState state;
  state.epoch = epoch;
  state.batch = batch;
  state.random_seed = random_seed();
  state.random_keys_drawn = random_keys_drawn();
  state.weight_names = weight_names_of(model);
  state.weights = model.get_weights();
  for (const layers::Layer* layer : model.layers())
    if (const std::optional<uint64_t> key = layer->random_key()) {
      state.random_key_layers.push_back(layer->name());
      state.random_keys.push_back(*key);
    }
  optimizers::Optimizer& optimizer = model.optimizer();
  state.optimizer = optimizer.name();
  state.learning_rate = optimizer.learning_rate();
  state.iterations = optimizer.iterations();
  for (const Tensor* v : optimizer.variables()) state.optimizer_variables.push_back(v->clone());
  if (source != nullptr) state.data_stream = source->state();
  for (const callbacks::Callback* cb : callbacks) state.callbacks.push_back(cb->state());
  for (const metrics::MetricPtr& m : model.metrics()) {
    state.epoch_progress.numbers["metric/" + m->name() + "/total"] = m->total();
    state.epoch_progress.numbers["metric/" + m->name() + "/count"] = static_cast<double>(m->count());
  }
  return state;
}

void restore_training_state(const TrainingState& state, Model& model, const std::vector<callbacks::Callback*>& callbacks,
                            data::BatchSource* source) {
  check_fits(state, model, callbacks);
  optimizers::Optimizer& optimizer = model.optimizer();
  optimizer.build_for(model.trainable_weights());
  const std::vector<Tensor*> slots = optimizer.variables();
  if (slots.size() != state.optimizer_variables.size())
    throw ShapeError("restore_training_state: the state holds " + std::to_string(state.optimizer_variables.size()) +
                     " optimizer slots, " + optimizer.name() + " for this model has " + std::to_string(slots.size()) +
                     " (was it compiled with other options?)");
  for (size_t i = 0; i < slots.size(); ++i)
    if (slots[i]->shape() != state.optimizer_variables[i].shape())
      throw ShapeError("restore_training_state: optimizer slot " + std::to_string(i) + " has shape " + slots[i]->shape().to_string() +
                       ", the state's has " + state.optimizer_variables[i].shape().to_string());
  std::vector<std::pair<double, int64_t>> metric_totals;
  for (const metrics::MetricPtr& m : model.metrics())
    metric_totals.emplace_back(state.epoch_progress.number("restore_training_state", "metric/" + m->name() + "/total"),
                               static_cast<int64_t>(state.epoch_progress.number("restore_training_state", "metric/" + m->name() + "/count")));
  // The parts that may refuse their state go first, each put back as it was if a later one refuses.
  std::vector<SavedState> previous;
  std::optional<SavedState> previous_source;
  try {
    if (source != nullptr) {
      previous_source = source->state();
      source->set_state(state.data_stream);
    }
    for (size_t i = 0; i < callbacks.size(); ++i) {
      previous.push_back(callbacks[i]->state());
      callbacks[i]->set_state(state.callbacks[i]);
    }
  } catch (...) {
    // Best effort: a part whose state has effects outside the process (TensorBoard's files) may
    // not take its old state back; the error to report is the first one.
    for (size_t i = 0; i < previous.size(); ++i) {
      try {
        callbacks[i]->set_state(previous[i]);
      } catch (...) {
      }
    }
    if (previous_source) source->set_state(*previous_source);
    throw;
  }
  model.set_weights(state.weights);
  for (size_t i = 0; i < state.random_key_layers.size(); ++i) model.get_layer(state.random_key_layers[i]).set_random_key(state.random_keys[i]);
  for (size_t i = 0; i < slots.size(); ++i) slots[i]->copy_from(state.optimizer_variables[i]);
  optimizer.set_iterations(state.iterations);
  if (!optimizer.learning_rate_schedule()) optimizer.set_learning_rate(state.learning_rate);  // else it follows the iterations
  for (size_t i = 0; i < metric_totals.size(); ++i) model.metrics()[i]->set_totals(metric_totals[i].first, metric_totals[i].second);
  set_random_state(state.random_seed, state.random_keys_drawn);
}

void save_training_state(const TrainingState& state, const std::string& path, const std::string& previous) {
  io::write_atomically(path, [&](const std::string& tmp) {
    io::Hdf5File file = io::Hdf5File::create(tmp);
    file.set_attr("format", std::string(kFormat));
    file.set_attr("format_version", std::to_string(TrainingState::kFormatVersion));
    file.write_int64("position/epoch", state.epoch);
    file.write_int64("position/batch", state.batch);
    file.write_int64("random/seed", static_cast<int64_t>(state.random_seed));
    file.write_int64("random/keys_drawn", static_cast<int64_t>(state.random_keys_drawn));
    io::Hdf5Group model = file.create_group("model");
    model.set_attr("weight_names", state.weight_names);
    for (size_t i = 0; i < state.weights.size(); ++i) model.write_dataset("weights/" + index_name(i), state.weights[i]);
    model.set_attr("random_key_layers", state.random_key_layers);
    model.write_int64_array("random_keys", std::vector<int64_t>(state.random_keys.begin(), state.random_keys.end()));
    io::Hdf5Group optimizer = file.create_group("optimizer");
    optimizer.set_attr("name", state.optimizer);
    optimizer.write_float64_array("learning_rate", {state.learning_rate});
    optimizer.write_int64("iterations", state.iterations);
    for (size_t i = 0; i < state.optimizer_variables.size(); ++i)
      optimizer.write_dataset("variables/" + index_name(i), state.optimizer_variables[i]);
    if (!state.data_stream.empty()) {
      io::Hdf5Group stream = file.create_group("data_stream");
      write_saved_state(stream, state.data_stream);
    }
    if (!state.epoch_progress.empty()) {
      io::Hdf5Group progress = file.create_group("epoch_progress");
      write_saved_state(progress, state.epoch_progress);
    }
    io::Hdf5Group cbs = file.create_group("callbacks");
    cbs.set_attr("count", std::to_string(state.callbacks.size()));
    for (size_t i = 0; i < state.callbacks.size(); ++i) {
      io::Hdf5Group cb = cbs.create_group(index_name(i));
      write_saved_state(cb, state.callbacks[i]);
    }
    file.close();
  }, previous);
}

TrainingState load_training_state(const std::string& path) {
  const io::Hdf5File file = io::Hdf5File::open(path);
  if (!file.has_attr("format") || file.attr_string("format") != kFormat)
    throw IOError(path + ": not a regula training state (no @format = \"" + kFormat + "\")");
  const std::string version = file.attr_string("format_version");
  if (version != std::to_string(TrainingState::kFormatVersion))
    throw IOError(path + ": training state format version " + version + "; this regula reads version " +
                  std::to_string(TrainingState::kFormatVersion));
  TrainingState state;
  state.epoch = static_cast<int>(file.read_int64("position/epoch"));
  state.batch = file.read_int64("position/batch");
  state.random_seed = static_cast<uint64_t>(file.read_int64("random/seed"));
  state.random_keys_drawn = static_cast<uint64_t>(file.read_int64("random/keys_drawn"));
  const io::Hdf5Group model = file.group("model");
  state.weight_names = model.attr_strings("weight_names");
  for (size_t i = 0; i < state.weight_names.size(); ++i) state.weights.push_back(model.read_dataset("weights/" + index_name(i)));
  state.random_key_layers = model.attr_strings("random_key_layers");
  const std::vector<int64_t> keys = model.read_int64_array("random_keys");
  if (keys.size() != state.random_key_layers.size())
    throw IOError(path + ": model/random_keys holds " + std::to_string(keys.size()) + " keys for " +
                  std::to_string(state.random_key_layers.size()) + " layers (file corrupt?)");
  state.random_keys.assign(keys.begin(), keys.end());
  const io::Hdf5Group optimizer = file.group("optimizer");
  state.optimizer = optimizer.attr_string("name");
  const std::vector<double> lr = optimizer.read_float64_array("learning_rate");
  if (lr.size() != 1) throw IOError(path + ": optimizer/learning_rate must hold one value");
  state.learning_rate = lr[0];
  state.iterations = optimizer.read_int64("iterations");
  for (size_t i = 0; optimizer.has("variables/" + index_name(i)); ++i)
    state.optimizer_variables.push_back(optimizer.read_dataset("variables/" + index_name(i)));
  if (file.has("data_stream")) state.data_stream = read_saved_state(file.group("data_stream"), path);
  if (file.has("epoch_progress")) state.epoch_progress = read_saved_state(file.group("epoch_progress"), path);
  const io::Hdf5Group cbs = file.group("callbacks");
  const std::string count_text = cbs.attr_string("count");
  size_t count = 0;
  try {
    count = std::stoul(count_text);
  } catch (const std::exception&) {
    throw IOError(path + ": callbacks/@count is '" + count_text + "', not a count");
  }
  for (size_t i = 0; i < count; ++i) state.callbacks.push_back(read_saved_state(cbs.group(index_name(i)), path));
  return state;
}

}  // namespace regula::training
