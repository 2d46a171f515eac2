// KFold and StratifiedKFold with scikit-learn's rules (_BaseKFold's checks, KFold's fold sizes,
// StratifiedKFold._make_test_folds's allocation).

#include "regula/data/kfold.hpp"

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "regula/error.hpp"
#include "regula/utils/random.hpp"
#include "src/data/class_labels.hpp"

namespace regula::data {
namespace {

/// _BaseKFold's constructor checks.
void check_arguments(const char* splitter, int n_splits, bool shuffle, const std::optional<uint64_t>& seed) {
  if (n_splits < 2)
    throw ValueError(fmt::format("{}: k-fold cross-validation requires at least one train/test split by setting "
                                 "n_splits=2 or more, got n_splits={}",
                                 splitter, n_splits));
  if (!shuffle && seed)
    throw ValueError(fmt::format("{}: seed={} has no effect since shuffle is false; leave seed unset, or set "
                                 "shuffle=true",
                                 splitter, *seed));
}

/// _BaseKFold.split's check.
void check_enough_samples(const char* splitter, int n_splits, int64_t n_samples) {
  if (n_splits > n_samples)
    throw ValueError(fmt::format("{}: cannot have number of splits n_splits={} greater than the number of samples: "
                                 "n_samples={}",
                                 splitter, n_splits, n_samples));
}

/// 0, 1, …, n − 1.
std::vector<int64_t> identity(int64_t n) {
  std::vector<int64_t> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) values[static_cast<size_t>(i)] = i;
  return values;
}

Rng make_rng(const std::optional<uint64_t>& seed) { return seed ? Rng(*seed) : Rng::from_global_seed(); }

/// The folds given each sample's test fold: fold f tests the samples assigned to f and trains
/// on the others, both in ascending order (scikit's boolean-mask indexing).
std::vector<Fold> folds_from_assignment(const std::vector<int>& test_fold_of_sample, int n_splits) {
  std::vector<Fold> folds(static_cast<size_t>(n_splits));
  for (size_t i = 0; i < test_fold_of_sample.size(); ++i) {
    const auto sample = static_cast<int64_t>(i);
    for (int f = 0; f < n_splits; ++f)
      (test_fold_of_sample[i] == f ? folds[static_cast<size_t>(f)].test : folds[static_cast<size_t>(f)].train).push_back(sample);
  }
  return folds;
}

}  // namespace

KFold::KFold(int n_splits, bool shuffle, std::optional<uint64_t> seed)
    : n_splits_(n_splits), shuffle_(shuffle), seed_(seed) {
  check_arguments("KFold", n_splits, shuffle, seed);
}

std::vector<Fold> KFold::split(int64_t n_samples) const {
  check_enough_samples("KFold", n_splits_, n_samples);
  const std::vector<int64_t> order = shuffle_ ? make_rng(seed_).permutation(n_samples) : identity(n_samples);

  // The first n_samples % n_splits folds take one sample more.
  std::vector<int> test_fold_of_sample(static_cast<size_t>(n_samples));
  const int64_t base_size = n_samples / n_splits_;
  const int64_t larger_folds = n_samples % n_splits_;
  int64_t position = 0;
  for (int f = 0; f < n_splits_; ++f) {
    const int64_t fold_size = base_size + (f < larger_folds ? 1 : 0);
    for (int64_t j = 0; j < fold_size; ++j, ++position) test_fold_of_sample[static_cast<size_t>(order[static_cast<size_t>(position)])] = f;
  }
  return folds_from_assignment(test_fold_of_sample, n_splits_);
}

std::vector<Fold> KFold::split(const Tensor& x) const {
  if (x.rank() == 0) throw ValueError("KFold: the data has no sample axis (shape " + x.shape().to_string() + ")");
  return split(x.dim(0));
}

StratifiedKFold::StratifiedKFold(int n_splits, bool shuffle, std::optional<uint64_t> seed)
    : n_splits_(n_splits), shuffle_(shuffle), seed_(seed) {
  check_arguments("StratifiedKFold", n_splits, shuffle, seed);
}

std::vector<Fold> StratifiedKFold::split(const Tensor& y) const {
  const char* splitter = "StratifiedKFold";
  const detail::ClassLabels labels = detail::decode_class_labels(y, splitter, detail::ClassOrder::first_appearance);
  check_enough_samples(splitter, n_splits_, labels.n_samples());
  const bool every_class_too_small =
      std::all_of(labels.counts.begin(), labels.counts.end(), [&](int64_t count) { return n_splits_ > count; });
  if (every_class_too_small)
    throw ValueError(fmt::format("{}: n_splits={} cannot be greater than the number of members in each class "
                                 "(the largest class has {})",
                                 splitter, n_splits_, *std::max_element(labels.counts.begin(), labels.counts.end())));
  if (n_splits_ > labels.min_count())
    std::fprintf(stderr, "%s: warning: the least populated class in y has only %lld members, which is less than n_splits=%d.\n",
                 splitter, static_cast<long long>(labels.min_count()), n_splits_);

  // allocation[f][k]: how many members of class k fold f tests. Dealing the sorted codes
  // round-robin, fold f receives positions f, f + n_splits, … of the sorted order.
  const auto n_classes = static_cast<size_t>(labels.n_classes());
  std::vector<std::vector<int64_t>> allocation(static_cast<size_t>(n_splits_), std::vector<int64_t>(n_classes, 0));
  int64_t position = 0;
  for (size_t k = 0; k < n_classes; ++k)
    for (int64_t j = 0; j < labels.counts[k]; ++j, ++position) ++allocation[static_cast<size_t>(position % n_splits_)][k];

  // Each class's members, in order, fill fold 0's share, then fold 1's, …; with shuffle, the
  // j-th member of class k takes entry order[k][j] of that list instead of entry j.
  std::vector<std::vector<int>> folds_for_class(n_classes);
  std::vector<std::vector<int64_t>> order(n_classes);
  std::optional<Rng> rng;
  if (shuffle_) rng.emplace(make_rng(seed_));
  for (size_t k = 0; k < n_classes; ++k) {
    for (int f = 0; f < n_splits_; ++f)
      folds_for_class[k].insert(folds_for_class[k].end(), static_cast<size_t>(allocation[static_cast<size_t>(f)][k]), f);
    order[k] = rng ? rng->permutation(labels.counts[k]) : identity(labels.counts[k]);
  }
  std::vector<int> test_fold_of_sample(static_cast<size_t>(labels.n_samples()));
  std::vector<size_t> next_of_class(n_classes, 0);
  for (size_t i = 0; i < test_fold_of_sample.size(); ++i) {
    const auto k = static_cast<size_t>(labels.codes[i]);
    test_fold_of_sample[i] = folds_for_class[k][static_cast<size_t>(order[k][next_of_class[k]++])];
  }
  return folds_from_assignment(test_fold_of_sample, n_splits_);
}

}  // namespace regula::data
