// train_test_split with scikit-learn's rules: _validate_shuffle_split for the sizes, ShuffleSplit
// or StratifiedShuffleSplit for the indices.

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <vector>

#include <fmt/format.h>

#include "regula/data/split.hpp"
#include "regula/error.hpp"
#include "regula/tensor/gather.hpp"
#include "regula/utils/random.hpp"
#include "src/data/class_labels.hpp"

namespace regula::data {
namespace {

constexpr const char* kCaller = "train_test_split";

struct PartSizes {
  int64_t n_train = 0;
  int64_t n_test = 0;
};

struct PartIndices {
  std::vector<int64_t> train;
  std::vector<int64_t> test;
};

std::string describe(const std::optional<SplitSize>& size) { return size ? size->to_string() : "None"; }

void check_size_range(const char* name, const SplitSize& size, int64_t n_samples) {
  const bool valid = size.is_fraction() ? (size.fraction() > 0.0 && size.fraction() < 1.0)
                                        : (size.count() > 0 && size.count() < n_samples);
  if (!valid)
    throw ValueError(fmt::format("{}: {}={} should be either a count in [1, {}) (positive and smaller than the "
                                 "number of samples {}) or a fraction in the (0, 1) range",
                                 kCaller, name, size.to_string(), n_samples, n_samples));
}

/// scikit-learn's `_validate_shuffle_split`: the number of train and test samples.
PartSizes validate_sizes(int64_t n_samples, std::optional<SplitSize> test_size, const std::optional<SplitSize>& train_size) {
  if (!test_size && !train_size) test_size = SplitSize(0.25);
  if (test_size) check_size_range("test_size", *test_size, n_samples);
  if (train_size) check_size_range("train_size", *train_size, n_samples);
  if (test_size && train_size && test_size->is_fraction() && train_size->is_fraction() &&
      test_size->fraction() + train_size->fraction() > 1.0)
    throw ValueError(fmt::format("{}: the sum of test_size and train_size = {}, should be in the (0, 1) range; "
                                 "reduce test_size and/or train_size",
                                 kCaller, test_size->fraction() + train_size->fraction()));

  const auto test_count = [&](const SplitSize& s) {
    return s.is_fraction() ? static_cast<int64_t>(std::ceil(s.fraction() * static_cast<double>(n_samples))) : s.count();
  };
  const auto train_count = [&](const SplitSize& s) {
    return s.is_fraction() ? static_cast<int64_t>(std::floor(s.fraction() * static_cast<double>(n_samples))) : s.count();
  };
  PartSizes sizes;
  sizes.n_test = test_size ? test_count(*test_size) : n_samples - train_count(*train_size);
  sizes.n_train = train_size ? train_count(*train_size) : n_samples - sizes.n_test;

  if (sizes.n_train + sizes.n_test > n_samples)
    throw ValueError(fmt::format("{}: the sum of train_size and test_size = {}, should be smaller than the number of "
                                 "samples {}; reduce test_size and/or train_size",
                                 kCaller, sizes.n_train + sizes.n_test, n_samples));
  for (const auto& [part, count] : {std::pair{"train", sizes.n_train}, std::pair{"test", sizes.n_test}})
    if (count <= 0)
      throw ValueError(fmt::format("{}: with n_samples={}, test_size={} and train_size={}, the resulting {} set will "
                                   "be empty; adjust any of these parameters",
                                   kCaller, n_samples, describe(test_size), describe(train_size), part));
  return sizes;
}

/// `values` reordered by a random permutation.
std::vector<int64_t> permuted(const std::vector<int64_t>& values, Rng& rng) {
  const std::vector<int64_t> order = rng.permutation(static_cast<int64_t>(values.size()));
  std::vector<int64_t> result;
  result.reserve(values.size());
  for (const int64_t i : order) result.push_back(values[static_cast<size_t>(i)]);
  return result;
}

/// scikit-learn's `_approximate_mode`: how many of `n_draws` samples each class gets — its
/// share floored, then one more for the classes with the largest remainders (ties broken at
/// random) until the counts add up to `n_draws`. Exact integer arithmetic.
std::vector<int64_t> approximate_mode(const std::vector<int64_t>& class_counts, int64_t n_draws, Rng& rng) {
  int64_t total = 0;
  for (const int64_t c : class_counts) total += c;
  std::vector<int64_t> drawn(class_counts.size());
  std::map<int64_t, std::vector<int64_t>, std::greater<>> classes_by_remainder;
  int64_t need_to_add = n_draws;
  for (size_t k = 0; k < class_counts.size(); ++k) {
    const int64_t share = class_counts[k] * n_draws;
    drawn[k] = share / total;
    need_to_add -= drawn[k];
    classes_by_remainder[share % total].push_back(static_cast<int64_t>(k));
  }
  for (const auto& [remainder, classes] : classes_by_remainder) {
    if (need_to_add == 0) break;
    const std::vector<int64_t> chosen = permuted(classes, rng);
    const auto add_now = std::min(static_cast<int64_t>(chosen.size()), need_to_add);
    for (int64_t i = 0; i < add_now; ++i) ++drawn[static_cast<size_t>(chosen[static_cast<size_t>(i)])];
    need_to_add -= add_now;
  }
  return drawn;
}

/// ShuffleSplit: the first n_test of a permutation test, the next n_train train.
PartIndices shuffled_indices(int64_t n_samples, const PartSizes& sizes, Rng& rng) {
  const std::vector<int64_t> permutation = rng.permutation(n_samples);
  const auto test_end = permutation.begin() + sizes.n_test;
  return {std::vector<int64_t>(test_end, test_end + sizes.n_train), std::vector<int64_t>(permutation.begin(), test_end)};
}

/// StratifiedShuffleSplit: each class gives approximate_mode's share of its (permuted) members
/// to train, then of the rest to test; each part is permuted at the end.
PartIndices stratified_indices(const Tensor& y, const PartSizes& sizes, Rng& rng) {
  const detail::ClassLabels labels = detail::decode_class_labels(y, kCaller, detail::ClassOrder::sorted_by_value);
  if (labels.min_count() < 2)
    throw ValueError(fmt::format("{}: stratify: the least populated class in y has only 1 member, which is too few. "
                                 "The minimum number of members in any class cannot be less than 2",
                                 kCaller));
  for (const auto& [name, count] : {std::pair{"train_size", sizes.n_train}, std::pair{"test_size", sizes.n_test}})
    if (count < labels.n_classes())
      throw ValueError(fmt::format("{}: stratify: the {} = {} should be greater or equal to the number of classes = {}",
                                   kCaller, name, count, labels.n_classes()));

  std::vector<std::vector<int64_t>> members(static_cast<size_t>(labels.n_classes()));
  for (int64_t i = 0; i < labels.n_samples(); ++i) members[static_cast<size_t>(labels.codes[static_cast<size_t>(i)])].push_back(i);

  const std::vector<int64_t> train_per_class = approximate_mode(labels.counts, sizes.n_train, rng);
  std::vector<int64_t> remaining(labels.counts.size());
  for (size_t k = 0; k < remaining.size(); ++k) remaining[k] = labels.counts[k] - train_per_class[k];
  const std::vector<int64_t> test_per_class = approximate_mode(remaining, sizes.n_test, rng);

  PartIndices parts;
  for (size_t k = 0; k < members.size(); ++k) {
    const std::vector<int64_t> shuffled = permuted(members[k], rng);
    const auto train_end = shuffled.begin() + train_per_class[k];
    parts.train.insert(parts.train.end(), shuffled.begin(), train_end);
    parts.test.insert(parts.test.end(), train_end, train_end + test_per_class[k]);
  }
  return {permuted(parts.train, rng), permuted(parts.test, rng)};
}

}  // namespace

std::string SplitSize::to_string() const {
  if (!is_fraction_) return std::to_string(count_);
  // Python prints a float with a decimal point even when it is whole: 1.0, not 1.
  std::string text = fmt::format("{}", fraction_);
  if (text.find_first_of(".eni") == std::string::npos) text += ".0";
  return text;
}

TrainTestSplit train_test_split(const Tensor& x, const Tensor& y, TrainTestSplitOptions options) {
  if (x.rank() == 0 || y.rank() == 0)
    throw ValueError(fmt::format("{}: x (shape {}) and y (shape {}) must both have a sample axis", kCaller,
                                 x.shape().to_string(), y.shape().to_string()));
  const int64_t n_samples = x.dim(0);
  if (y.dim(0) != n_samples)
    throw ValueError(fmt::format("{}: x has {} samples but y has {}; they must have the same length", kCaller, n_samples,
                                 y.dim(0)));
  const PartSizes sizes = validate_sizes(n_samples, options.test_size, options.train_size);

  PartIndices parts;
  if (!options.shuffle) {
    if (options.stratify)
      throw ValueError(fmt::format("{}: stratify=true needs shuffle=true; a stratified split is not implemented "
                                   "for shuffle=false",
                                   kCaller));
    for (int64_t i = 0; i < sizes.n_train + sizes.n_test; ++i) (i < sizes.n_train ? parts.train : parts.test).push_back(i);
  } else {
    Rng rng = options.seed ? Rng(*options.seed) : Rng::from_global_seed();
    parts = options.stratify ? stratified_indices(y, sizes, rng) : shuffled_indices(n_samples, sizes, rng);
  }
  return {gather_rows(x, parts.train), gather_rows(x, parts.test), gather_rows(y, parts.train), gather_rows(y, parts.test)};
}

}  // namespace regula::data
