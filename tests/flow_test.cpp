// ImageDataGenerator::flow: Keras's iterator rules (batches per pass, shuffling per pass, subsets,
// checks) and regula's guarantee that prefetching workers never change the stream.

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <vector>

#include "regula/regula.hpp"

namespace rg = regula;
namespace pp = regula::preprocessing;

namespace {

/// n images (n, 6, 6, 1) whose pixels all equal the sample's index, and labels y = index.
struct Indexed {
  rg::Tensor x, y;
};

Indexed indexed_images(int64_t n) {
  Indexed d{rg::Tensor({n, 6, 6, 1}), rg::Tensor({n})};
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t p = 0; p < 36; ++p) d.x[i * 36 + p] = static_cast<float>(i);
    d.y[i] = static_cast<float>(i);
  }
  return d;
}

/// Random images with structure, so that a random transform visibly changes them.
rg::Tensor random_images(int64_t n, uint64_t seed) {
  rg::Rng rng(seed);
  rg::Tensor x({n, 8, 8, 1});
  for (int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(rng.uniform());
  return x;
}

std::vector<float> values(const rg::Tensor& t) { return {t.data(), t.data() + t.size()}; }

pp::ImageDataGenerator augmenting() {
  return pp::ImageDataGenerator({.rotation_range = 10, .width_shift_range = 0.1, .height_shift_range = 0.1,
                                 .zoom_range = 0.2, .horizontal_flip = true});
}

}  // namespace

TEST(Flow, BatchesPerPassIsCeilOfSamplesOverBatchSizeAndTheLastBatchIsPartial) {
  // Keras: len(iterator) = ceil(n / batch_size); the last batch holds the remainder.
  const Indexed d = indexed_images(10);
  auto it = pp::ImageDataGenerator().flow(d.x, d.y, {.batch_size = 4, .shuffle = false});
  EXPECT_EQ(it.batches_per_pass(), 3);
  EXPECT_EQ(it.samples(), 10);
  rg::data::Batch b;
  std::vector<float> seen;
  for (int k = 0; k < 3; ++k) {
    it.next(b);
    EXPECT_EQ(b.x.dim(0), k < 2 ? 4 : 2);
    for (float v : values(b.y)) seen.push_back(v);
  }
  // Without shuffle and without augmentation the data comes back unchanged and in order.
  EXPECT_EQ(seen, (std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(b.x[0], 8.0f);
  EXPECT_TRUE(b.sample_weight.empty());
}

TEST(Flow, EachPassIsANewPermutationOfAllSamples) {
  // Keras's Iterator reshuffles its index array at the start of every pass (on_epoch_end).
  const Indexed d = indexed_images(50);
  auto it = pp::ImageDataGenerator().flow(d.x, d.y, {.batch_size = 8, .seed = 3});
  rg::data::Batch b;
  std::vector<std::vector<float>> passes(3);
  for (auto& pass : passes)
    for (int64_t k = 0; k < it.batches_per_pass(); ++k) {
      it.next(b);
      for (float v : values(b.y)) pass.push_back(v);
    }
  for (auto pass : passes) {
    ASSERT_EQ(pass.size(), 50u);
    std::sort(pass.begin(), pass.end());
    for (int i = 0; i < 50; ++i) EXPECT_EQ(pass[static_cast<size_t>(i)], static_cast<float>(i));
  }
  EXPECT_NE(passes[0], passes[1]);
  EXPECT_NE(passes[1], passes[2]);
}

TEST(Flow, TheStreamIsTheSameForAnyNumberOfWorkersAndEqualsBatchAt) {
  // regula's rule: the transform of the sample at position j of pass p depends only on (seed, p, j).
  const rg::Tensor x = random_images(21, 1);
  rg::Tensor y({21});
  const pp::ImageDataGenerator generator = augmenting();
  std::vector<std::vector<float>> streams;
  for (int workers : {0, 1, 3}) {
    auto it = generator.flow(x, y, {.batch_size = 5, .seed = 11, .workers = workers, .max_queue_size = 2});
    std::vector<float> stream;
    rg::data::Batch b;
    for (int k = 0; k < 12; ++k) {  // 2.4 passes of 5 batches
      it.next(b);
      const rg::data::Batch direct = it.batch_at(k % 5, k / 5);
      ASSERT_EQ(values(b.x), values(direct.x)) << "workers " << workers << ", batch " << k;
      for (float v : values(b.x)) stream.push_back(v);
    }
    streams.push_back(stream);
  }
  EXPECT_EQ(streams[0], streams[1]);
  EXPECT_EQ(streams[0], streams[2]);
  // The augmentation did something: the first batch differs from the raw images it was drawn from.
  auto it = generator.flow(x, y, {.batch_size = 5, .shuffle = false, .seed = 11});
  EXPECT_NE(values(it.batch_at(0).x), values(x.slice_rows(0, 5)));
}

TEST(Flow, SameSeedSameBatchesOtherSeedOtherBatches) {
  const rg::Tensor x = random_images(12, 2);
  const pp::ImageDataGenerator generator = augmenting();
  auto a = generator.flow(x, {.batch_size = 4, .seed = 5});
  auto b = generator.flow(x, {.batch_size = 4, .seed = 5});
  auto c = generator.flow(x, {.batch_size = 4, .seed = 6});
  EXPECT_EQ(values(a.batch_at(1).x), values(b.batch_at(1).x));
  EXPECT_NE(values(a.batch_at(1).x), values(c.batch_at(1).x));
}

TEST(Flow, ResetRestartsTheStream) {
  const rg::Tensor x = random_images(12, 3);
  auto it = augmenting().flow(x, {.batch_size = 4, .seed = 1});
  rg::data::Batch first, again;
  it.next(first);
  const std::vector<float> kept = values(first.x);
  it.next(first);
  it.reset();
  it.next(again);
  EXPECT_EQ(values(again.x), kept);
}

TEST(Flow, SubsetValidationTakesTheFirstSplitOfTheSamples) {
  // Keras: split_idx = int(n · validation_split); "validation" is x[:split_idx], "training" the rest.
  Indexed d = indexed_images(10);
  for (int64_t i = 0; i < 10; ++i) d.y[i] = static_cast<float>(i % 2);  // both parts hold labels {0, 1}
  const pp::ImageDataGenerator generator({.validation_split = 0.3});
  auto validation = generator.flow(d.x, d.y, {.batch_size = 10, .shuffle = false, .subset = "validation"});
  auto training = generator.flow(d.x, d.y, {.batch_size = 10, .shuffle = false, .subset = "training"});
  EXPECT_EQ(validation.samples(), 3);
  EXPECT_EQ(training.samples(), 7);
  EXPECT_EQ(validation.batch_at(0).x[0], 0.0f);
  EXPECT_EQ(training.batch_at(0).x[0], 3.0f);
}

TEST(Flow, SubsetsWithDifferentLabelValuesAreRefused) {
  // Keras raises when the training and validation parts hold different classes (sorted data).
  const Indexed d = indexed_images(10);  // y = 0..9: the parts share no label
  const pp::ImageDataGenerator generator({.validation_split = 0.3});
  try {
    (void)generator.flow(d.x, d.y, {.subset = "training"});
    FAIL() << "expected ValueError";
  } catch (const rg::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("different label values"), std::string::npos) << e.what();
  }
}

TEST(Flow, BadArgumentsAreClearErrors) {
  const Indexed d = indexed_images(6);
  const pp::ImageDataGenerator plain;
  auto message = [](auto&& call) {
    try {
      call();
    } catch (const rg::ValueError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([&] { (void)plain.flow(d.x.reshaped({6, 6, 6}), d.y); }).find("rank 4"), std::string::npos);
  EXPECT_NE(message([&] { (void)plain.flow(d.x, d.y.slice_rows(0, 5)); }).find("same length"), std::string::npos);
  EXPECT_NE(message([&] { (void)plain.flow(d.x, d.y, {.sample_weight = rg::Tensor({5})}); }).find("sample_weight"),
            std::string::npos);
  EXPECT_NE(message([&] { (void)plain.flow(d.x, d.y, {.subset = "test"}); }).find("\"training\" or \"validation\""),
            std::string::npos);
  EXPECT_NE(message([&] { (void)plain.flow(d.x, d.y, {.subset = "validation"}); }).find("validation_split"), std::string::npos);
  EXPECT_NE(message([&] { (void)plain.flow(d.x, d.y, {.batch_size = 0}); }).find("batch_size"), std::string::npos);
  EXPECT_NE(message([&] { (void)plain.flow(d.x, d.y, {.workers = -1}); }).find("workers"), std::string::npos);
}

TEST(Flow, SampleWeightsComeWithTheirSamples) {
  const Indexed d = indexed_images(9);
  rg::Tensor w({9});
  for (int64_t i = 0; i < 9; ++i) w[i] = 10.0f * static_cast<float>(i);
  auto it = pp::ImageDataGenerator().flow(d.x, d.y, {.batch_size = 4, .seed = 2, .sample_weight = w});
  rg::data::Batch b;
  for (int k = 0; k < 3; ++k) {
    it.next(b);
    for (int64_t i = 0; i < b.y.size(); ++i) EXPECT_EQ(b.sample_weight[i], 10.0f * b.y[i]);
  }
}
