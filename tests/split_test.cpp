// train_test_split against scikit-learn's rules (sklearn/model_selection/_split.py:
// train_test_split, _validate_shuffle_split, ShuffleSplit, StratifiedShuffleSplit,
// sklearn.utils._approximate_mode).

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "regula/data/split.hpp"
#include "regula/error.hpp"
#include "regula/utils/random.hpp"
#include "regula/utils/to_categorical.hpp"
#include "test_support.hpp"

namespace rg = regula;
using rg::data::train_test_split;
using regula::testing_support::error_message;

namespace {

/// x (N, 1) holding each row's own index, so a part's rows name the samples it took.
rg::Tensor row_indices(int64_t n) {
  rg::Tensor x({n, 1});
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(i);
  return x;
}

/// Labels (N) from a list of classes.
rg::Tensor labels(const std::vector<int>& classes) {
  rg::Tensor y({static_cast<int64_t>(classes.size())});
  for (size_t i = 0; i < classes.size(); ++i) y[static_cast<int64_t>(i)] = static_cast<float>(classes[i]);
  return y;
}

/// `count` copies of `label` for each (label, count) pair, in that order.
std::vector<int> repeated(const std::vector<std::pair<int, int>>& label_counts) {
  std::vector<int> classes;
  for (const auto& [label, count] : label_counts) classes.insert(classes.end(), static_cast<size_t>(count), label);
  return classes;
}

std::vector<int64_t> as_indices(const rg::Tensor& part) {
  std::vector<int64_t> indices;
  for (int64_t i = 0; i < part.dim(0); ++i) indices.push_back(static_cast<int64_t>(part[i]));
  return indices;
}

std::map<int, int> class_counts(const rg::Tensor& y) {
  std::map<int, int> counts;
  for (int64_t i = 0; i < y.dim(0); ++i) ++counts[static_cast<int>(y[i])];
  return counts;
}

}  // namespace

TEST(TrainTestSplit, FractionalTestSizeRoundsTheTestPartUp) {
  // _validate_shuffle_split: float test_size → n_test = ceil(test_size · n), n_train = n − n_test.
  auto split = train_test_split(row_indices(10), labels(std::vector<int>(10, 0)), {.test_size = 0.25, .seed = 0});
  EXPECT_EQ(split.x_test.dim(0), 3);
  EXPECT_EQ(split.x_train.dim(0), 7);
  EXPECT_EQ(split.y_test.dim(0), 3);
  EXPECT_EQ(split.y_train.dim(0), 7);
}

TEST(TrainTestSplit, DefaultTestSizeIsAQuarter) {
  // train_test_split: test_size=None and train_size=None → test_size = 0.25.
  auto split = train_test_split(row_indices(10), labels(std::vector<int>(10, 0)), {.seed = 0});
  EXPECT_EQ(split.x_test.dim(0), 3);
  EXPECT_EQ(split.x_train.dim(0), 7);
}

TEST(TrainTestSplit, IntegerTestSizeIsACount) {
  // _validate_shuffle_split: int test_size → exactly that many test samples.
  auto split = train_test_split(row_indices(10), labels(std::vector<int>(10, 0)), {.test_size = 4, .seed = 0});
  EXPECT_EQ(split.x_test.dim(0), 4);
  EXPECT_EQ(split.x_train.dim(0), 6);
}

TEST(TrainTestSplit, FractionalTrainSizeRoundsDownAndTheTestPartIsItsComplement) {
  // _validate_shuffle_split: float train_size → floor(train_size · n); test_size=None → n − n_train.
  auto split = train_test_split(row_indices(10), labels(std::vector<int>(10, 0)), {.train_size = 0.55, .seed = 0});
  EXPECT_EQ(split.x_train.dim(0), 5);
  EXPECT_EQ(split.x_test.dim(0), 5);
}

TEST(TrainTestSplit, BothSizesSubsampleAndLeaveTheRestOut) {
  // ShuffleSplit: test = permutation[:n_test], train = permutation[n_test:n_test + n_train].
  auto split = train_test_split(row_indices(10), labels(std::vector<int>(10, 0)), {.test_size = 2, .train_size = 5, .seed = 3});
  EXPECT_EQ(split.x_test.dim(0), 2);
  EXPECT_EQ(split.x_train.dim(0), 5);
  std::vector<int64_t> used = as_indices(split.x_train);
  const std::vector<int64_t> test = as_indices(split.x_test);
  used.insert(used.end(), test.begin(), test.end());
  std::sort(used.begin(), used.end());
  EXPECT_EQ(std::unique(used.begin(), used.end()), used.end()) << "a sample is in both parts";
}

TEST(TrainTestSplit, WithoutShuffleTheFirstSamplesTrainAndTheNextTest) {
  // train_test_split(shuffle=False): train = arange(n_train), test = arange(n_train, n_train + n_test).
  auto split = train_test_split(row_indices(10), labels(std::vector<int>(10, 0)), {.test_size = 0.3, .shuffle = false});
  EXPECT_EQ(as_indices(split.x_train), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(as_indices(split.x_test), (std::vector<int64_t>{7, 8, 9}));
}

TEST(TrainTestSplit, ShuffledPartsTogetherArePermutationOfAllSamplesWithRowsKeptTogether) {
  // ShuffleSplit without train_size: test and train partition a permutation of every index; x and
  // y are indexed with the same indices (_safe_indexing(a, train) for every array).
  const int64_t n = 23;
  rg::Tensor y({n});
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(100 + i);
  auto split = train_test_split(row_indices(n), y, {.test_size = 0.3, .seed = 11});
  std::vector<int64_t> all = as_indices(split.x_train);
  const std::vector<int64_t> test = as_indices(split.x_test);
  all.insert(all.end(), test.begin(), test.end());
  std::vector<int64_t> sorted = all;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(sorted[static_cast<size_t>(i)], i);
  EXPECT_NE(all, sorted) << "a shuffled split should not keep the original order";
  for (int64_t i = 0; i < split.x_train.dim(0); ++i) EXPECT_EQ(split.y_train[i], 100.0f + split.x_train[i]);
  for (int64_t i = 0; i < split.x_test.dim(0); ++i) EXPECT_EQ(split.y_test[i], 100.0f + split.x_test[i]);
}

TEST(TrainTestSplit, SameSeedGivesTheSameSplitAndDifferentSeedsDiffer) {
  // random_state=int: reproducible output across calls; another int gives another permutation.
  const auto x = row_indices(50);
  const auto y = labels(std::vector<int>(50, 0));
  auto a = train_test_split(x, y, {.seed = 7});
  auto b = train_test_split(x, y, {.seed = 7});
  auto c = train_test_split(x, y, {.seed = 8});
  EXPECT_EQ(as_indices(a.x_test), as_indices(b.x_test));
  EXPECT_EQ(as_indices(a.x_train), as_indices(b.x_train));
  EXPECT_NE(as_indices(a.x_test), as_indices(c.x_test));
}

TEST(TrainTestSplit, UnsetSeedFollowsTheGlobalSeed) {
  // random_state=None draws from the global random state: reseeding reproduces the split.
  const auto x = row_indices(40);
  const auto y = labels(std::vector<int>(40, 0));
  rg::set_random_seed(123);
  auto a = train_test_split(x, y);
  rg::set_random_seed(123);
  auto b = train_test_split(x, y);
  EXPECT_EQ(as_indices(a.x_test), as_indices(b.x_test));
}

TEST(TrainTestSplit, StratifiedSplitKeepsClassProportionsExactly) {
  // StratifiedShuffleSplit: n_i = _approximate_mode(class_counts, n_train), then
  // t_i = _approximate_mode(class_counts − n_i, n_test). Counts (5, 3, 2), test_size=0.3:
  // n_test = 3, n_train = 7; 7 · (0.5, 0.3, 0.2) = (3.5, 2.1, 1.4) → floors (3, 2, 1) plus one
  // for the largest remainder (class 0) → train (4, 2, 1); what is left (1, 1, 1) → test (1, 1, 1).
  const auto y = labels(repeated({{0, 5}, {1, 3}, {2, 2}}));
  for (uint64_t seed : {0u, 1u, 2u}) {
    auto split = train_test_split(row_indices(10), y, {.test_size = 0.3, .seed = seed, .stratify = true});
    EXPECT_EQ(class_counts(split.y_train), (std::map<int, int>{{0, 4}, {1, 2}, {2, 1}}));
    EXPECT_EQ(class_counts(split.y_test), (std::map<int, int>{{0, 1}, {1, 1}, {2, 1}}));
  }
}

TEST(TrainTestSplit, StratifiedSplitOfTwoToOneClassesKeepsTheRatioInBothParts) {
  // StratifiedShuffleSplit: counts (8, 4), test_size=0.25 → n_test 3, n_train 9;
  // 9 · (2/3, 1/3) = (6, 3) train, the rest (2, 1) test.
  const auto y = labels(repeated({{1, 4}, {0, 8}}));
  auto split = train_test_split(row_indices(12), y, {.seed = 5, .stratify = true});
  EXPECT_EQ(class_counts(split.y_train), (std::map<int, int>{{0, 6}, {1, 3}}));
  EXPECT_EQ(class_counts(split.y_test), (std::map<int, int>{{0, 2}, {1, 1}}));
  for (int64_t i = 0; i < split.x_test.dim(0); ++i)
    EXPECT_EQ(split.y_test[i], y[static_cast<int64_t>(split.x_test[i])]) << "x and y rows must stay together";
}

TEST(TrainTestSplit, StratifiesOneHotLabelsByClass) {
  // StratifiedShuffleSplit on 2-D y: each distinct row is a class (one-hot rows = their class).
  const auto y = rg::utils::to_categorical(labels(repeated({{0, 5}, {1, 3}, {2, 2}})));
  auto split = train_test_split(row_indices(10), y, {.test_size = 0.3, .seed = 4, .stratify = true});
  ASSERT_EQ(split.y_test.shape(), rg::Shape({3, 3}));
  for (int64_t c = 0; c < 3; ++c) {
    float in_test = 0.0f;
    for (int64_t i = 0; i < 3; ++i) in_test += split.y_test[i * 3 + c];
    EXPECT_EQ(in_test, 1.0f) << "class " << c;
  }
}

TEST(TrainTestSplit, RejectsXAndYOfDifferentLengthsNamingBoth) {
  // indexable / check_consistent_length: every array needs the same number of samples.
  const auto message =
      error_message<rg::ValueError>([] { train_test_split(row_indices(10), labels(std::vector<int>(9, 0))); });
  EXPECT_NE(message.find("x has 10 samples but y has 9"), std::string::npos) << message;
}

TEST(TrainTestSplit, RejectsSizesOutsideTheAllowedRanges) {
  // _validate_shuffle_split: a float must lie in (0, 1); an int must be positive and smaller than n.
  const auto x = row_indices(10);
  const auto y = labels(std::vector<int>(10, 0));
  const std::vector<std::pair<rg::data::TrainTestSplitOptions, std::string>> cases = {
      {{.test_size = 1.5}, "test_size=1.5"},   {{.test_size = 0.0}, "test_size=0.0"},
      {{.test_size = 1.0}, "test_size=1.0"},     {{.test_size = 10}, "test_size=10"},
      {{.test_size = 0}, "test_size=0"},       {{.test_size = -2}, "test_size=-2"},
      {{.train_size = 1.0}, "train_size=1.0"},   {{.train_size = 11}, "train_size=11"},
  };
  for (const auto& [options, expected] : cases) {
    const auto message = error_message<rg::ValueError>([&] { train_test_split(x, y, options); });
    EXPECT_NE(message.find(expected), std::string::npos) << message;
    EXPECT_NE(message.find("a fraction in the (0, 1) range"), std::string::npos) << message;
    EXPECT_NE(message.find("[1, 10)"), std::string::npos) << message;
  }
}

TEST(TrainTestSplit, RejectsSizesThatAddUpToMoreThanTheData) {
  // _validate_shuffle_split: float sizes must sum to at most 1; n_train + n_test must not exceed n.
  const auto x = row_indices(10);
  const auto y = labels(std::vector<int>(10, 0));
  auto message = error_message<rg::ValueError>([&] { train_test_split(x, y, {.test_size = 0.5, .train_size = 0.7}); });
  EXPECT_NE(message.find("the sum of test_size and train_size = 1.2"), std::string::npos) << message;
  message = error_message<rg::ValueError>([&] { train_test_split(x, y, {.test_size = 6, .train_size = 5}); });
  EXPECT_NE(message.find("= 11, should be smaller than the number of samples 10"), std::string::npos) << message;
}

TEST(TrainTestSplit, RejectsASplitThatLeavesTheTrainPartEmpty) {
  // _validate_shuffle_split: "the resulting train set will be empty" (n=1, test_size=0.25 → 1 test, 0 train).
  const auto message = error_message<rg::ValueError>([] { train_test_split(row_indices(1), labels({0})); });
  EXPECT_NE(message.find("with n_samples=1, test_size=0.25 and train_size=None, the resulting train set will be empty"),
            std::string::npos)
      << message;
}

TEST(TrainTestSplit, RejectsStratifyWithoutShuffle) {
  // train_test_split: "Stratified train/test split is not implemented for shuffle=False".
  const auto message = error_message<rg::ValueError>(
      [] { train_test_split(row_indices(10), labels(repeated({{0, 5}, {1, 5}})), {.shuffle = false, .stratify = true}); });
  EXPECT_NE(message.find("not implemented for shuffle=false"), std::string::npos) << message;
}

TEST(TrainTestSplit, RejectsStratifyWithAClassOfOneMember) {
  // StratifiedShuffleSplit: min(class_counts) < 2 → "The least populated class in y has only 1 member".
  const auto message = error_message<rg::ValueError>(
      [] { train_test_split(row_indices(10), labels(repeated({{0, 6}, {1, 3}, {2, 1}})), {.stratify = true}); });
  EXPECT_NE(message.find("the least populated class in y has only 1 member, which is too few"), std::string::npos) << message;
}

TEST(TrainTestSplit, RejectsStratifyWhenAPartIsSmallerThanTheNumberOfClasses) {
  // StratifiedShuffleSplit: n_test (and n_train) must be at least the number of classes.
  const auto x = row_indices(10);
  const auto y = labels(repeated({{0, 4}, {1, 4}, {2, 2}}));
  auto message = error_message<rg::ValueError>([&] { train_test_split(x, y, {.test_size = 2, .stratify = true}); });
  EXPECT_NE(message.find("the test_size = 2 should be greater or equal to the number of classes = 3"), std::string::npos)
      << message;
  message = error_message<rg::ValueError>([&] { train_test_split(x, y, {.train_size = 2, .stratify = true}); });
  EXPECT_NE(message.find("the train_size = 2 should be greater or equal to the number of classes = 3"), std::string::npos)
      << message;
}

TEST(TrainTestSplit, RejectsStratifyByLabelsThatAreNotClassIndices) {
  // StratifiedShuffleSplit needs class labels; regula's labels are integer class indices or one-hot rows.
  rg::Tensor y = labels(repeated({{0, 5}, {1, 5}}));
  y[3] = 0.5f;
  const auto message = error_message<rg::ValueError>([&] { train_test_split(row_indices(10), y, {.stratify = true}); });
  EXPECT_NE(message.find("label 0.5 of sample 3 is not an integer class index"), std::string::npos) << message;
}
