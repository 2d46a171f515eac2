// Grid and random search, and the search driver: the grid is exactly the Cartesian product (union
// over branches), random search honours every distribution (Kolmogorov–Smirnov and chi-square
// tests against the exact distributions), failed trials are recorded and the search goes on,
// ask/tell and determinism.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "regula/tuning/search.hpp"
#include "test_support.hpp"

namespace {

using namespace regula;
using namespace regula::tuning;
using regula::testing_support::expect_error;

// Every test below draws with a fixed seed; thresholds are set for a false-alarm rate of 0.1 % per
// test, i.e. what a correct sampler with an unlucky seed would fail.
constexpr double kAlpha = 0.001;

// Kolmogorov–Smirnov statistic of `xs` against the continuous CDF `cdf`.
double ks_statistic(std::vector<double> xs, const std::function<double(double)>& cdf) {
  std::sort(xs.begin(), xs.end());
  const auto n = static_cast<double>(xs.size());
  double d = 0.0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double f = cdf(xs[i]);
    d = std::max({d, static_cast<double>(i + 1) / n - f, f - static_cast<double>(i) / n});
  }
  return d;
}
// The asymptotic KS critical value at level kAlpha: sqrt(-ln(alpha / 2) / 2) / sqrt(n).
double ks_critical(size_t n) { return std::sqrt(-std::log(kAlpha / 2) / 2) / std::sqrt(static_cast<double>(n)); }

// Pearson's chi-square of observed counts against expected probabilities.
double chi_square(const std::map<std::string, int>& counts, const std::map<std::string, double>& probabilities, int n) {
  double chi = 0.0;
  for (const auto& [key, p] : probabilities) {
    const auto it = counts.find(key);
    const double observed = it == counts.end() ? 0 : it->second;
    chi += (observed - n * p) * (observed - n * p) / (n * p);
  }
  return chi;
}
// The upper kAlpha quantile of chi-square with k degrees of freedom (Wilson–Hilferty; z = 3.090).
double chi_square_critical(int k) {
  const double a = 2.0 / (9.0 * k);
  return k * std::pow(1 - a + 3.090 * std::sqrt(a), 3);
}

std::vector<Params> run_and_collect(Search& search) {
  std::vector<Params> seen;
  search.run([&](const Params& p, const TrialContext&) {
    seen.push_back(p);
    return TrialOutcome{.score = 0.0};
  });
  return seen;
}

Params P(std::initializer_list<std::pair<std::string, Value>> entries) {
  Params p;
  for (const auto& [name, value] : entries) p.set(name, value);
  return p;
}

std::set<std::string> as_strings(const std::vector<Params>& ps) {
  std::set<std::string> out;
  for (const Params& p : ps) out.insert(p.to_string());
  return out;
}

// Rule: grid search visits exactly the Cartesian product of choice options, randint integers and
// quniform lattice points: as many trials as points, each point once, the set equal to the product
// built by hand; the first parameter varies slowest.
TEST(TuningGridSearch, VisitsExactlyTheCartesianProduct) {
  const Space space({hp::choice("units", {64, 128, 256}), hp::randint("layers", 1, 4),
                     hp::quniform("batch", 16, 64, 16), hp::choice("act", {"relu", "tanh"}), hp::constant("bn", true)});
  GridSearch search(space, {.seed = 1});
  EXPECT_EQ(search.max_trials(), 3 * 3 * 4 * 2);
  const std::vector<Params> seen = run_and_collect(search);
  ASSERT_EQ(seen.size(), 72u);
  std::set<std::string> expected;
  for (int64_t units : {64, 128, 256})
    for (int64_t layers = 1; layers < 4; ++layers)
      for (double batch : {16.0, 32.0, 48.0, 64.0})
        for (const char* act : {"relu", "tanh"}) {
          Params p;
          p.set("units", units);
          p.set("layers", layers);
          p.set("batch", batch);
          p.set("act", std::string(act));
          p.set("bn", true);
          expected.insert(p.to_string());
        }
  EXPECT_EQ(as_strings(seen).size(), 72u) << "a point was visited twice";
  EXPECT_EQ(as_strings(seen), expected);
  EXPECT_EQ(seen.front().to_string(), "units=64, layers=1, batch=16, act=relu, bn=true");
  EXPECT_EQ(seen[1].to_string(), "units=64, layers=1, batch=16, act=tanh, bn=true");
  EXPECT_EQ(seen.back().to_string(), "units=256, layers=3, batch=64, act=tanh, bn=true");
}

// Rule: a conditional grid is the union over branches of each branch's product (2 * (2 + 3 * 2) + 1
// points here), with only active parameters in each point.
TEST(TuningGridSearch, ConditionalGridIsTheUnionOverBranches) {
  const Space space(
      {hp::choice("units", {32, 64}), hp::choice("opt", {hp::branch("adam", {hp::choice("lr", {0.001, 0.01})}),
                                                         hp::branch("sgd", {hp::choice("momentum", {0.0, 0.5, 0.9}),
                                                                            hp::choice("nesterov", {true, false})}),
                                                         "rmsprop"})});
  EXPECT_EQ(space.grid_size(), 2u * (2 + 3 * 2 + 1));
  GridSearch search(space);
  const std::vector<Params> seen = run_and_collect(search);
  ASSERT_EQ(seen.size(), 18u);
  EXPECT_EQ(as_strings(seen).size(), 18u);
  std::set<std::string> expected;
  for (int64_t units : {32, 64}) {
    for (double lr : {0.001, 0.01}) expected.insert(P({{"units", units}, {"opt", "adam"}, {"lr", lr}}).to_string());
    for (double m : {0.0, 0.5, 0.9})
      for (bool nesterov : {true, false})
        expected.insert(P({{"units", units}, {"opt", "sgd"}, {"momentum", m}, {"nesterov", nesterov}}).to_string());
    expected.insert(P({{"units", units}, {"opt", "rmsprop"}}).to_string());
  }
  EXPECT_EQ(as_strings(seen), expected);
  for (const Params& p : seen) EXPECT_NO_THROW(space.assignment(p)) << p.to_string();
}

// Rule: grid search refuses a continuous parameter at construction, naming it and suggesting
// choice or quniform; a budget below the grid's size visits the first points, above it is cut.
TEST(TuningGridSearch, RefusesContinuousParametersAndHonoursTheBudget) {
  expect_error<ValueError>(
      [] {
        GridSearch(Space({hp::choice("units", {1, 2}), hp::loguniform("lr", 1e-4, 1e-2)}));
      },
      {"'lr'", "loguniform", "hp::choice", "hp::quniform"});
  expect_error<ValueError>(
      [] { GridSearch(Space({hp::choice("opt", {hp::branch("sgd", {hp::uniform("momentum", 0, 1)})})})); },
      {"'opt=sgd/momentum'", "continuous"});
  const Space space({hp::randint("a", 0, 10)});
  GridSearch few(space, {.max_trials = 4});
  EXPECT_EQ(run_and_collect(few).size(), 4u);
  EXPECT_EQ(few.results().trials().back().params.get<int>("a"), 3);
  GridSearch many(space, {.max_trials = 100});
  EXPECT_EQ(many.max_trials(), 10);
  EXPECT_EQ(run_and_collect(many).size(), 10u);
}

// Rule: random search honours every distribution: uniform and loguniform (in log) pass a KS test
// against the exact CDF; quniform and qloguniform land on the lattice with the exact cell
// probabilities, randint is uniform over [low, high), choice uniform over its options (chi-square);
// all at a false-alarm rate of 0.1 % with the fixed seed.
TEST(TuningRandomSearch, HonoursEveryDistribution) {
  const Space space({hp::uniform("u", -2, 3), hp::loguniform("lu", 1e-3, 10), hp::quniform("qu", 0.1, 1.05, 0.25),
                     hp::qloguniform("ql", 1, 100, 10), hp::randint("ri", -2, 5), hp::choice("c", {"a", "b", "c"})});
  const int n = 5000;
  RandomSearch search(space, {.max_trials = n, .seed = 2024});
  const std::vector<Params> seen = run_and_collect(search);
  ASSERT_EQ(seen.size(), static_cast<size_t>(n));
  std::vector<double> u, log_lu;
  std::map<std::string, int> qu, ql, ri, c;
  for (const Params& p : seen) {
    u.push_back(p.get<double>("u"));
    log_lu.push_back(std::log(p.get<double>("lu")));
    qu[to_exact_string(p.at("qu"))]++;
    ql[to_exact_string(p.at("ql"))]++;
    ri[to_string(p.at("ri"))]++;
    c[p.get<std::string>("c")]++;
    ASSERT_TRUE(std::holds_alternative<int64_t>(p.at("ri")));
  }
  EXPECT_LT(ks_statistic(u, [](double x) { return (x + 2) / 5; }), ks_critical(n));
  const double a = std::log(1e-3), b = std::log(10.0);
  EXPECT_LT(ks_statistic(log_lu, [&](double x) { return (x - a) / (b - a); }), ks_critical(n));
  // A wrong distribution is caught: the same test on the raw (not log) loguniform values fails.
  std::vector<double> raw_lu;
  for (double x : log_lu) raw_lu.push_back(std::exp(x));
  EXPECT_GT(ks_statistic(raw_lu, [](double x) { return (x - 1e-3) / (10 - 1e-3); }), ks_critical(n));

  // quniform(0.1, 1.05, 0.25): cells [(k-1/2)q, (k+1/2)q) cut to [0.1, 1.05).
  const std::map<std::string, double> p_qu{
      {"0", 0.025 / 0.95}, {"0.25", 0.25 / 0.95}, {"0.5", 0.25 / 0.95}, {"0.75", 0.25 / 0.95}, {"1", 0.175 / 0.95}};
  EXPECT_EQ(qu.size(), p_qu.size()) << "values off the lattice";
  EXPECT_LT(chi_square(qu, p_qu, n), chi_square_critical(4));
  std::map<std::string, double> p_ql;
  for (int k = 0; k <= 10; ++k) {
    const double lo = std::max(10.0 * k - 5, 1.0), hi = std::min(10.0 * k + 5, 100.0);
    p_ql[to_exact_string(Value(quantize(10.0 * k, 10)))] = std::log(hi / lo) / std::log(100.0);
  }
  EXPECT_EQ(ql.size(), p_ql.size()) << "values off the lattice";
  EXPECT_LT(chi_square(ql, p_ql, n), chi_square_critical(10));
  std::map<std::string, double> p_ri;
  for (int k = -2; k < 5; ++k) p_ri[std::to_string(k)] = 1.0 / 7;
  EXPECT_EQ(ri.size(), 7u) << "randint outside [low, high)";
  EXPECT_LT(chi_square(ri, p_ri, n), chi_square_critical(6));
  EXPECT_LT(chi_square(c, {{"a", 1.0 / 3}, {"b", 1.0 / 3}, {"c", 1.0 / 3}}, n), chi_square_critical(2));
}

// Rule: random search is reproducible: the same seed gives the same trials; another seed others;
// each trial gets its own context seed and its number.
TEST(TuningRandomSearch, SameSeedSameTrials) {
  const Space space({hp::uniform("x", 0, 1), hp::choice("k", {1, 2, 3})});
  RandomSearch a(space, {.max_trials = 20, .seed = 5}), b(space, {.max_trials = 20, .seed = 5}),
      c(space, {.max_trials = 20, .seed = 6});
  std::set<uint64_t> seeds;
  std::vector<int64_t> numbers;
  a.run([&](const Params&, const TrialContext& ctx) {
    seeds.insert(ctx.seed);
    numbers.push_back(ctx.number);
    EXPECT_EQ(ctx.max_trials, 20);
    return TrialOutcome{.score = 1.0};
  });
  EXPECT_EQ(seeds.size(), 20u);
  EXPECT_EQ(numbers, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}));
  const std::vector<Params> pb = run_and_collect(b), pc = run_and_collect(c);
  for (size_t i = 0; i < 20; ++i) {
    EXPECT_EQ(a.results().trials()[i].params, pb[i]);
    EXPECT_NE(pb[i].get<double>("x"), pc[i].get<double>("x"));
  }
  expect_error<ValueError>([&] { RandomSearch(space, {.max_trials = 0}); }, {"max_trials (0)", "> 0"});
}

// Rule: a trial whose objective throws or returns NaN/inf is recorded as failed with the error, it
// counts against the budget, the search continues, and the best trial is chosen among ok trials.
TEST(TuningSearch, FailedTrialsAreRecordedAndTheSearchContinues) {
  const Space space({hp::uniform("x", 0, 1)});
  RandomSearch search(space, {.max_trials = 12, .direction = Direction::kMax, .seed = 3});
  int calls = 0;
  const Results& results = search.run([&](const Params& p, const TrialContext& ctx) -> TrialOutcome {
    ++calls;
    if (ctx.number == 2) throw std::runtime_error("out of memory in trial two");
    if (ctx.number == 5) throw ValueError("bad units");
    if (ctx.number == 7) return {.score = std::nan("")};
    if (ctx.number == 8) return {.score = INFINITY};
    return {.score = p.get<double>("x"), .fold_scores = {0.1, 0.2}, .epochs = 3};
  });
  EXPECT_EQ(calls, 12);
  ASSERT_EQ(results.size(), 12u);
  EXPECT_EQ(results.n_failed(), 4u);
  EXPECT_EQ(results.trials()[2].status, TrialStatus::failed);
  EXPECT_EQ(results.trials()[2].error, "out of memory in trial two");
  EXPECT_EQ(results.trials()[5].error, "bad units");
  EXPECT_NE(results.trials()[7].error.find("non-finite score (nan)"), std::string::npos) << results.trials()[7].error;
  EXPECT_NE(results.trials()[8].error.find("non-finite score (inf)"), std::string::npos);
  EXPECT_TRUE(std::isnan(results.trials()[8].score));
  EXPECT_TRUE(results.trials()[9].ok());
  EXPECT_EQ(results.trials()[9].epochs, 3);
  EXPECT_EQ(results.trials()[9].fold_scores, (std::vector<double>{0.1, 0.2}));
  double best = -1;
  for (const Trial& t : results.trials())
    if (t.ok()) best = std::max(best, t.score);
  EXPECT_EQ(results.best_score(), best);
  EXPECT_FALSE(results.best()->params.empty());

  RandomSearch hopeless(space, {.max_trials = 3});
  hopeless.run([](const Params&, const TrialContext&) -> TrialOutcome { throw std::runtime_error("no"); });
  EXPECT_EQ(hopeless.results().n_failed(), 3u);
  EXPECT_EQ(hopeless.results().best(), nullptr);
  expect_error<StateError>([&] { hopeless.results().best_params(); }, {"no successful trial"});
}

// Rule: ask/tell: ask(n) hands out the lowest free trial numbers with their parameters, never the
// same number twice, nothing beyond the budget; tell records in any order; telling an unknown or
// already recorded trial is a StateError; the parameters equal those of a sequential run.
TEST(TuningSearch, AskAndTell) {
  const Space space({hp::uniform("x", 0, 1)});
  RandomSearch search(space, {.max_trials = 6, .seed = 9});
  const std::vector<Suggestion> first = search.ask(3);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].number, 0);
  EXPECT_EQ(first[2].number, 2);
  EXPECT_NE(first[0].params.get<double>("x"), first[1].params.get<double>("x"));
  const std::vector<Suggestion> second = search.ask(2);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0].number, 3);
  search.tell(4, {.score = 0.4});
  search.tell(0, {.score = 0.1}, 1.5);
  search.tell_failure(1, "worker died");
  const std::vector<Suggestion> rest = search.ask(10);
  ASSERT_EQ(rest.size(), 1u) << "2 and 3 are still out, 5 is the last of the budget";
  EXPECT_EQ(rest[0].number, 5);
  expect_error<StateError>([&] { search.tell(4, {.score = 1}); }, {"trial 4"});
  expect_error<StateError>([&] { search.tell(17, {.score = 1}); }, {"trial 17"});
  search.tell(2, {.score = 0.2});
  search.tell(3, {.score = 0.3});
  search.tell(5, {.score = 0.5});
  EXPECT_TRUE(search.ask(1).empty());
  std::vector<int64_t> numbers;
  for (const Trial& t : search.results().trials()) numbers.push_back(t.number);
  EXPECT_EQ(numbers, (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_DOUBLE_EQ(search.results().trials()[0].seconds, 1.5);
  RandomSearch sequential(space, {.max_trials = 6, .seed = 9});
  const std::vector<Params> seen = run_and_collect(sequential);
  EXPECT_EQ(seen[0], first[0].params);
  EXPECT_EQ(seen[3], second[0].params);
  EXPECT_EQ(seen[5], rest[0].params);
}

// Rule: verbose = 1 prints one line per finished trial with its number, progress, score or
// error, the best score so far and the parameters.
TEST(TuningSearch, VerboseLines) {
  GridSearch search(Space({hp::choice("a", {1, 2, 3})}), {.verbose = 1});
  ::testing::internal::CaptureStdout();
  search.run([](const Params& p, const TrialContext&) -> TrialOutcome {
    if (p.get<int>("a") == 2) throw std::runtime_error("boom");
    return {.score = 1.0 / p.get<int>("a")};
  });
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("Trial 0000 (1/3) - score: 1 - best: 1 - "), std::string::npos) << out;
  EXPECT_NE(out.find("Trial 0001 (2/3) - failed: boom - best: 1 - "), std::string::npos) << out;
  EXPECT_NE(out.find("Trial 0002 (3/3) - score: 0.333333 - best: 0.333333 - 0.0s - a=3\n"), std::string::npos) << out;
}

}  // namespace
