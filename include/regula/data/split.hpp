#pragma once
/// @file
/// Splitting arrays into a training and a test part. Equivalent: scikit-learn's
/// `sklearn.model_selection.train_test_split` (with ShuffleSplit / StratifiedShuffleSplit
/// underneath), with the same rules for sizes, order and stratification.
///
/// ```cpp
/// auto [x_train, x_test, y_train, y_test] =
///     data::train_test_split(x, y, {.test_size = 0.2, .seed = 42, .stratify = true});
/// ```
///
/// Train / validation / test: split twice. First hold out the test part, then split what is
/// left into train and validation. For 60 % / 20 % / 20 % of N = 1000 samples:
///
/// ```cpp
/// auto outer = data::train_test_split(x, y, {.test_size = 0.2, .seed = 1});
/// // test: ceil(0.2 · 1000) = 200 samples; the rest: 800
/// auto inner = data::train_test_split(outer.x_train, outer.y_train, {.test_size = 0.25, .seed = 2});
/// // validation: ceil(0.25 · 800) = 200 samples; train: 600
/// model.fit(inner.x_train, inner.y_train,
///           {.validation_data = ValidationData{inner.x_test, inner.y_test}});
/// model.evaluate(outer.x_test, outer.y_test);
/// ```
///
/// The second fraction is of what is left: for validation fraction v and test fraction t of the
/// whole, use t first and v / (1 − t) second (0.2 / 0.8 = 0.25 above). Counts work as well:
/// `{.test_size = 200}` twice gives the same 600 / 200 / 200.

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>

#include "regula/tensor/tensor.hpp"

namespace regula::data {

/// A train or test size as scikit-learn takes it: a floating-point value is a fraction of the
/// samples and must lie in (0, 1); an integer is a count of samples and must lie in [1, N).
/// `{.test_size = 0.25}` is a fraction, `{.test_size = 3}` a count (as Python's float vs int).
class SplitSize {
 public:
  template <std::floating_point T>
  SplitSize(T fraction) : is_fraction_(true), fraction_(static_cast<double>(fraction)) {}
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  SplitSize(T count) : is_fraction_(false), count_(static_cast<int64_t>(count)) {}

  bool is_fraction() const { return is_fraction_; }
  /// The fraction (meaningful when `is_fraction()`).
  double fraction() const { return fraction_; }
  /// The count (meaningful when not `is_fraction()`).
  int64_t count() const { return count_; }
  /// As Python prints it: "0.25" or "3".
  std::string to_string() const;

 private:
  bool is_fraction_ = false;
  double fraction_ = 0.0;
  int64_t count_ = 0;
};

/// `train_test_split` options in scikit-learn's order.
struct TrainTestSplitOptions {
  /// Size of the test part. Unset (scikit's None): the complement of `train_size`, or 0.25 when
  /// `train_size` is unset too. A fraction gives ceil(test_size · N) test samples.
  std::optional<SplitSize> test_size = std::nullopt;
  /// Size of the train part. Unset: the complement of the test part. A fraction gives
  /// floor(train_size · N) train samples. With both sizes set, samples beyond their sum are left
  /// out of both parts (scikit's subsampling).
  std::optional<SplitSize> train_size = std::nullopt;
  /// Seed of the shuffle (scikit's random_state). Unset: drawn from regula's global seed
  /// (`set_random_seed`), so a run is reproducible as a whole but every call differs.
  std::optional<uint64_t> seed = std::nullopt;
  /// Shuffle before splitting. Without shuffling the first n_train samples train and the next
  /// n_test test.
  bool shuffle = true;
  /// Keep y's class proportions in both parts (scikit's `stratify=y`): StratifiedShuffleSplit's
  /// allocation, the rounded-off samples going to the classes with the largest remainders (ties
  /// broken at random). y holds class indices (N) / (N, 1) or one-hot rows (N, K). Needs
  /// `shuffle`.
  bool stratify = false;
};

/// The parts of a split; the rows of each part in the order the split drew them.
struct TrainTestSplit {
  Tensor x_train;
  Tensor x_test;
  Tensor y_train;
  Tensor y_test;
};

/// Splits the rows of `x` and `y` (first axis) into a train and a test part
/// (scikit-learn's `X_train, X_test, y_train, y_test = train_test_split(X, y, ...)`).
///
/// With `shuffle` (the default) the samples are permuted and the first n_test of the
/// permutation test, the next n_train train; with `stratify` each class contributes its share
/// to both parts and each part is then permuted.
///
/// Throws ValueError (naming the option, its value and what is allowed) when x and y differ in
/// length; test_size or train_size is a fraction outside (0, 1) or a count outside [1, N); both
/// fractions add up to more than 1 or both sizes to more than N; the train or the test part
/// would be empty; `stratify` is set without `shuffle`; with `stratify`, a class has a single
/// member, or the train or test part has fewer samples than y has classes, or y is not class
/// indices / one-hot rows.
TrainTestSplit train_test_split(const Tensor& x, const Tensor& y, TrainTestSplitOptions options = {});

}  // namespace regula::data
