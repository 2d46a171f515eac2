#pragma once
/// @file
/// K-fold cross-validation splitters. Equivalents: scikit-learn's
/// `sklearn.model_selection.KFold` and `StratifiedKFold`, with the same fold sizes, order and
/// class allocation. Each fold holds the indices of its training and its held-out (test) samples;
/// `training::cross_validate` trains and scores a model on each.
///
/// ```cpp
/// data::StratifiedKFold cv(5, /*shuffle=*/true, /*seed=*/0);
/// for (const data::Fold& fold : cv.split(y)) {
///   Tensor x_train = gather_rows(x, fold.train), x_test = gather_rows(x, fold.test);
///   ...
/// }
/// ```

#include <cstdint>
#include <optional>
#include <vector>

#include "regula/tensor/tensor.hpp"

namespace regula::data {

/// One train / test split of sample indices; both lists ascending, disjoint, together every
/// sample once.
struct Fold {
  std::vector<int64_t> train;
  std::vector<int64_t> test;
};

/// K-fold splitter (scikit-learn's `KFold`): the samples, in order or shuffled once, are cut
/// into `n_splits` consecutive test folds; the first n_samples % n_splits folds have
/// n_samples / n_splits + 1 samples, the others n_samples / n_splits. Each fold's train part is
/// every other sample.
///
/// Throws ValueError for n_splits < 2, for a seed given with shuffle=false (it would have no
/// effect, as scikit-learn rejects random_state then), and from `split` for more folds than
/// samples.
class KFold {
 public:
  /// `seed`: the shuffle's seed (scikit's random_state); unset draws it from regula's global
  /// seed at each `split`.
  explicit KFold(int n_splits = 5, bool shuffle = false, std::optional<uint64_t> seed = std::nullopt);

  /// The folds of `n_samples` samples, in order.
  std::vector<Fold> split(int64_t n_samples) const;
  /// The folds of the rows (first axis) of `x`.
  std::vector<Fold> split(const Tensor& x) const;
  int get_n_splits() const { return n_splits_; }

 private:
  int n_splits_;
  bool shuffle_;
  std::optional<uint64_t> seed_;
};

/// Stratified K-fold splitter (scikit-learn's `StratifiedKFold`, its algorithm since 0.22):
/// every test fold gets as close as possible to y's class proportions, and the test folds differ
/// in size by at most one.
///
/// Classes are numbered by first appearance in y. The counts per fold come from dealing the
/// sorted class codes round-robin over the folds (fold i gets the codes at positions
/// i, i + n_splits, …); each class's members, in order, then fill fold 0's share, fold 1's
/// share, … (with `shuffle`, each class's fold assignment is shuffled). y holds class indices
/// (N) / (N, 1) or one-hot rows (N, K).
///
/// Throws ValueError for n_splits < 2, a seed with shuffle=false, more folds than samples, or
/// n_splits greater than the number of members of every class; prints a warning on stderr when
/// the least populated class has fewer members than n_splits (scikit-learn's UserWarning).
class StratifiedKFold {
 public:
  explicit StratifiedKFold(int n_splits = 5, bool shuffle = false, std::optional<uint64_t> seed = std::nullopt);

  /// The folds for labels `y`, in order.
  std::vector<Fold> split(const Tensor& y) const;
  int get_n_splits() const { return n_splits_; }

 private:
  int n_splits_;
  bool shuffle_;
  std::optional<uint64_t> seed_;
};

}  // namespace regula::data
