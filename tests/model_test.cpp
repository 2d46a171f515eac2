// Functional and Sequential models, compile/fit/evaluate/predict, and the Keras rules fit follows.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "regula/regula.hpp"

namespace rg = regula;

namespace {

/// Two Gaussian blobs per class in 2-D: linearly separable, so a small model must learn them.
struct Blobs {
  rg::Tensor x, y;
};

Blobs make_blobs(int64_t n, int64_t classes, uint64_t seed) {
  rg::Rng rng(seed);
  Blobs b{rg::Tensor({n, 2}), rg::Tensor({n})};
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = i % classes;
    const double angle = 2.0 * 3.14159265358979 * static_cast<double>(c) / static_cast<double>(classes);
    b.x[2 * i] = static_cast<float>(3.0 * std::cos(angle) + 0.5 * rng.normal());
    b.x[2 * i + 1] = static_cast<float>(3.0 * std::sin(angle) + 0.5 * rng.normal());
    b.y[i] = static_cast<float>(c);
  }
  return b;
}

std::unique_ptr<rg::Model> small_classifier(int64_t classes) {
  auto input = rg::layers::Input({2});
  auto x = rg::layers::Dense(16, {.activation = "relu"})(input);
  auto out = rg::layers::Dense(classes, {.activation = "softmax"})(x);
  auto model = std::make_unique<rg::Model>(input, out);
  model->compile({.optimizer = rg::optimizers::Adam({.learning_rate = 0.01}),
                  .loss = "sparse_categorical_crossentropy",
                  .metrics = {"accuracy"}});
  return model;
}

}  // namespace

TEST(Model, SeedModelParameterCountsMatchKeras) {
  // Keras counts 1,684,746 parameters for the seed model: 1,683,850 trainable, 896 not.
  auto model = rg::models::seed_model();
  EXPECT_EQ(model->count_params(), 1684746);
  EXPECT_EQ(model->count_trainable_params(), 1683850);
  const std::string summary = model->summary_string();
  EXPECT_NE(summary.find("Total params: 1,684,746"), std::string::npos) << summary;
  EXPECT_NE(summary.find("Trainable params: 1,683,850"), std::string::npos);
  EXPECT_NE(summary.find("Non-trainable params: 896"), std::string::npos);
  EXPECT_NE(summary.find("(None, 28, 28, 64)"), std::string::npos);
}

TEST(Model, SequentialBuildsTheSameSeedModel) {
  rg::Sequential model;
  model.add(rg::layers::Input({28, 28, 1}));
  for (int64_t filters : {64, 128}) {
    model.add(rg::layers::Conv2D(filters, {3, 3}, {.padding = "same"}));
    model.add(rg::layers::BatchNormalization());
    model.add(rg::layers::Activation("relu"));
    model.add(rg::layers::Dropout(0.25));
    model.add(rg::layers::MaxPooling2D({2, 2}));
  }
  model.add(rg::layers::Flatten());
  model.add(rg::layers::Dense(256));
  model.add(rg::layers::BatchNormalization());
  model.add(rg::layers::Activation("relu"));
  model.add(rg::layers::Dropout(0.5));
  model.add(rg::layers::Dense(10, {.activation = "softmax", .activity_regularizer = rg::regularizers::l2(0.001)}));
  EXPECT_EQ(model.count_params(), 1684746);
  EXPECT_EQ(model.count_trainable_params(), 1683850);
  EXPECT_EQ(model.output_shape(), rg::Shape({10}));
}

TEST(Model, IncompatibleShapesAreReportedAtBuildNamingBothLayers) {
  auto input = rg::layers::Input({28, 28, 1}, "images");
  auto x = rg::layers::Dense(8, {.name = "features"})(input);  // Dense applies to the last axis: (28, 28, 8)
  try {
    (void)rg::layers::Conv2D(4, {3, 3}, {.name = "conv"})(rg::layers::Flatten()(x));
    FAIL() << "a Conv2D on a rank-1 input must be refused";
  } catch (const rg::ShapeError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("conv"), std::string::npos) << message;
    EXPECT_NE(message.find("Flatten"), std::string::npos) << message;
  }
}

TEST(Model, SequentialNeedsInputFirst) {
  rg::Sequential model;
  EXPECT_THROW(model.add(rg::layers::Dense(3)), rg::StateError);
}

TEST(Model, FitBeforeCompileIsAnError) {
  auto input = rg::layers::Input({2});
  rg::Model model(input, rg::layers::Dense(2)(input));
  rg::Tensor x({4, 2}), y({4});
  EXPECT_THROW(model.fit(x, y), rg::StateError);
}

TEST(Model, MismatchedSampleCountsAreRefused) {
  auto model = small_classifier(2);
  rg::Tensor x({10, 2}), y({9});
  try {
    model->fit(x, y, {.verbose = 0});
    FAIL();
  } catch (const rg::ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("10 samples but y has 9"), std::string::npos) << e.what();
  }
}

TEST(Model, LabelsOutOfRangeAreRefusedBeforeTraining) {
  auto model = small_classifier(3);
  Blobs b = make_blobs(30, 3, 1);
  b.y[17] = 7.0f;
  const std::vector<rg::Tensor> before = model->get_weights();
  EXPECT_THROW(model->fit(b.x, b.y, {.verbose = 0}), rg::ValueError);
  const std::vector<rg::Tensor> after = model->get_weights();
  for (size_t i = 0; i < before.size(); ++i)
    for (int64_t k = 0; k < before[i].size(); ++k) ASSERT_EQ(before[i][k], after[i][k]) << "weights changed";
}

TEST(Model, FitLearnsSeparableBlobs) {
  rg::set_random_seed(3);
  auto model = small_classifier(3);
  Blobs train = make_blobs(600, 3, 11);
  Blobs test = make_blobs(300, 3, 12);
  rg::callbacks::History history = model->fit(train.x, train.y, {.batch_size = 32, .epochs = 5, .verbose = 0, .validation_split = 0.2});
  ASSERT_EQ(history.size(), 5u);
  EXPECT_LT(history["loss"].back(), history["loss"].front());
  EXPECT_GT(history["val_accuracy"].back(), 0.95);
  rg::callbacks::Logs logs = model->evaluate(test.x, test.y, {.verbose = 0});
  EXPECT_GT(logs.at("accuracy"), 0.95);
  const rg::Tensor pred = model->predict(test.x);
  EXPECT_EQ(pred.shape(), rg::Shape({300, 3}));
  EXPECT_NEAR(rg::metrics::accuracy_score(test.y, pred), logs.at("accuracy"), 1e-9);
}

TEST(Model, AccLogsAsAccAndAccuracyAsAccuracy) {
  // Keras: the metric's name in the logs is the name given to compile ("acc" → acc / val_acc).
  auto input = rg::layers::Input({2});
  rg::Model model(input, rg::layers::Dense(2, {.activation = "softmax"})(input));
  model.compile({.optimizer = "adam", .loss = "sparse_categorical_crossentropy", .metrics = {"acc"}});
  Blobs b = make_blobs(40, 2, 5);
  auto history = model.fit(b.x, b.y, {.epochs = 1, .verbose = 0, .validation_split = 0.25});
  const std::vector<std::string> expected = {"loss", "acc", "val_loss", "val_acc"};
  EXPECT_EQ(history.names(), expected);
}

TEST(Model, ValidationSplitTakesTheLastSamplesBeforeShuffling) {
  // Keras (data_adapter_utils.train_validation_split): split_at = floor(N * (1 - split));
  // the samples from split_at on validate. Make the last 25% unlearnable-looking (all class 1
  // at the class-0 position) and check the validation loss is computed on exactly those.
  auto model = small_classifier(2);
  Blobs b = make_blobs(40, 2, 9);
  rg::Tensor x_val = b.x.slice_rows(30, 40).clone(), y_val = b.y.slice_rows(30, 40).clone();
  auto h1 = model->fit(b.x, b.y, {.epochs = 1, .verbose = 0, .validation_split = 0.25, .shuffle = false});
  const double val_loss = h1["val_loss"].back();
  const double direct = model->evaluate(x_val, y_val, {.verbose = 0}).at("loss");
  EXPECT_NEAR(val_loss, direct, 1e-6);
  EXPECT_THROW(model->fit(b.x, b.y, {.verbose = 0, .validation_split = 1.0}), rg::ValueError);
  EXPECT_THROW(model->fit(b.x.slice_rows(0, 1), b.y.slice_rows(0, 1), {.verbose = 0, .validation_split = 0.5}), rg::ValueError);
}

TEST(Model, ClassWeightWithSampleWeightIsAnError) {
  // Keras: "You cannot `class_weight` and `sample_weight` at the same time."
  auto model = small_classifier(2);
  Blobs b = make_blobs(20, 2, 2);
  EXPECT_THROW(model->fit(b.x, b.y, {.verbose = 0, .class_weight = {{0, 2.0}}, .sample_weight = rg::Tensor({20}, 1.0f)}),
               rg::ValueError);
}

TEST(Model, ClassWeightsBecomeSampleWeightsMissingClassesWeighOne) {
  // Keras class_weight_to_sample_weights: weight = class_weight[class]; absent classes weigh 1;
  // one-hot labels go through argmax.
  rg::Tensor sparse({4}, std::vector<float>{0, 1, 2, 1});
  auto w = rg::training::class_weight_to_sample_weights(sparse, {{1, 5.0}});
  EXPECT_EQ(w, (std::vector<float>{1, 5, 1, 5}));
  rg::Tensor onehot({2, 3}, std::vector<float>{0, 0, 1, 1, 0, 0});
  EXPECT_EQ(rg::training::class_weight_to_sample_weights(onehot, {{2, 3.0}}), (std::vector<float>{3, 1}));
}

TEST(Model, SameSeedGivesBitwiseIdenticalWeights) {
  auto train_once = [] {
    rg::set_random_seed(42);
    rg::layers::reset_layer_names();
    auto input = rg::layers::Input({2});
    auto x = rg::layers::Dense(8, {.activation = "relu"})(input);
    x = rg::layers::Dropout(0.3)(x);
    rg::Model model(input, rg::layers::Dense(3, {.activation = "softmax"})(x));
    model.compile({.optimizer = "adam", .loss = "sparse_categorical_crossentropy"});
    Blobs b = make_blobs(64, 3, 4);
    model.fit(b.x, b.y, {.batch_size = 8, .epochs = 2, .verbose = 0});
    return model.get_weights();
  };
  const auto a = train_once();
  const auto b = train_once();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    for (int64_t k = 0; k < a[i].size(); ++k) ASSERT_EQ(a[i][k], b[i][k]);
}

TEST(Model, NanLossStopsNamingEpochAndBatch) {
  auto model = small_classifier(2);
  Blobs b = make_blobs(64, 2, 3);
  b.x[2 * 40] = std::nanf("");  // sample 40 → batch 2 when unshuffled with batch_size 32
  try {
    model->fit(b.x, b.y, {.batch_size = 32, .epochs = 1, .verbose = 0, .shuffle = false});
    FAIL();
  } catch (const rg::NumericalError& e) {
    EXPECT_NE(std::string(e.what()).find("epoch 1, batch 2"), std::string::npos) << e.what();
  }
}

TEST(Model, SetWeightsRefusesMisfitNamingLayerAndShapes) {
  auto model = small_classifier(2);
  auto w = model->get_weights();
  w[0] = rg::Tensor({3, 16});
  try {
    model->set_weights(w);
    FAIL();
  } catch (const rg::ShapeError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("kernel"), std::string::npos) << m;
    EXPECT_NE(m.find("(2, 16)"), std::string::npos) << m;
    EXPECT_NE(m.find("(3, 16)"), std::string::npos) << m;
  }
}

TEST(Progbar, FormatsValuesAndTimesAsKeras) {
  // Keras Progbar: "%.4f" when |v| > 1e-3, else "%.4e"; time per step in s, ms or us.
  EXPECT_EQ(rg::callbacks::ProgbarLogger::format_value(0.31234), "0.3123");
  EXPECT_EQ(rg::callbacks::ProgbarLogger::format_value(0.0001234), "1.2340e-04");
  EXPECT_EQ(rg::callbacks::ProgbarLogger::format_time_per_step(0.031), "31ms/step");
  EXPECT_EQ(rg::callbacks::ProgbarLogger::format_time_per_step(2.2), "2s/step");
  EXPECT_EQ(rg::callbacks::ProgbarLogger::format_time_per_step(0.00025), "250us/step");
}

TEST(Progbar, PrintsOneKerasLinePerEpochWhenNotATerminal) {
  std::FILE* out = std::tmpfile();
  rg::callbacks::ProgbarLogger bar(1, 3, 5, out);
  rg::callbacks::Logs logs;
  bar.on_epoch_begin(0, logs);
  for (int64_t b = 0; b < 5; ++b) bar.on_train_batch_end(b, logs);
  logs.set("loss", 0.5);
  logs.set("accuracy", 0.75);
  logs.set("val_loss", 0.625);
  logs.set("val_accuracy", 0.7);
  bar.on_epoch_end(0, logs);
  std::rewind(out);
  char buf[512] = {};
  const size_t n = std::fread(buf, 1, sizeof buf - 1, out);
  std::fclose(out);
  const std::string text(buf, n);
  EXPECT_EQ(text.rfind("Epoch 1/3\n5/5 [==============================] - 0s ", 0), 0u) << text;
  EXPECT_NE(text.find("/step - loss: 0.5000 - accuracy: 0.7500 - val_loss: 0.6250 - val_accuracy: 0.7000\n"),
            std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text;
}

TEST(Model, KernelConstraintIsAppliedAfterEveryUpdate) {
  // Keras applies a weight's constraint right after each optimizer step: with
  // kernel_constraint=MaxNorm(0.5), every column of the Dense kernel (axis 0: one norm per output
  // unit) ends each step with norm <= 0.5.
  auto input = rg::layers::Input({2});
  auto x = rg::layers::Dense(8, {.activation = "relu",
                                 .kernel_constraint = std::make_shared<rg::constraints::MaxNorm>(
                                     rg::constraints::MaxNormOptions{.max_value = 0.5})})(input);
  rg::Model model(input, rg::layers::Dense(3, {.activation = "softmax"})(x));
  model.compile({.optimizer = rg::optimizers::SGD({.learning_rate = 0.5}), .loss = "sparse_categorical_crossentropy"});
  Blobs b = make_blobs(64, 3, 8);
  model.fit(b.x, b.y, {.batch_size = 16, .epochs = 2, .verbose = 0});
  const rg::Tensor kernel = model.get_weights()[0];
  for (int64_t unit = 0; unit < 8; ++unit) {
    const double norm = std::hypot(kernel[unit], kernel[8 + unit]);
    EXPECT_LE(norm, 0.5 + 1e-6) << "unit " << unit;
  }
}

TEST(Model, LoggedLossIncludesTheActivityPenaltyDividedByBatchSize) {
  // Keras: activity_regularizer(output) / batch_size is added to the loss, and the `loss` in the
  // logs includes it. With a zero kernel and a bias of (1, 2) the output is (1, 2) for every
  // sample: penalty l2 · (1² + 2²) · N / N = 0.5 · 5; MSE against zeros = (1 + 4) / 2.
  auto input = rg::layers::Input({3});
  rg::Model model(input, rg::layers::Dense(2, {.kernel_initializer = "zeros", .activity_regularizer = rg::regularizers::l2(0.5)})(input));
  model.compile({.optimizer = rg::optimizers::SGD({.learning_rate = 0.0}), .loss = "mse"});
  auto w = model.get_weights();
  w[1] = rg::Tensor({2}, std::vector<float>{1, 2});
  model.set_weights(w);
  rg::Tensor x({4, 3}, 0.7f), y({4, 2});
  const auto logs = model.evaluate(x, y, {.batch_size = 4, .verbose = 0});
  EXPECT_NEAR(logs.at("loss"), 2.5 + 2.5, 1e-6);
  EXPECT_NEAR(model.train_on_batch(x, y), 5.0, 1e-6);
}

TEST(Model, ClassWeightedLossIsSumOfWeightedLossesOverN) {
  // Keras reduces weighted losses as Σ w_i·l_i / N (not / Σ w_i), metrics unweighted. A model
  // that outputs p = (0.5, 0.5) has l_i = ln 2 for every sample; with class_weight {1: 3}
  // and labels (0, 1, 1, 1): (1 + 3 + 3 + 3) · ln 2 / 4.
  auto input = rg::layers::Input({1});
  rg::Model model(input, rg::layers::Dense(2, {.activation = "softmax", .kernel_initializer = "zeros"})(input));
  model.compile({.optimizer = rg::optimizers::SGD({.learning_rate = 0.0}), .loss = "sparse_categorical_crossentropy"});
  rg::Tensor x({4, 1}, 1.0f), y({4}, std::vector<float>{0, 1, 1, 1});
  auto history = model.fit(x, y, {.batch_size = 4, .epochs = 1, .verbose = 0, .class_weight = {{1, 3.0}}});
  EXPECT_NEAR(history["loss"][0], 10.0 * std::log(2.0) / 4.0, 1e-5);
}

// Inference passes hand a layer's output buffer to later layers once its last reader has run. On a
// graph where outputs are read twice, far apart, and through a chain of views (Dense "pre" seen
// through Reshape then Flatten, read by the first Dense and again by the final Concatenate, with a
// skip connection into Add between), predictions must equal the layers applied one by one with
// every intermediate kept.
TEST(Model, InferenceBufferReuseKeepsEveryOutputUntilItsLastReader) {
  rg::set_random_seed(21);
  auto input = rg::layers::Input({32});
  auto pre = rg::layers::Dense(32, {.name = "pre"})(input);
  auto view = rg::layers::Reshape({4, 8}, {.name = "view"})(pre);
  auto flat = rg::layers::Flatten({.name = "flat"})(view);
  auto a = rg::layers::Dense(8, {.activation = "relu", .name = "a"})(flat);
  auto b = rg::layers::Dense(8, {.activation = "tanh", .name = "b"})(a);
  auto c = rg::layers::Dense(8, {.name = "c"})(b);
  auto sum = rg::layers::Add({.name = "sum"})({a, c});
  auto joined = rg::layers::Concatenate(-1, {.name = "joined"})({sum, flat});
  auto out = rg::layers::Dense(3, {.name = "out"})(joined);
  rg::Model model(input, out);

  rg::Tensor x({5, 32});
  rg::Rng rng(22);
  for (int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(rng.normal());
  const rg::layers::ForwardContext inference{.training = false, .step = 0};
  const auto apply = [&](const char* name, std::vector<const rg::Tensor*> inputs, const rg::Shape& shape) {
    rg::Tensor y(shape);
    model.get_layer(name).forward(inputs, y, inference);
    return y;
  };
  const rg::Tensor ypre = apply("pre", {&x}, {5, 32});
  const rg::Tensor xf = ypre.reshaped({5, 32});
  const rg::Tensor ya = apply("a", {&xf}, {5, 8});
  const rg::Tensor yb = apply("b", {&ya}, {5, 8});
  const rg::Tensor yc = apply("c", {&yb}, {5, 8});
  const rg::Tensor ys = apply("sum", {&ya, &yc}, {5, 8});
  const rg::Tensor yj = apply("joined", {&ys, &xf}, {5, 40});
  const rg::Tensor expected = apply("out", {&yj}, {5, 3});

  for (int pass = 0; pass < 3; ++pass) {  // later passes run on the reused buffers
    const rg::Tensor& predicted = model.predict_on_batch(x);
    ASSERT_EQ(predicted.shape(), expected.shape());
    for (int64_t i = 0; i < expected.size(); ++i) EXPECT_FLOAT_EQ(predicted[i], expected[i]) << "pass " << pass;
  }
}
