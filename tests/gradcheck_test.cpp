// Every layer and every loss, registered once, checked against central differences
// (regula/testing/gradcheck.hpp) under the reference backend.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "regula/backend/context.hpp"
#include "regula/layers/activation.hpp"
#include "regula/layers/batch_normalization.hpp"
#include "regula/layers/conv2d.hpp"
#include "regula/layers/dense.hpp"
#include "regula/layers/dropout.hpp"
#include "regula/layers/flatten.hpp"
#include "regula/layers/gaussian_dropout.hpp"
#include "regula/layers/gaussian_noise.hpp"
#include "regula/layers/merge.hpp"
#include "regula/layers/pooling.hpp"
#include "regula/layers/random_contrast.hpp"
#include "regula/layers/random_erasing.hpp"
#include "regula/layers/random_flip.hpp"
#include "regula/layers/random_rotation.hpp"
#include "regula/layers/random_translation.hpp"
#include "regula/layers/random_zoom.hpp"
#include "regula/layers/reshape.hpp"
#include "regula/layers/spatial_dropout2d.hpp"
#include "regula/losses/loss.hpp"
#include "regula/testing/gradcheck.hpp"
#include "regula/utils/random.hpp"

namespace rl = regula::layers;
namespace rt = regula::testing;
using regula::Shape;
using regula::Tensor;

namespace {

struct LayerCase {
  std::string label;
  std::function<std::shared_ptr<rl::Layer>()> make;
  std::vector<Shape> input_shapes;  // with batch
  rt::GradcheckOptions options = {};
};

const std::vector<std::string> kActivations = {"linear", "relu",    "sigmoid",    "tanh",
                                               "softmax", "elu", "leaky_relu", "gelu"};

// THE registry: every layer regula has, with the configurations worth checking.
std::vector<LayerCase> layer_cases() {
  std::vector<LayerCase> cases;
  for (const std::string& a : kActivations) {
    cases.push_back({"Dense_" + a, [a] { return rl::Dense(4, {.activation = a}).into_shared(); }, {{3, 5}}});
    cases.push_back({"Activation_" + a, [a] { return rl::Activation(a).into_shared(); }, {{3, 2, 4}}});
  }
  cases.push_back({"Dense_rank3_nobias", [] { return rl::Dense(3, {.use_bias = false}).into_shared(); }, {{2, 3, 4}}});
  cases.push_back({"Conv2D_valid", [] { return rl::Conv2D(3, {3, 3}).into_shared(); }, {{2, 5, 5, 2}}});
  cases.push_back({"Conv2D_same", [] { return rl::Conv2D(3, 3, {.padding = "same"}).into_shared(); }, {{2, 5, 4, 2}}});
  cases.push_back({"Conv2D_strided_same_odd",
                   [] { return rl::Conv2D(2, {3, 2}, {.strides = 2, .padding = "same"}).into_shared(); },
                   {{2, 7, 6, 3}}});
  cases.push_back({"Conv2D_strided_valid_nobias",
                   [] { return rl::Conv2D(4, {2, 3}, {.strides = {2, 1}, .use_bias = false}).into_shared(); },
                   {{1, 6, 7, 2}}});
  cases.push_back({"Conv2D_in1_relu", [] { return rl::Conv2D(4, 3, {.padding = "same", .activation = "tanh"}).into_shared(); },
                   {{2, 4, 5, 1}}});
  cases.push_back({"Conv2D_1x1", [] { return rl::Conv2D(3, 1).into_shared(); }, {{2, 3, 3, 4}}});
  cases.push_back({"MaxPooling2D_valid", [] { return rl::MaxPooling2D().into_shared(); }, {{2, 4, 6, 3}}});
  cases.push_back({"MaxPooling2D_same_odd",
                   [] { return rl::MaxPooling2D(3, {.strides = 2, .padding = "same"}).into_shared(); }, {{2, 5, 6, 2}}});
  cases.push_back({"AveragePooling2D_valid", [] { return rl::AveragePooling2D().into_shared(); }, {{2, 5, 4, 3}}});
  cases.push_back({"AveragePooling2D_same_overlap",
                   [] { return rl::AveragePooling2D({3, 2}, {.strides = {2, 1}, .padding = "same"}).into_shared(); },
                   {{2, 5, 5, 2}}});
  cases.push_back({"GlobalAveragePooling2D", [] { return rl::GlobalAveragePooling2D().into_shared(); }, {{2, 3, 4, 3}}});
  cases.push_back({"GlobalAveragePooling2D_keepdims",
                   [] { return rl::GlobalAveragePooling2D({.keepdims = true}).into_shared(); }, {{2, 3, 2, 2}}});
  // BatchNormalization's outputs all depend on every element of a channel, so float32 noise adds
  // up over the batch: a larger step keeps it small against the difference.
  cases.push_back({"BatchNormalization_rank2", [] { return rl::BatchNormalization().into_shared(); }, {{6, 4}},
                   {.epsilon = 1e-2}});
  cases.push_back({"BatchNormalization_rank4", [] { return rl::BatchNormalization().into_shared(); }, {{2, 3, 3, 2}},
                   {.epsilon = 1e-2}});
  cases.push_back({"BatchNormalization_no_center_scale",
                   [] { return rl::BatchNormalization({.center = false, .scale = false}).into_shared(); }, {{5, 3}},
                   {.epsilon = 1e-2}});
  cases.push_back({"Dropout", [] { return rl::Dropout(0.4, {.seed = 3}).into_shared(); }, {{4, 7}}});
  cases.push_back({"SpatialDropout2D", [] { return rl::SpatialDropout2D(0.4, {.seed = 3}).into_shared(); }, {{3, 2, 3, 4}}});
  cases.push_back({"GaussianNoise", [] { return rl::GaussianNoise(0.5, {.seed = 3}).into_shared(); }, {{3, 5}}});
  cases.push_back({"GaussianDropout", [] { return rl::GaussianDropout(0.4, {.seed = 3}).into_shared(); }, {{3, 5}}});
  // The augmentation layers are linear in the image for the step's draws (which the check keeps
  // fixed): flips and warps move and blend values, contrast scales about the mean, erasing
  // replaces a rectangle. Value ranges are wide so that nothing clips.
  cases.push_back({"RandomFlip", [] { return rl::RandomFlip("horizontal_and_vertical", {.seed = 3}).into_shared(); },
                   {{4, 3, 4, 2}}});
  cases.push_back({"RandomRotation_reflect", [] { return rl::RandomRotation(0.3, {.seed = 3}).into_shared(); },
                   {{3, 5, 4, 2}}});
  cases.push_back({"RandomRotation_constant",
                   [] { return rl::RandomRotation(0.3, {.fill_mode = "constant", .seed = 4}).into_shared(); },
                   {{3, 5, 5, 1}}});
  cases.push_back({"RandomTranslation_wrap",
                   [] { return rl::RandomTranslation(0.3, 0.4, {.fill_mode = "wrap", .seed = 3}).into_shared(); },
                   {{3, 4, 5, 2}}});
  cases.push_back({"RandomZoom_nearest_fill",
                   [] { return rl::RandomZoom(0.4, 0.2, {.fill_mode = "nearest", .seed = 3}).into_shared(); },
                   {{3, 5, 4, 1}}});
  cases.push_back({"RandomZoom_nearest_interpolation",
                   [] { return rl::RandomZoom(0.4, std::nullopt, {.interpolation = "nearest", .seed = 5}).into_shared(); },
                   {{2, 5, 5, 2}}});
  cases.push_back({"RandomContrast",
                   [] { return rl::RandomContrast(rl::AugmentationFactor(0.5, 0.5), {.value_range = {-100, 100}, .seed = 3})
                            .into_shared(); },
                   {{3, 3, 4, 2}}});
  cases.push_back({"RandomErasing",
                   [] {
                     return rl::RandomErasing({.factor = rl::AugmentationFactor(1, 1), .fill_value = {0.25},
                                               .value_range = {-100, 100}, .seed = 3})
                         .into_shared();
                   },
                   {{3, 5, 5, 2}}});
  cases.push_back({"Flatten", [] { return rl::Flatten().into_shared(); }, {{2, 3, 2, 2}}});
  cases.push_back({"Reshape", [] { return rl::Reshape({-1, 3}).into_shared(); }, {{2, 4, 3}}});
  cases.push_back({"Add", [] { return rl::Add().into_shared(); }, {{2, 3, 2}, {2, 3, 2}, {2, 3, 2}}});
  cases.push_back({"Concatenate_last", [] { return rl::Concatenate().into_shared(); }, {{2, 3, 2}, {2, 3, 4}}});
  cases.push_back({"Concatenate_axis1", [] { return rl::Concatenate(1).into_shared(); }, {{2, 1, 2}, {2, 3, 2}}});
  return cases;
}

class LayerGradients : public ::testing::TestWithParam<LayerCase> {};

TEST_P(LayerGradients, MatchCentralDifferences) {
  const LayerCase& c = GetParam();
  regula::set_random_seed(42);
  regula::backend::ScopedBackend reference(regula::backend::BackendKind::reference);
  auto layer = c.make();
  const rt::GradcheckReport report = rt::check_layer_gradients(*layer, c.input_shapes, c.options);
  EXPECT_TRUE(report.passed()) << report.to_string();
  if (std::getenv("REGULA_GRADCHECK_VERBOSE") != nullptr) std::printf("%s\n", report.to_string().c_str());
  // Inputs and trainable weights are each checked separately.
  size_t trainable = 0;
  for (const auto& w : layer->weights()) trainable += w.trainable ? 1 : 0;
  EXPECT_EQ(report.tensors.size(), c.input_shapes.size() + trainable);
}

INSTANTIATE_TEST_SUITE_P(Registry, LayerGradients, ::testing::ValuesIn(layer_cases()),
                         [](const ::testing::TestParamInfo<LayerCase>& info) { return info.param.label; });

// ---- losses ----

enum class Labels { one_hot, sparse, binary, regression };

struct LossCase {
  std::string label;
  std::function<regula::losses::LossPtr()> make;
  Labels labels;
  bool logits;  // y_pred are logits (from_logits) rather than probabilities
  bool weighted;
};

std::vector<LossCase> loss_cases() {
  namespace ls = regula::losses;
  std::vector<LossCase> cases;
  for (bool weighted : {false, true}) {
    const std::string w = weighted ? "_weighted" : "";
    for (bool logits : {false, true}) {
      const std::string l = logits ? "_logits" : "_probs";
      for (double smoothing : {0.0, 0.1}) {
        const std::string s = smoothing > 0 ? "_smooth" : "";
        const ls::CrossentropyOptions o{.from_logits = logits, .label_smoothing = smoothing};
        cases.push_back({"categorical" + l + s + w, [o] { return ls::categorical_crossentropy(o); }, Labels::one_hot,
                         logits, weighted});
        cases.push_back({"binary" + l + s + w, [o] { return ls::binary_crossentropy(o); }, Labels::binary, logits,
                         weighted});
        if (smoothing == 0.0)  // Keras's sparse crossentropy has no label smoothing
          cases.push_back({"sparse_categorical" + l + w, [o] { return ls::sparse_categorical_crossentropy(o); },
                           Labels::sparse, logits, weighted});
      }
    }
    cases.push_back({"mean_squared_error" + w, [] { return ls::mean_squared_error(); }, Labels::regression, true,
                     weighted});
  }
  return cases;
}

class LossGradients : public ::testing::TestWithParam<LossCase> {};

TEST_P(LossGradients, MatchCentralDifferences) {
  const LossCase& c = GetParam();
  const int64_t batch = 5, classes = 4;
  regula::Rng rng(7);
  Tensor logits({batch, classes});
  for (int64_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>(rng.normal());
  Tensor y_pred = logits.clone();
  Tensor y_true({batch, classes});
  if (!c.logits) {
    if (c.labels == Labels::binary) {
      for (int64_t i = 0; i < y_pred.size(); ++i) y_pred[i] = 1.0f / (1.0f + std::exp(-logits[i]));
    } else {
      rl::activation_forward(rl::ActivationKind::softmax, logits, y_pred);
    }
  }
  switch (c.labels) {
    case Labels::one_hot:
      for (int64_t b = 0; b < batch; ++b) y_true[b * classes + static_cast<int64_t>(rng.uniform_int(classes))] = 1.0f;
      break;
    case Labels::sparse:
      y_true = Tensor({batch});
      for (int64_t b = 0; b < batch; ++b) y_true[b] = static_cast<float>(rng.uniform_int(classes));
      break;
    case Labels::binary:
      for (int64_t i = 0; i < y_true.size(); ++i) y_true[i] = rng.uniform() < 0.5 ? 0.0f : 1.0f;
      break;
    case Labels::regression:
      for (int64_t i = 0; i < y_true.size(); ++i) y_true[i] = static_cast<float>(rng.normal());
      break;
  }
  std::vector<float> weights;
  for (int64_t b = 0; b < batch; ++b) weights.push_back(static_cast<float>(0.5 + rng.uniform()));
  const auto loss = c.make();
  const rt::GradcheckReport report =
      rt::check_loss_gradient(*loss, y_true, y_pred, c.weighted ? weights.data() : nullptr);
  EXPECT_TRUE(report.passed()) << report.to_string();
}

INSTANTIATE_TEST_SUITE_P(Registry, LossGradients, ::testing::ValuesIn(loss_cases()),
                         [](const ::testing::TestParamInfo<LossCase>& info) { return info.param.label; });

}  // namespace

namespace {

// A layer whose backward is deliberately wrong (∂/∂x off by 10 %): the checker must catch it, or
// every pass above would prove nothing.
class WrongScale final : public rl::LayerBase<WrongScale> {
 public:
  WrongScale() : LayerBase("", "wrong_scale") {}
  std::string class_name() const override { return "WrongScale"; }
  void forward(const std::vector<const Tensor*>& inputs, Tensor& output, const rl::ForwardContext&) override {
    for (int64_t i = 0; i < output.size(); ++i) output[i] = 2.0f * (*inputs[0])[i];
  }
  void backward(const std::vector<const Tensor*>&, const Tensor&, const Tensor& grad_output,
                const std::vector<Tensor*>& grad_inputs) override {
    for (int64_t i = 0; i < grad_output.size(); ++i) (*grad_inputs[0])[i] = 2.2f * grad_output[i];
  }

 protected:
  Shape build_impl(const std::vector<Shape>& input_shapes) override { return input_shapes[0]; }
};

TEST(Gradcheck, CatchesAWrongGradient) {
  WrongScale layer;
  const rt::GradcheckReport report = rt::check_layer_gradients(layer, {{3, 4}});
  EXPECT_FALSE(report.passed()) << report.to_string();
  EXPECT_NEAR(report.tensors[0].max_relative_error, 0.2 / 2.2, 1e-3);
}

}  // namespace
