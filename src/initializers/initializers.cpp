#include "regula/initializers/initializers.hpp"

#include <array>
#include <cmath>

#include "regula/error.hpp"

namespace regula::initializers {
namespace {

constexpr std::array<const char*, 9> kNames = {"glorot_uniform", "glorot_normal", "he_uniform",
                                               "he_normal",      "lecun_uniform", "random_uniform",
                                               "random_normal",  "zeros",         "ones"};

void fill_uniform(Tensor& t, double limit, Rng& rng) {
  for (float& v : t.values()) v = static_cast<float>(rng.uniform(-limit, limit));
}

void fill_truncated_normal(Tensor& t, double stddev, Rng& rng) {
  for (float& v : t.values()) {
    double x = rng.normal();
    while (std::fabs(x) > 2.0) x = rng.normal();
    v = static_cast<float>(x * stddev);
  }
}

}  // namespace

bool is_known(const std::string& name) {
  for (const char* n : kNames)
    if (name == n) return true;
  return false;
}

void initialize(const std::string& name, Tensor& weights, int64_t fan_in, int64_t fan_out, Rng& rng,
                const std::string& where) {
  const auto fi = static_cast<double>(std::max<int64_t>(fan_in, 1));
  const auto fo = static_cast<double>(std::max<int64_t>(fan_out, 1));
  if (name == "glorot_uniform") {
    fill_uniform(weights, std::sqrt(6.0 / (fi + fo)), rng);
  } else if (name == "glorot_normal") {
    // Keras divides the stddev by .87962566103423978 so that the truncated distribution keeps the variance.
    fill_truncated_normal(weights, std::sqrt(2.0 / (fi + fo)) / .87962566103423978, rng);
  } else if (name == "he_uniform") {
    fill_uniform(weights, std::sqrt(6.0 / fi), rng);
  } else if (name == "he_normal") {
    fill_truncated_normal(weights, std::sqrt(2.0 / fi) / .87962566103423978, rng);
  } else if (name == "lecun_uniform") {
    fill_uniform(weights, std::sqrt(3.0 / fi), rng);
  } else if (name == "random_uniform") {
    fill_uniform(weights, 0.05, rng);
  } else if (name == "random_normal") {
    for (float& v : weights.values()) v = static_cast<float>(0.05 * rng.normal());
  } else if (name == "zeros") {
    weights.fill(0.0f);
  } else if (name == "ones") {
    weights.fill(1.0f);
  } else {
    std::string allowed;
    for (const char* n : kNames) allowed += std::string(allowed.empty() ? "" : ", ") + n;
    throw ValueError(where + ": unknown initializer '" + name + "'; allowed: " + allowed);
  }
}

}  // namespace regula::initializers
