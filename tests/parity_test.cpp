// Parity with PyTorch: one training step of the seed model (dropout off) against golden values
// computed in float64 by tests/golden/make_seed_parity.py.
//
// Neither side stores weights: both build them from the same hash formula (see the generator's
// docstring), so the golden file holds only results, and a test failure points at a layout or a
// formula rather than at stale data. The first test proves the formula reproduces the
// generator's tensors before any result is compared.
//
// Tolerances (the golden values are exact for the float32 inputs; regula computes in float32):
// - outputs (probabilities): |regula − golden| ≤ 1e-5 + 1e-4·|golden|; loss: relative 1e-5;
// - gradients: per element ≤ 1e-4 × the tensor's max-abs gradient (a bias in front of
//   BatchNormalization has a zero gradient in exact arithmetic and is bounded by its kernel's
//   max-abs instead); summarised tensors: sum ≤ 1e-4 × L2 norm, L2 norm relative 1e-4, samples
//   as the elements;
// - moving statistics after the step: 1e-6 + 1e-5·|golden|.
// The loss and gradient bounds are tighter than a generic 1e-3 on purpose: the activity penalty
// is 6e-5 of this loss and moves some gradients by about 1e-4 of their max-abs, so looser bounds
// would pass a model without it. Both backends stay below 4 % of every bound (measured when the
// file was written), leaving room for faster kernels that sum in another order.
// Each check runs with the reference backend (the oracle) and the fast cpu backend.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "regula/backend/context.hpp"
#include "regula/model/seed_model.hpp"
#include "regula/optimizers/optimizer.hpp"

// Names the backend in ctest's listing instead of gtest's byte dump.
namespace regula::backend {
inline void PrintTo(BackendKind kind, std::ostream* os) { *os << (kind == BackendKind::reference ? "reference" : "cpu"); }
}  // namespace regula::backend

namespace {

using nlohmann::json;
using regula::Shape;
using regula::Tensor;
namespace backend = regula::backend;

constexpr int64_t kBatch = 8;

// The generator's hash: h = (i·2654435761 + t·40503) mod 2³², then an xorshift-multiply
// finaliser so that neighbouring indices are not on a lattice (a lattice input gives pooling
// windows with exact ties, where float32 and float64 could pick different maxima).
uint32_t formula_hash(uint64_t t, uint64_t i) {
  uint32_t h = static_cast<uint32_t>(i * 2654435761u + t * 40503u);
  h ^= h >> 15;
  h *= 2246822519u;
  h ^= h >> 13;
  return h;
}

double formula_u(uint64_t t, uint64_t i) { return static_cast<double>(formula_hash(t, i)) / 4294967296.0; }

// scale is a power of two, so scale·(u − 0.5) is exact in double; the conversion to float is the
// only rounding, then the offset is added in float, as numpy does.
Tensor formula_weight(uint64_t t, const Shape& shape, double scale, double offset) {
  Tensor w(shape);
  const float off = static_cast<float>(offset);
  for (int64_t i = 0; i < w.size(); ++i)
    w[i] = static_cast<float>(scale * (formula_u(t, static_cast<uint64_t>(i)) - 0.5)) + off;
  return w;
}

Tensor formula_images() {
  Tensor x(Shape{kBatch, 28, 28, 1});
  for (int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(formula_u(100, static_cast<uint64_t>(i)));
  return x;
}

Tensor formula_labels() {
  Tensor y(Shape{kBatch});
  for (int64_t i = 0; i < kBatch; ++i) y[i] = static_cast<float>(formula_hash(101, static_cast<uint64_t>(i)) % 10);
  return y;
}

const json& golden() {
  static const json data = [] {
    const std::string path = std::string(REGULA_TEST_DATA_DIR) + "/seed_parity.json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path + " (run tests/golden/make_seed_parity.py)");
    json j = json::parse(in);
    if (j.at("format") != "regula-seed-parity" || j.at("version") != 1)
      throw std::runtime_error(path + ": unexpected format or version");
    return j;
  }();
  return data;
}

Shape shape_of(const json& dims) {
  std::vector<int64_t> d;
  for (const json& v : dims) d.push_back(v.get<int64_t>());
  return Shape(d);
}

std::vector<Tensor> formula_weights() {
  std::vector<Tensor> weights;
  for (const json& t : golden().at("tensors"))
    weights.push_back(formula_weight(t.at("index").get<uint64_t>(), shape_of(t.at("shape")),
                                     t.at("scale").get<double>(), t.at("offset").get<double>()));
  return weights;
}

// What one training step produced, in Keras's weight order.
struct StepResult {
  Tensor train_output;
  double loss = 0;
  std::vector<Tensor> gradients;  // empty for non-trainable weights
  std::vector<Tensor> weights_after;
  Tensor inference_output;
};

std::unique_ptr<regula::Model> parity_model() {
  auto model = regula::models::seed_model({.conv_dropout = 0, .dense_dropout = 0});
  model->set_weights(formula_weights());
  // Learning rate 0: the weights stay put, so the inference output after the step differs from
  // the one before only by the moving statistics, as in the generator.
  model->compile({.optimizer = regula::optimizers::SGD({.learning_rate = 0.0}),
                  .loss = "sparse_categorical_crossentropy"});
  return model;
}

// The training-mode output, by running the layers one by one (Model keeps its outputs private).
// The seed model is a chain, so each layer's input is the previous layer's output. This updates
// the moving statistics, so it runs on a model of its own.
Tensor training_forward(regula::Model& model, const Tensor& x) {
  Tensor current = x;
  const regula::layers::ForwardContext context{.training = true, .step = 0};
  for (regula::layers::Layer* layer : model.layers()) {
    if (layer->class_name() == "InputLayer") continue;
    Tensor out(layer->output_shape().with_batch(kBatch));
    layer->forward({&current}, out, context);
    current = out;
  }
  return current;
}

StepResult run_step(backend::BackendKind kind) {
  backend::ScopedBackend scoped(kind);
  const Tensor x = formula_images();
  const Tensor y = formula_labels();
  StepResult r;
  r.train_output = training_forward(*parity_model(), x);

  auto model = parity_model();
  r.loss = model->train_on_batch(x, y);
  for (regula::layers::Layer* layer : model->layers())
    for (const regula::layers::Weight& w : layer->weights())
      r.gradients.push_back(w.trainable ? w.gradient.clone() : Tensor());
  r.weights_after = model->get_weights();
  r.inference_output = model->predict_on_batch(x).clone();
  return r;
}

// One step per backend, computed on first use and shared by the tests (ctest runs each test in
// its own process, which then computes only its backend's step).
const StepResult& step_result(backend::BackendKind kind) {
  if (kind == backend::BackendKind::reference) {
    static const StepResult reference = run_step(backend::BackendKind::reference);
    return reference;
  }
  static const StepResult cpu = run_step(backend::BackendKind::cpu);
  return cpu;
}

// Compares values element by element with |a − g| ≤ atol + rtol·|g|; reports the worst one.
void expect_close(const std::string& what, const float* actual, const std::vector<double>& expected,
                  const std::vector<int64_t>& indices, double atol, double rtol) {
  double worst = 0;
  int64_t worst_k = -1, failures = 0;
  for (size_t k = 0; k < expected.size(); ++k) {
    const int64_t i = indices.empty() ? static_cast<int64_t>(k) : indices[k];
    const double err = std::abs(static_cast<double>(actual[i]) - expected[k]);
    const double excess = err / (atol + rtol * std::abs(expected[k]));
    if (excess > 1.0) ++failures;
    if (excess > worst) worst = excess, worst_k = static_cast<int64_t>(k);
  }
  if (failures > 0) {
    const int64_t i = indices.empty() ? worst_k : indices[static_cast<size_t>(worst_k)];
    ADD_FAILURE() << what << ": " << failures << " of " << expected.size()
                  << " values out of tolerance; worst at flat index " << i << ": regula "
                  << actual[i] << ", golden " << expected[static_cast<size_t>(worst_k)] << " ("
                  << worst << "× the tolerance " << atol << " + " << rtol << "·|golden|)";
  }
}

std::vector<double> doubles(const json& j) { return j.get<std::vector<double>>(); }

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

class Parity : public ::testing::TestWithParam<backend::BackendKind> {};

std::string backend_name(const ::testing::TestParamInfo<backend::BackendKind>& info) {
  return info.param == backend::BackendKind::reference ? "reference" : "cpu";
}

TEST(ParityFormula, ReproducesTheGeneratorsTensors) {
  const std::vector<Tensor> weights = formula_weights();
  auto model = regula::models::seed_model({.conv_dropout = 0, .dense_dropout = 0});
  const std::vector<Tensor> ours = model->get_weights();
  ASSERT_EQ(weights.size(), ours.size()) << "the seed model's weight count differs from the generator's";
  for (const json& t : golden().at("tensors")) {
    const auto k = t.at("index").get<size_t>();
    const std::string name = t.at("name").get<std::string>();
    ASSERT_EQ(ours[k].shape(), weights[k].shape()) << name << ": the model's shape differs from the generator's";
    const json& check = t.at("check");
    const std::vector<double> first = doubles(check.at("first"));
    for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(static_cast<double>(weights[k][static_cast<int64_t>(i)]), first[i]) << name;
    EXPECT_EQ(static_cast<double>(weights[k][weights[k].size() - 1]), check.at("last").get<double>()) << name;
    double sum = 0;
    for (float v : weights[k].values()) sum += v;
    EXPECT_NEAR(sum, check.at("sum").get<double>(), 1e-9 * static_cast<double>(weights[k].size())) << name;
  }
  const Tensor x = formula_images();
  double sum = 0;
  for (float v : x.values()) sum += v;
  EXPECT_NEAR(sum, golden().at("input_check").at("sum").get<double>(), 1e-6);
  const Tensor y = formula_labels();
  const auto labels = golden().at("labels").get<std::vector<int>>();
  for (int64_t i = 0; i < kBatch; ++i) EXPECT_EQ(static_cast<int>(y[i]), labels[static_cast<size_t>(i)]);
}

TEST_P(Parity, TrainingForwardOutput) {
  const StepResult& r = step_result(GetParam());
  ASSERT_EQ(r.train_output.shape(), (Shape{kBatch, 10}));
  expect_close("training-mode output", r.train_output.data(), doubles(golden().at("train_output")), {}, 1e-5, 1e-4);
}

TEST_P(Parity, LossWithActivityPenalty) {
  const double expected = golden().at("loss").get<double>();
  EXPECT_NEAR(step_result(GetParam()).loss, expected, 1e-5 * std::abs(expected))
      << "golden data loss " << golden().at("data_loss") << " + activity penalty " << golden().at("activity_penalty");
}

TEST_P(Parity, Gradients) {
  const StepResult& r = step_result(GetParam());
  const json& grads = golden().at("gradients");
  std::vector<double> kernel_max_abs(r.gradients.size(), 0.0);
  for (const json& g : grads) {
    const auto k = g.at("index").get<size_t>();
    const std::string name = g.at("name").get<std::string>();
    ASSERT_LT(k, r.gradients.size());
    const Tensor& ours = r.gradients[k];
    ASSERT_FALSE(ours.empty()) << name << ": no gradient after the step";
    if (g.contains("full")) {
      const std::vector<double> expected = doubles(g.at("full"));
      ASSERT_EQ(static_cast<size_t>(ours.size()), expected.size()) << name;
      kernel_max_abs[k] = max_abs(expected);
      // A bias in front of BatchNormalization: bounded by its kernel's gradient (the previous
      // weight), since its own golden magnitude is rounding noise.
      const double scale = g.at("zero_in_exact_arithmetic").get<bool>() ? kernel_max_abs[k - 1] : kernel_max_abs[k];
      expect_close("gradient of " + name, ours.data(), expected, {}, 1e-4 * scale, 0.0);
    } else {
      const double l2 = g.at("l2").get<double>(), amax = g.at("max_abs").get<double>();
      kernel_max_abs[k] = amax;
      double sum = 0, sq = 0;
      for (float v : ours.values()) sum += v, sq += static_cast<double>(v) * v;
      EXPECT_NEAR(sum, g.at("sum").get<double>(), 1e-4 * l2) << "sum of the gradient of " << name;
      EXPECT_NEAR(std::sqrt(sq), l2, 1e-4 * l2) << "L2 norm of the gradient of " << name;
      expect_close("sampled gradient of " + name, ours.data(), doubles(g.at("values")),
                   g.at("indices").get<std::vector<int64_t>>(), 1e-4 * amax, 0.0);
    }
  }
}

TEST_P(Parity, MovingStatisticsAfterOneStep) {
  const StepResult& r = step_result(GetParam());
  for (const json& m : golden().at("moving_after_step")) {
    const auto k = m.at("index").get<size_t>();
    ASSERT_LT(k, r.weights_after.size());
    expect_close(m.at("name").get<std::string>() + " after one step", r.weights_after[k].data(),
                 doubles(m.at("values")), {}, 1e-6, 1e-5);
  }
}

TEST_P(Parity, InferenceOutputAfterOneStep) {
  const StepResult& r = step_result(GetParam());
  ASSERT_EQ(r.inference_output.shape(), (Shape{kBatch, 10}));
  expect_close("inference-mode output after the step", r.inference_output.data(),
               doubles(golden().at("inference_output")), {}, 1e-5, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Backends, Parity,
                         ::testing::Values(backend::BackendKind::reference, backend::BackendKind::cpu),
                         backend_name);

}  // namespace
