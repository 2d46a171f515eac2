// TPE: the Tree-structured Parzen Estimator (Bergstra et al. 2011) after HyperOpt's tpe.suggest:
// random startup trials, a good/bad split of the ok trials by score, per-parameter adaptive Parzen
// estimators (truncated Gaussian mixtures, log space for log distributions, rounding-cell mass for
// quantised ones, pseudocounted categories), and the best of n_EI_candidates draws from the good
// density by the ratio of densities.

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numbers>
#include <numeric>

#include "regula/tuning/search.hpp"

namespace regula::tuning {
namespace {

constexpr double kEps = 1e-12;

double normal_cdf(double x, double mu, double sigma) {
  if (x == std::numeric_limits<double>::infinity()) return 1.0;
  if (x == -std::numeric_limits<double>::infinity()) return 0.0;
  return 0.5 * (1.0 + std::erf((x - mu) / std::max(std::numbers::sqrt2 * sigma, kEps)));
}

// Probability mass of [a, b] under the (untruncated) mixture.
double mixture_mass(const ParzenEstimator& m, double a, double b) {
  double mass = 0.0;
  for (size_t k = 0; k < m.mus.size(); ++k)
    mass += m.weights[k] * normal_cdf(b, m.mus[k], m.sigmas[k]) - m.weights[k] * normal_cdf(a, m.mus[k], m.sigmas[k]);
  return mass;
}

double safe_log(double p) { return std::log(std::max(p, 1e-300)); }

// A mixture prepared for many density evaluations: per component mu, 1/sigma and
// log(w / (sqrt(2 pi) sigma)).
struct PreparedMixture {
  std::vector<double> mus, inv_sigmas, log_coefs;
  mutable std::vector<double> terms;

  explicit PreparedMixture(const ParzenEstimator& m) {
    for (size_t k = 0; k < m.mus.size(); ++k) {
      const double s = std::max(m.sigmas[k], kEps);
      mus.push_back(m.mus[k]);
      inv_sigmas.push_back(1.0 / s);
      log_coefs.push_back(std::log(m.weights[k] / (std::sqrt(2.0 * std::numbers::pi) * s)));
    }
    terms.resize(mus.size());
  }
  // log sum_k w_k N(x; mu_k, sigma_k) of the untruncated mixture, by log-sum-exp.
  double log_pdf(double x) const {
    double top = -std::numeric_limits<double>::infinity();
    for (size_t k = 0; k < mus.size(); ++k) {
      const double z = (x - mus[k]) * inv_sigmas[k];
      terms[k] = log_coefs[k] - 0.5 * z * z;
      top = std::max(top, terms[k]);
    }
    double acc = 0.0;
    for (size_t k = 0; k < mus.size(); ++k) acc += std::exp(terms[k] - top);
    return top + std::log(acc);
  }
};

// HyperOpt's linear_forgetting_weights: ones for the newest `lf`, a ramp from 1/n for the older ones.
std::vector<double> linear_forgetting_weights(size_t n, int64_t lf) {
  std::vector<double> w(n, 1.0);
  if (lf <= 0 || n <= static_cast<size_t>(lf)) return w;
  const size_t ramp = n - static_cast<size_t>(lf);
  const double start = 1.0 / static_cast<double>(n);
  for (size_t i = 0; i < ramp; ++i)
    w[i] = ramp == 1 ? start : start + (1.0 - start) * static_cast<double>(i) / static_cast<double>(ramp - 1);
  return w;
}

// A draw from the mixture truncated to [low, high) (rejection, as HyperOpt's GMM1).
double sample_truncated(const ParzenEstimator& m, double low, double high, Rng& rng) {
  for (int attempt = 0; attempt < 100000; ++attempt) {
    double u = rng.uniform();
    size_t k = 0;
    while (k + 1 < m.weights.size() && u >= m.weights[k]) u -= m.weights[k++];
    const double draw = m.mus[k] + m.sigmas[k] * rng.normal();
    if (draw >= low && draw < high) return draw;
  }
  return rng.uniform(low, high);  // unreachable in practice: the prior component covers the range
}

// A categorical distribution with pseudocounts: p(k) = (count_k + prior) / (total + K * prior),
// kept sparse so that a randint over a huge range costs only its observations.
struct Categorical {
  std::map<int64_t, double> counts;
  double total = 0.0;
  double prior = 1.0;
  int64_t n_categories = 1;

  double log_p(int64_t k) const {
    const auto it = counts.find(k);
    const double c = it == counts.end() ? 0.0 : it->second;
    return std::log((c + prior) / (total + static_cast<double>(n_categories) * prior));
  }
  int64_t sample(Rng& rng) const {
    double u = rng.uniform() * (total + static_cast<double>(n_categories) * prior);
    if (u < total) {
      for (const auto& [k, c] : counts) {
        if (u < c) return k;
        u -= c;
      }
      return counts.rbegin()->first;
    }
    return static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(n_categories)));
  }
};

Categorical make_categorical(const std::vector<int64_t>& obs, int64_t n_categories, double prior, int64_t lf) {
  Categorical c;
  c.prior = prior;
  c.n_categories = n_categories;
  const std::vector<double> w = linear_forgetting_weights(obs.size(), lf);
  for (size_t i = 0; i < obs.size(); ++i) {
    c.counts[obs[i]] += w[i];
    c.total += w[i];
  }
  return c;
}

}  // namespace

ParzenEstimator adaptive_parzen_normal(const std::vector<double>& mus, double prior_weight, double prior_mu,
                                       double prior_sigma, int64_t linear_forgetting) {
  if (!(prior_sigma > 0))
    throw ValueError(fmt::format("adaptive_parzen_normal: prior_sigma ({}) must be > 0", prior_sigma));
  const size_t n = mus.size();
  std::vector<double> srtd;
  std::vector<double> sigma;
  std::vector<double> weights;
  size_t prior_pos = 0;
  if (n == 0) {
    srtd = {prior_mu};
    sigma = {prior_sigma};
  } else if (n == 1) {
    if (prior_mu < mus[0]) {
      prior_pos = 0;
      srtd = {prior_mu, mus[0]};
      sigma = {prior_sigma, prior_sigma * 0.5};
    } else {
      prior_pos = 1;
      srtd = {mus[0], prior_mu};
      sigma = {prior_sigma * 0.5, prior_sigma};
    }
  } else {
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return mus[a] < mus[b]; });
    std::vector<double> sorted_obs(n);
    for (size_t i = 0; i < n; ++i) sorted_obs[i] = mus[order[i]];
    prior_pos =
        static_cast<size_t>(std::lower_bound(sorted_obs.begin(), sorted_obs.end(), prior_mu) - sorted_obs.begin());
    srtd = sorted_obs;
    srtd.insert(srtd.begin() + static_cast<std::ptrdiff_t>(prior_pos), prior_mu);
    sigma.assign(srtd.size(), 0.0);
    for (size_t i = 1; i + 1 < srtd.size(); ++i) sigma[i] = std::max(srtd[i] - srtd[i - 1], srtd[i + 1] - srtd[i]);
    sigma.front() = srtd[1] - srtd[0];
    sigma.back() = srtd[srtd.size() - 1] - srtd[srtd.size() - 2];
    if (linear_forgetting > 0 && static_cast<size_t>(linear_forgetting) < n) {
      const std::vector<double> unsorted = linear_forgetting_weights(n, linear_forgetting);
      for (size_t i = 0; i < n; ++i) weights.push_back(unsorted[order[i]]);
      weights.insert(weights.begin() + static_cast<std::ptrdiff_t>(prior_pos), prior_weight);
    }
  }
  if (weights.empty()) {
    weights.assign(srtd.size(), 1.0);
    weights[prior_pos] = prior_weight;
  }
  const double maxsigma = prior_sigma;
  const double minsigma = prior_sigma / std::min(100.0, 1.0 + static_cast<double>(srtd.size()));
  for (double& s : sigma) s = std::clamp(s, minsigma, maxsigma);
  sigma[prior_pos] = prior_sigma;
  const double sum = std::accumulate(weights.begin(), weights.end(), 0.0);
  for (double& w : weights) w /= sum;
  return {std::move(weights), std::move(srtd), std::move(sigma)};
}

double truncated_mixture_log_density(const ParzenEstimator& mixture, double x, double low, double high, double q) {
  const double p_accept = mixture_mass(mixture, low, high);
  if (q > 0) {
    const double ub = std::min(x + q / 2.0, high);
    const double lb = std::max(x - q / 2.0, low);
    return safe_log(mixture_mass(mixture, lb, ub)) - safe_log(p_accept);
  }
  return PreparedMixture(mixture).log_pdf(x) - safe_log(p_accept);
}

TPE::TPE(Space space, SearchOptions options, TPEOptions tpe) : Search(std::move(space), std::move(options)), tpe_(tpe) {
  if (max_trials() <= 0) throw ValueError(fmt::format("TPE: max_trials ({}) must be > 0", max_trials()));
  if (tpe_.n_startup_jobs < 0)
    throw ValueError(fmt::format("TPE: n_startup_jobs ({}) must be >= 0", tpe_.n_startup_jobs));
  if (!(tpe_.gamma > 0 && tpe_.gamma <= 1))
    throw ValueError(fmt::format("TPE: gamma ({}) must be in (0, 1]", tpe_.gamma));
  if (tpe_.n_ei_candidates < 1)
    throw ValueError(fmt::format("TPE: n_ei_candidates ({}) must be >= 1", tpe_.n_ei_candidates));
  if (!(tpe_.prior_weight > 0)) throw ValueError(fmt::format("TPE: prior_weight ({}) must be > 0", tpe_.prior_weight));
  if (tpe_.linear_forgetting < 1)
    throw ValueError(fmt::format("TPE: linear_forgetting ({}) must be >= 1", tpe_.linear_forgetting));
}

nlohmann::json TPE::algorithm_options() const {
  return {{"n_startup_jobs", tpe_.n_startup_jobs},
          {"gamma", tpe_.gamma},
          {"n_ei_candidates", tpe_.n_ei_candidates},
          {"prior_weight", tpe_.prior_weight},
          {"linear_forgetting", tpe_.linear_forgetting}};
}

Params TPE::suggest(int64_t /*number*/, Rng& rng) {
  // The finished trials, in trial order, with their active values and losses (lower is better);
  // a failed trial has loss +inf: never good, always bad (TPE then avoids where the objective fails).
  std::vector<const std::map<int, Value>*> assignments;
  std::vector<double> losses;
  size_t n_ok = 0;
  for (const Trial& trial : results().trials()) {
    auto cached = assignment_cache_.find(trial.number);
    if (cached == assignment_cache_.end())
      cached = assignment_cache_.emplace(trial.number, space().assignment(trial.params)).first;
    assignments.push_back(&cached->second);
    losses.push_back(!trial.ok() ? std::numeric_limits<double>::infinity()
                                 : (results().direction() == Direction::kMax ? -trial.score : trial.score));
    n_ok += trial.ok();
  }
  const size_t n = losses.size();
  if (static_cast<int64_t>(n) < tpe_.n_startup_jobs || n_ok == 0) return space().sample(rng);

  // The good/bad split (HyperOpt's ap_split_trials), good ones among the ok trials only.
  const auto n_below =
      std::min(n_ok, static_cast<size_t>(std::min<double>(std::ceil(tpe_.gamma * std::sqrt(static_cast<double>(n))),
                                                          static_cast<double>(tpe_.linear_forgetting))));
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return losses[a] < losses[b]; });
  std::vector<bool> below(n, false);
  for (size_t i = 0; i < n_below && i < n; ++i) below[order[i]] = true;

  const auto pick = [&](const Expr& e) -> Value {
    // Observations of this expression where it was active, oldest first, per group.
    std::vector<Value> obs_below, obs_above;
    for (size_t i = 0; i < n; ++i)
      if (const auto it = assignments[i]->find(e.id); it != assignments[i]->end())
        (below[i] ? obs_below : obs_above).push_back(it->second);

    const int64_t n_candidates = tpe_.n_ei_candidates;
    if (e.kind == Kind::choice || e.kind == Kind::randint) {
      const int64_t offset = e.kind == Kind::randint ? static_cast<int64_t>(e.low) : 0;
      const int64_t n_categories =
          e.kind == Kind::choice ? static_cast<int64_t>(e.options.size()) : static_cast<int64_t>(e.high - e.low);
      const auto categories = [&](const std::vector<Value>& obs) {
        std::vector<int64_t> out;
        for (const Value& v : obs) out.push_back(std::get<int64_t>(v) - offset);
        return out;
      };
      const Categorical good =
          make_categorical(categories(obs_below), n_categories, tpe_.prior_weight, tpe_.linear_forgetting);
      const Categorical bad =
          make_categorical(categories(obs_above), n_categories, tpe_.prior_weight, tpe_.linear_forgetting);
      int64_t best = 0;
      double best_score = -std::numeric_limits<double>::infinity();
      for (int64_t c = 0; c < n_candidates; ++c) {
        const int64_t k = good.sample(rng);
        const double score = good.log_p(k) - bad.log_p(k);
        if (score > best_score) best_score = score, best = k;
      }
      return best + offset;
    }

    // Numeric: model coordinates (log for the log distributions).
    const bool log_scale = e.kind == Kind::loguniform || e.kind == Kind::qloguniform;
    const double lo = log_scale ? std::log(e.low) : e.low;
    const double hi = log_scale ? std::log(e.high) : e.high;
    const auto coordinates = [&](const std::vector<Value>& obs) {
      std::vector<double> out;
      for (const Value& v : obs) {
        const double x =
            std::holds_alternative<double>(v) ? std::get<double>(v) : static_cast<double>(std::get<int64_t>(v));
        out.push_back(log_scale ? std::log(std::max(x, std::max(kEps, e.low))) : x);
      }
      return out;
    };
    const double prior_mu = 0.5 * (lo + hi);
    const double prior_sigma = hi - lo;
    const ParzenEstimator good = adaptive_parzen_normal(coordinates(obs_below), tpe_.prior_weight, prior_mu,
                                                        prior_sigma, tpe_.linear_forgetting);
    const ParzenEstimator bad = adaptive_parzen_normal(coordinates(obs_above), tpe_.prior_weight, prior_mu, prior_sigma,
                                                       tpe_.linear_forgetting);
    const PreparedMixture good_pdf(good), bad_pdf(bad);
    const double log_accept_good = safe_log(mixture_mass(good, lo, hi));
    const double log_accept_bad = safe_log(mixture_mass(bad, lo, hi));
    const auto log_density = [&](const ParzenEstimator& m, double draw, double value) {
      const double log_accept = &m == &good ? log_accept_good : log_accept_bad;
      switch (e.kind) {
        case Kind::quniform: {
          const double ub = std::min(value + e.q / 2.0, hi), lb = std::max(value - e.q / 2.0, lo);
          return safe_log(mixture_mass(m, lb, ub)) - log_accept;
        }
        case Kind::qloguniform: {
          const double ub = std::log(std::min(value + e.q / 2.0, e.high));
          const double lb = std::log(std::max(std::max(value - e.q / 2.0, e.low), kEps));
          return safe_log(mixture_mass(m, lb, ub)) - log_accept;
        }
        default:
          return (&m == &good ? good_pdf : bad_pdf).log_pdf(draw) - log_accept;
      }
    };
    double best = 0.0;
    double best_score = -std::numeric_limits<double>::infinity();
    for (int64_t c = 0; c < n_candidates; ++c) {
      const double draw = sample_truncated(good, lo, hi, rng);
      double value = log_scale ? std::exp(draw) : draw;
      if (e.kind == Kind::quniform || e.kind == Kind::qloguniform) value = quantize(value, e.q);
      const double score = log_density(good, draw, value) - log_density(bad, draw, value);
      if (score > best_score || c == 0) best_score = score, best = value;
    }
    return best;
  };
  return space().build(pick);
}

}  // namespace regula::tuning
