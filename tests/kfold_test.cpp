// KFold and StratifiedKFold against scikit-learn's rules (sklearn/model_selection/_split.py:
// _BaseKFold, KFold._iter_test_indices, StratifiedKFold._make_test_folds).

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "regula/data/kfold.hpp"
#include "regula/error.hpp"
#include "regula/utils/to_categorical.hpp"
#include "test_support.hpp"

namespace rg = regula;
using rg::data::Fold;
using rg::data::KFold;
using rg::data::StratifiedKFold;
using Indices = std::vector<int64_t>;
using regula::testing_support::error_message;

namespace {

rg::Tensor labels(const std::vector<int>& classes) {
  rg::Tensor y({static_cast<int64_t>(classes.size())});
  for (size_t i = 0; i < classes.size(); ++i) y[static_cast<int64_t>(i)] = static_cast<float>(classes[i]);
  return y;
}

std::vector<Indices> test_folds(const std::vector<Fold>& folds) {
  std::vector<Indices> tests;
  for (const Fold& fold : folds) tests.push_back(fold.test);
  return tests;
}

/// Each fold's train and test parts are disjoint, ascending and together cover 0..n-1, and every
/// sample is in exactly one test part.
void expect_partition(const std::vector<Fold>& folds, int64_t n) {
  std::vector<int> times_tested(static_cast<size_t>(n), 0);
  for (const Fold& fold : folds) {
    EXPECT_TRUE(std::is_sorted(fold.train.begin(), fold.train.end()));
    EXPECT_TRUE(std::is_sorted(fold.test.begin(), fold.test.end()));
    Indices all = fold.train;
    all.insert(all.end(), fold.test.begin(), fold.test.end());
    std::sort(all.begin(), all.end());
    ASSERT_EQ(static_cast<int64_t>(all.size()), n);
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(all[static_cast<size_t>(i)], i);
    for (const int64_t i : fold.test) ++times_tested[static_cast<size_t>(i)];
  }
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(times_tested[static_cast<size_t>(i)], 1) << "sample " << i;
}

std::map<int, int> class_counts(const rg::Tensor& y, const Indices& indices) {
  std::map<int, int> counts;
  for (const int64_t i : indices) ++counts[static_cast<int>(y[i])];
  return counts;
}

}  // namespace

TEST(KFold, FirstFoldsTakeTheRemainderAndTestFoldsAreConsecutiveWithoutShuffle) {
  // KFold: the first n % k folds have n // k + 1 samples, the others n // k; without shuffle the
  // test folds are consecutive runs of arange(n). n = 10, k = 3 → 4, 3, 3.
  const KFold kfold(3);
  const auto folds = kfold.split(10);
  ASSERT_EQ(folds.size(), 3u);
  EXPECT_EQ(test_folds(folds), (std::vector<Indices>{{0, 1, 2, 3}, {4, 5, 6}, {7, 8, 9}}));
  EXPECT_EQ(folds[1].train, (Indices{0, 1, 2, 3, 7, 8, 9}));
  expect_partition(folds, 10);
  EXPECT_EQ(kfold.get_n_splits(), 3);
}

TEST(KFold, DefaultIsFiveFoldsWithoutShuffle) {
  // KFold(n_splits=5, shuffle=False) since scikit-learn 0.22.
  const auto folds = KFold().split(12);
  EXPECT_EQ(KFold().get_n_splits(), 5);
  EXPECT_EQ(test_folds(folds), (std::vector<Indices>{{0, 1, 2}, {3, 4, 5}, {6, 7}, {8, 9}, {10, 11}}));
}

TEST(KFold, ShuffledFoldsPartitionTheSamplesWithTheSameSizes) {
  // KFold(shuffle=True): arange(n) is shuffled once, then cut the same way; each sample is tested once.
  const auto folds = KFold(3, true, 42).split(11);
  expect_partition(folds, 11);
  EXPECT_EQ(folds[0].test.size(), 4u);
  EXPECT_EQ(folds[1].test.size(), 4u);
  EXPECT_EQ(folds[2].test.size(), 3u);
  EXPECT_NE(test_folds(folds), test_folds(KFold(3).split(11))) << "shuffling should change the folds";
}

TEST(KFold, SameSeedGivesTheSameFoldsAndDifferentSeedsDiffer) {
  // random_state=int: reproducible output across calls of split.
  EXPECT_EQ(test_folds(KFold(4, true, 1).split(40)), test_folds(KFold(4, true, 1).split(40)));
  EXPECT_NE(test_folds(KFold(4, true, 1).split(40)), test_folds(KFold(4, true, 2).split(40)));
}

TEST(KFold, SplitsTheRowsOfATensor) {
  // KFold.split(X) uses _num_samples(X), the length of X's first axis.
  EXPECT_EQ(test_folds(KFold(2).split(rg::Tensor({4, 3}))), (std::vector<Indices>{{0, 1}, {2, 3}}));
}

TEST(KFold, RejectsFewerThanTwoSplits) {
  // _BaseKFold: "k-fold cross-validation requires at least one train/test split by setting n_splits=2 or more".
  const auto message = error_message<rg::ValueError>([] { KFold(1); });
  EXPECT_NE(message.find("n_splits=2 or more, got n_splits=1"), std::string::npos) << message;
}

TEST(KFold, RejectsMoreSplitsThanSamples) {
  // _BaseKFold.split: "Cannot have number of splits n_splits=… greater than the number of samples".
  const auto message = error_message<rg::ValueError>([] { KFold(5).split(3); });
  EXPECT_NE(message.find("n_splits=5 greater than the number of samples: n_samples=3"), std::string::npos) << message;
}

TEST(KFold, RejectsASeedWithoutShuffle) {
  // _BaseKFold: "Setting a random_state has no effect since shuffle is False".
  const auto message = error_message<rg::ValueError>([] { KFold(3, false, 7); });
  EXPECT_NE(message.find("seed=7 has no effect since shuffle is false"), std::string::npos) << message;
}

TEST(StratifiedKFold, AllocatesClassesRoundRobinOverTheSortedCodesInFirstAppearanceOrder) {
  // _make_test_folds: classes are encoded by first appearance (label 1 → 0, label 0 → 1 here);
  // allocation[i] = bincount(sorted codes[i::3]) over (0 0 0 0 1 1 1 1): fold 0 gets positions
  // 0, 3, 6 → (2, 1), fold 1 gets 1, 4, 7 → (1, 2), fold 2 gets 2, 5 → (1, 1). Class 0's members
  // (samples 0 2 4 6) take folds (0 0 1 2) in order, class 1's (1 3 5 7) take (0 1 1 2).
  const auto y = labels({1, 0, 1, 0, 1, 0, 1, 0});
  const auto folds = StratifiedKFold(3).split(y);
  EXPECT_EQ(test_folds(folds), (std::vector<Indices>{{0, 1, 2}, {3, 4, 5}, {6, 7}}));
  expect_partition(folds, 8);
}

TEST(StratifiedKFold, HandComputedClassCountsPerFold) {
  // _make_test_folds with y = (1 0 0 1 0 0 1 0 0 0), k = 3: codes label 1 → 0 (3 members),
  // label 0 → 1 (7); sorted codes 0 0 0 1 1 1 1 1 1 1; fold 0 gets positions 0 3 6 9 → label 1: 1,
  // label 0: 3; folds 1 and 2 get 1 and 2. Label 1's members 0 3 6 → folds 0 1 2; label 0's
  // members 1 2 4 5 7 8 9 → folds 0 0 0 1 1 2 2.
  const auto y = labels({1, 0, 0, 1, 0, 0, 1, 0, 0, 0});
  const auto folds = StratifiedKFold(3).split(y);
  EXPECT_EQ(test_folds(folds), (std::vector<Indices>{{0, 1, 2, 4}, {3, 5, 7}, {6, 8, 9}}));
  EXPECT_EQ(class_counts(y, folds[0].test), (std::map<int, int>{{0, 3}, {1, 1}}));
  EXPECT_EQ(class_counts(y, folds[1].test), (std::map<int, int>{{0, 2}, {1, 1}}));
  EXPECT_EQ(class_counts(y, folds[2].test), (std::map<int, int>{{0, 2}, {1, 1}}));
}

TEST(StratifiedKFold, ShuffleKeepsEachFoldsClassCountsButChangesItsMembers) {
  // _make_test_folds(shuffle=True): the allocation is the same; only each class's fold
  // assignment (folds_for_class) is shuffled. Test sizes still differ by at most one.
  std::vector<int> classes;
  for (int i = 0; i < 30; ++i) classes.push_back(i % 3 == 0 ? 2 : (i % 2));
  const auto y = labels(classes);
  const auto ordered = StratifiedKFold(4).split(y);
  const auto shuffled = StratifiedKFold(4, true, 3).split(y);
  expect_partition(shuffled, 30);
  for (size_t f = 0; f < 4; ++f) EXPECT_EQ(class_counts(y, shuffled[f].test), class_counts(y, ordered[f].test)) << "fold " << f;
  EXPECT_NE(test_folds(shuffled), test_folds(ordered));
  EXPECT_EQ(test_folds(shuffled), test_folds(StratifiedKFold(4, true, 3).split(y)));
  size_t smallest = 30, largest = 0;
  for (const Fold& fold : shuffled) {
    smallest = std::min(smallest, fold.test.size());
    largest = std::max(largest, fold.test.size());
  }
  EXPECT_LE(largest - smallest, 1u);
}

TEST(StratifiedKFold, OneHotLabelsGiveTheSameFoldsAsClassIndices) {
  // Each one-hot row is its class (scikit-learn would take class indices; regula accepts both).
  const auto y = labels({1, 0, 0, 1, 0, 0, 1, 0, 0, 0});
  EXPECT_EQ(test_folds(StratifiedKFold(3).split(rg::utils::to_categorical(y))), test_folds(StratifiedKFold(3).split(y)));
}

TEST(StratifiedKFold, RejectsMoreSplitsThanMembersInEveryClass) {
  // _make_test_folds: "n_splits=… cannot be greater than the number of members in each class".
  const auto message = error_message<rg::ValueError>([] { StratifiedKFold(4).split(labels({0, 0, 0, 1, 1, 1})); });
  EXPECT_NE(message.find("n_splits=4 cannot be greater than the number of members in each class"), std::string::npos)
      << message;
}

TEST(StratifiedKFold, WarnsWhenTheLeastPopulatedClassHasFewerMembersThanSplits) {
  // _make_test_folds: UserWarning "The least populated class in y has only … members, which is less than n_splits".
  testing::internal::CaptureStderr();
  const auto folds = StratifiedKFold(3).split(labels({0, 0, 0, 0, 0, 0, 1, 1}));
  const std::string warning = testing::internal::GetCapturedStderr();
  EXPECT_NE(warning.find("the least populated class in y has only 2 members, which is less than n_splits=3"),
            std::string::npos)
      << warning;
  expect_partition(folds, 8);
}

TEST(StratifiedKFold, RejectsBadSplitCountsSeedsAndLabels) {
  // _BaseKFold's checks apply to StratifiedKFold; y must hold class labels.
  auto message = error_message<rg::ValueError>([] { StratifiedKFold(1); });
  EXPECT_NE(message.find("StratifiedKFold: k-fold cross-validation requires at least one train/test split"), std::string::npos)
      << message;
  message = error_message<rg::ValueError>([] { StratifiedKFold(2, false, 1); });
  EXPECT_NE(message.find("has no effect since shuffle is false"), std::string::npos) << message;
  message = error_message<rg::ValueError>([] { StratifiedKFold(4).split(labels({0, 1, 0})); });
  EXPECT_NE(message.find("n_splits=4 greater than the number of samples: n_samples=3"), std::string::npos) << message;
  message = error_message<rg::ValueError>([] { StratifiedKFold(2).split(labels({0, 1, 2}).reshaped({1, 1, 3})); });
  EXPECT_NE(message.find("must be class indices (N), (N, 1) or one-hot rows (N, K)"), std::string::npos) << message;
}
