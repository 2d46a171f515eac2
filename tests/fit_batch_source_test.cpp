// Model::fit and evaluate on a batch source (Keras's fit(generator)): steps_per_epoch over an
// endless stream, class_weight per batch, validation from a source, and the checks.

#include <gtest/gtest.h>

#include <vector>

#include "regula/regula.hpp"

namespace rg = regula;
namespace pp = regula::preprocessing;

namespace {

struct Images {
  rg::Tensor x, y;
};

/// 40 random 4x4 images in 2 classes.
Images images(uint64_t seed) {
  rg::Rng rng(seed);
  Images d{rg::Tensor({40, 4, 4, 1}), rg::Tensor({40})};
  for (int64_t i = 0; i < d.x.size(); ++i) d.x[i] = static_cast<float>(rng.uniform());
  for (int64_t i = 0; i < 40; ++i) d.y[i] = static_cast<float>(i % 2);
  return d;
}

std::unique_ptr<rg::Model> tiny_model() {
  auto input = rg::layers::Input({4, 4, 1});
  auto x = rg::layers::Flatten()(input);
  auto out = rg::layers::Dense(2, {.activation = "softmax"})(x);
  auto model = std::make_unique<rg::Model>(input, out);
  model->compile({.optimizer = "sgd", .loss = "sparse_categorical_crossentropy", .metrics = {"accuracy"}});
  return model;
}

std::vector<float> flat_weights(const rg::Model& model) {
  std::vector<float> all;
  for (const rg::Tensor& w : model.get_weights()) all.insert(all.end(), w.data(), w.data() + w.size());
  return all;
}

/// Counts batches in a BatchCounter callback.
struct BatchCounter : rg::callbacks::Callback {
  int batches = 0;
  void on_train_batch_end(int64_t, rg::callbacks::Logs&) override { ++batches; }
};

}  // namespace

TEST(FitBatchSource, AnIdentityGeneratorTrainsExactlyLikeTheArrays) {
  // Keras: an ImageDataGenerator with no options yields the data unchanged, so fit on
  // flow(x, y, shuffle=False) equals fit on (x, y) with shuffle=False.
  const Images d = images(1);
  rg::set_random_seed(4);
  auto a = tiny_model();
  a->fit(d.x, d.y, {.batch_size = 8, .epochs = 2, .verbose = 0, .shuffle = false});
  rg::set_random_seed(4);
  auto b = tiny_model();
  b->fit(pp::ImageDataGenerator().flow(d.x, d.y, {.batch_size = 8, .shuffle = false}), {.epochs = 2, .verbose = 0});
  EXPECT_EQ(flat_weights(*a), flat_weights(*b));
}

TEST(FitBatchSource, FewerStepsThanAPassContinueTheStreamInTheNextEpoch) {
  // Keras 2's fit_generator over a Sequence: the stream is not restarted between epochs, so with
  // steps_per_epoch = 3 of a 5-batch pass, epoch 2 takes batches 4, 5 and then pass 2's first.
  const Images d = images(2);
  auto model = tiny_model();
  auto it = pp::ImageDataGenerator().flow(d.x, d.y, {.batch_size = 8, .seed = 9});
  BatchCounter counter;
  model->fit(it, {.epochs = 2, .verbose = 0, .callbacks = {&counter}, .steps_per_epoch = 3});
  EXPECT_EQ(counter.batches, 6);
  rg::data::Batch next;
  it.next(next);  // the 7th batch of the stream: pass 1, batch 1
  const rg::data::Batch expected = it.batch_at(1, 1);
  EXPECT_EQ(std::vector<float>(next.y.data(), next.y.data() + next.y.size()),
            std::vector<float>(expected.y.data(), expected.y.data() + expected.y.size()));
}

TEST(FitBatchSource, MoreStepsThanAPassRunOnIntoTheNextPass) {
  // Keras 2: with steps_per_epoch larger than len(sequence), the epoch runs into the next pass.
  const Images d = images(3);
  auto model = tiny_model();
  auto it = pp::ImageDataGenerator().flow(d.x, d.y, {.batch_size = 8, .seed = 9});
  BatchCounter counter;
  model->fit(it, {.epochs = 1, .verbose = 0, .callbacks = {&counter}, .steps_per_epoch = 7});
  EXPECT_EQ(counter.batches, 7);
}

TEST(FitBatchSource, ClassWeightWeighsEachBatchByItsLabels) {
  // Keras: class_weight gives each sample the weight of its class; the same as passing those
  // weights as sample weights.
  const Images d = images(4);
  rg::Tensor w({40});
  for (int64_t i = 0; i < 40; ++i) w[i] = d.y[i] == 1.0f ? 3.0f : 0.5f;
  rg::set_random_seed(8);
  auto a = tiny_model();
  a->fit(pp::ImageDataGenerator().flow(d.x, d.y, {.batch_size = 8, .seed = 1}),
         {.epochs = 2, .verbose = 0, .class_weight = {{0, 0.5}, {1, 3.0}}});
  rg::set_random_seed(8);
  auto b = tiny_model();
  b->fit(pp::ImageDataGenerator().flow(d.x, d.y, {.batch_size = 8, .seed = 1, .sample_weight = w}), {.epochs = 2, .verbose = 0});
  EXPECT_EQ(flat_weights(*a), flat_weights(*b));
  // Both at once is Keras's error.
  auto c = tiny_model();
  EXPECT_THROW(c->fit(pp::ImageDataGenerator().flow(d.x, d.y, {.sample_weight = w}),
                      {.verbose = 0, .class_weight = {{0, 1.0}}}),
               rg::ValueError);
}

TEST(FitBatchSource, ValidationFromASourceEqualsEvaluateOnTheArrays) {
  const Images d = images(5);
  auto model = tiny_model();
  auto validation = pp::ImageDataGenerator().flow(d.x, d.y, {.batch_size = 16, .shuffle = false});
  const auto history = model->fit(pp::ImageDataGenerator().flow(d.x, d.y, {.batch_size = 8, .seed = 2}),
                                  {.epochs = 1, .verbose = 0, .validation_data = rg::ValidationData{.source = &validation}});
  const double direct = model->evaluate(d.x, d.y, {.batch_size = 16, .verbose = 0}).at("loss");
  EXPECT_NEAR(history["val_loss"].back(), direct, 1e-6);
  EXPECT_NEAR(model->evaluate(validation, {.verbose = 0}).at("loss"), direct, 1e-6);
}

TEST(FitBatchSource, ArrayOnlyOptionsAndMisfitSourcesAreRefused) {
  // Keras: validation_split and sample_weight are for arrays only.
  const Images d = images(6);
  auto model = tiny_model();
  auto it = pp::ImageDataGenerator().flow(d.x, d.y);
  EXPECT_THROW(model->fit(it, {.verbose = 0, .validation_split = 0.2}), rg::ValueError);
  EXPECT_THROW(model->fit(it, {.verbose = 0, .sample_weight = rg::Tensor({40})}), rg::ValueError);
  const rg::Tensor wrong({10, 5, 5, 1});
  EXPECT_THROW(model->fit(pp::ImageDataGenerator().flow(wrong, rg::Tensor({10})), {.verbose = 0}), rg::ShapeError);
}
