// Search spaces: validation of hp:: expressions and of the JSON form, Params getters, the check of
// a configuration against the space, and that conditional spaces produce only active parameters.

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

#include "regula/tuning/space.hpp"
#include "test_support.hpp"

namespace {

using namespace regula;
using namespace regula::tuning;
using regula::testing_support::expect_error;

// The nested space of the tests: a two-level conditional choice.
Space nested_space() {
  return Space({hp::uniform("dropout", 0.1, 0.6),
                hp::choice("optimizer",
                           {hp::branch("adam", {hp::loguniform("learning_rate", 1e-4, 1e-2)}),
                            hp::branch("sgd", {hp::uniform("momentum", 0.0, 0.9),
                                               hp::choice("schedule", {hp::branch("step", {hp::randint("step", 1, 5)}),
                                                                       "constant"})})})});
}

// Rule: an empty space, an empty choice, low >= high, loguniform low <= 0, q <= 0, randint with
// high <= low and non-finite bounds are refused with ValueError naming the parameter and the rule.
TEST(TuningSpace, RefusesContradictoryExpressions) {
  expect_error<ValueError>([] { Space({}); }, {"empty"});
  expect_error<ValueError>([] { Space({hp::choice("units", {})}); }, {"'units'", "no options"});
  expect_error<ValueError>([] { Space({hp::uniform("dropout", 0.6, 0.1)}); },
                           {"'dropout'", "low (0.6) must be < high (0.1)"});
  expect_error<ValueError>([] { Space({hp::uniform("d", 0.5, 0.5)}); }, {"'d'", "constant"});
  expect_error<ValueError>([] { Space({hp::loguniform("lr", 0.0, 1.0)}); }, {"'lr'", "loguniform", "must be > 0"});
  expect_error<ValueError>([] { Space({hp::loguniform("lr", -1.0, 1.0)}); }, {"'lr'", "must be > 0"});
  expect_error<ValueError>([] { Space({hp::qloguniform("lr", 0.0, 1.0, 0.1)}); }, {"'lr'", "must be > 0"});
  expect_error<ValueError>([] { Space({hp::quniform("batch", 16, 128, 0)}); }, {"'batch'", "q (0)", "> 0"});
  expect_error<ValueError>([] { Space({hp::quniform("batch", 16, 128, -4)}); }, {"'batch'", "q (-4)"});
  expect_error<ValueError>([] { Space({hp::randint("layers", 3, 3)}); }, {"'layers'", "randint", "must be < high"});
  expect_error<ValueError>([] { Space({hp::uniform("x", 0, INFINITY)}); }, {"'x'", "finite"});
  expect_error<ValueError>([] { Space({hp::uniform("", 0, 1)}); }, {"empty name"});
  expect_error<ValueError>([] { Space({hp::choice("units", {64, 64})}); }, {"'units'", "distinct"});
}

// Rule: a nested branch is validated like the top level, and errors name the full path.
TEST(TuningSpace, NestedErrorsNameThePath) {
  expect_error<ValueError>(
      [] { Space({hp::choice("optimizer", {hp::branch("sgd", {hp::uniform("momentum", 1.0, 0.0)})})}); },
      {"'optimizer=sgd/momentum'", "low (1) must be < high (0)"});
}

// Rule: two parameters of one name that can be active together are refused (siblings, or a
// top-level parameter and one inside a branch); the same name in different branches of one choice
// is allowed.
TEST(TuningSpace, DuplicateNamesOnlyRefusedWhenActiveTogether) {
  expect_error<ValueError>(
      [] {
        Space({hp::uniform("lr", 0, 1), hp::uniform("lr", 1, 2)});
      },
      {"'lr'", "active together"});
  expect_error<ValueError>(
      [] {
        Space({hp::uniform("lr", 0, 1), hp::choice("opt", {hp::branch("adam", {hp::uniform("lr", 0, 1)})})});
      },
      {"'lr'", "'opt=adam/lr'"});
  expect_error<ValueError>([] { Space({hp::choice("opt", {hp::branch("adam", {hp::uniform("opt", 0, 1)})})}); },
                           {"'opt=adam/opt'"});
  EXPECT_NO_THROW(Space({hp::choice("opt", {hp::branch("adam", {hp::loguniform("lr", 1e-4, 1e-2)}),
                                            hp::branch("sgd", {hp::loguniform("lr", 1e-3, 1e-1)})})}));
}

// Rule: the documented JSON example parses into the right kinds, bounds and branches; scalars are
// constants; the JSON form round-trips.
TEST(TuningSpace, ParsesTheDocumentedJsonForm) {
  const auto json = nlohmann::json::parse(R"({
    "dropout": {"uniform": [0.1, 0.6]}, "l2": {"loguniform": [1e-5, 1e-2]}, "units": {"choice": [64, 128, 256]},
    "batch": {"quniform": [16, 128, 16]}, "layers": {"randint": [1, 4]}, "activation": "relu",
    "decay": {"qloguniform": [1e-4, 1e-1, 1e-4]}, "bn": true,
    "optimizer": {"choice": [{"name": "adam", "learning_rate": {"loguniform": [1e-4, 1e-2]}},
                             {"name": "sgd", "momentum": {"uniform": [0, 0.9]}}]}})");
  const Space space = space_from_json(json);
  std::map<std::string, const Expr*> by_path;
  for (const Expr* e : space.nodes()) by_path[space.path(e->id)] = e;
  ASSERT_EQ(by_path.size(), 11u);
  EXPECT_EQ(by_path.at("decay")->kind, Kind::qloguniform);
  EXPECT_DOUBLE_EQ(by_path.at("decay")->q, 1e-4);
  EXPECT_EQ(std::get<bool>(by_path.at("bn")->value), true);
  EXPECT_EQ(by_path.at("dropout")->kind, Kind::uniform);
  EXPECT_DOUBLE_EQ(by_path.at("l2")->low, 1e-5);
  EXPECT_EQ(by_path.at("l2")->kind, Kind::loguniform);
  EXPECT_EQ(by_path.at("units")->options.size(), 3u);
  EXPECT_EQ(by_path.at("batch")->kind, Kind::quniform);
  EXPECT_DOUBLE_EQ(by_path.at("batch")->q, 16);
  EXPECT_EQ(by_path.at("layers")->kind, Kind::randint);
  EXPECT_EQ(by_path.at("activation")->kind, Kind::constant);
  EXPECT_EQ(std::get<std::string>(by_path.at("activation")->value), "relu");
  EXPECT_EQ(by_path.at("optimizer=adam/learning_rate")->kind, Kind::loguniform);
  EXPECT_DOUBLE_EQ(by_path.at("optimizer=sgd/momentum")->high, 0.9);
  EXPECT_EQ(space.to_json(), json);
  EXPECT_EQ(space_from_json(space.to_json()).to_json(), json);
}

// Rule: a JSON space with an unknown keyword, a malformed expression, a branch without "name", an
// empty choice or contradictory bounds is refused with ValueError naming the parameter.
TEST(TuningSpace, RefusesBadJson) {
  expect_error<ValueError>([] { space_from_json(nlohmann::json::parse(R"({"x": {"unifrom": [0, 1]}})")); },
                           {"'x'", "unknown distribution 'unifrom'", "allowed: uniform, loguniform"});
  expect_error<ValueError>([] { space_from_json(nlohmann::json::parse(R"({"x": {"uniform": [0]}})")); },
                           {"'x'", "[low, high]"});
  expect_error<ValueError>([] { space_from_json(nlohmann::json::parse(R"({"x": {"uniform": [0, 1], "q": 2}})")); },
                           {"'x'", "one distribution key"});
  expect_error<ValueError>([] { space_from_json(nlohmann::json::parse(R"({"x": {"randint": [0.5, 3]}})")); },
                           {"'x'", "integers"});
  expect_error<ValueError>([] { space_from_json(nlohmann::json::parse(R"({"x": {"choice": []}})")); },
                           {"'x'", "no options"});
  expect_error<ValueError>([] { space_from_json(nlohmann::json::parse(R"({"o": {"choice": [{"lr": 1}]}})")); },
                           {"'o'", "\"name\""});
  expect_error<ValueError>(
      [] {
        space_from_json(nlohmann::json::parse(R"({"o": {"choice": [{"name": "a", "m": {"loguniform": [0, 1]}}]}})"));
      },
      {"'o=a/m'", "must be > 0"});
  expect_error<ValueError>([] { space_from_json(nlohmann::json::parse(R"({})")); }, {"empty"});
  expect_error<ValueError>([] { space_from_json(nlohmann::json::parse(R"([1, 2])")); }, {"JSON object"});
  expect_error<ValueError>([] { space_from_json(nlohmann::json::parse(R"({"x": null})")); }, {"'x'"});
}

// Rule: typed getters convert exactly-representable numbers, refuse other types, and a missing
// parameter's error names it and lists the present ones; get_or falls back only when absent.
TEST(TuningParams, TypedGetters) {
  Params p;
  p.set("lr", 0.001);
  p.set("units", int64_t{128});
  p.set("act", std::string("relu"));
  p.set("bn", true);
  p.set("batch", 32.0);
  EXPECT_DOUBLE_EQ(p.get<double>("lr"), 0.001);
  EXPECT_EQ(p.get<int>("units"), 128);
  EXPECT_DOUBLE_EQ(p.get<double>("units"), 128.0);
  EXPECT_EQ(p.get<int64_t>("batch"), 32);
  EXPECT_EQ(p.get<std::string>("act"), "relu");
  EXPECT_TRUE(p.get<bool>("bn"));
  EXPECT_EQ(p.get_or<double>("momentum", 0.9), 0.9);
  EXPECT_EQ(p.get_or<int>("units", 1), 128);
  expect_error<ValueError>([&] { p.get<double>("momentum"); }, {"'momentum'", "present: lr, units, act, bn, batch"});
  expect_error<ValueError>([&] { p.get<int>("lr"); }, {"'lr'", "float", "not an integer"});
  expect_error<ValueError>([&] { p.get<std::string>("units"); }, {"'units'", "int 128"});
  expect_error<ValueError>([&] { p.get_or<std::string>("units", "x"); }, {"'units'"});
  EXPECT_EQ(p.to_string(), "lr=0.001, units=128, act=relu, bn=true, batch=32");
  EXPECT_EQ(Params::from_json(p.to_json()), p);
}

// Rule: conditional spaces sample only active parameters: a branch's parameters appear exactly
// when the branch is chosen (two levels deep), and every branch is reached.
TEST(TuningSpace, ConditionalSamplesHoldOnlyActiveParameters) {
  const Space space = nested_space();
  Rng rng(3);
  std::map<std::string, int> configurations;
  for (int i = 0; i < 2000; ++i) {
    const Params p = space.sample(rng);
    EXPECT_NO_THROW(space.assignment(p)) << p.to_string();
    const std::string opt = p.get<std::string>("optimizer");
    EXPECT_EQ(p.contains("learning_rate"), opt == "adam") << p.to_string();
    EXPECT_EQ(p.contains("momentum"), opt == "sgd") << p.to_string();
    EXPECT_EQ(p.contains("schedule"), opt == "sgd") << p.to_string();
    const bool step = opt == "sgd" && p.get<std::string>("schedule") == "step";
    EXPECT_EQ(p.contains("step"), step) << p.to_string();
    EXPECT_EQ(p.size(), opt == "adam" ? 3u : (step ? 5u : 4u)) << p.to_string();
    configurations[opt + (opt == "sgd" ? "/" + p.get<std::string>("schedule") : "")]++;
  }
  // adam 1/2, sgd/step 1/4, sgd/constant 1/4 (counts within ±5 sigma of the expected).
  ASSERT_EQ(configurations.size(), 3u);
  EXPECT_NEAR(configurations["adam"], 1000, 5 * std::sqrt(2000 * 0.25));
  EXPECT_NEAR(configurations["sgd/step"], 500, 5 * std::sqrt(2000 * 0.1875));
  EXPECT_NEAR(configurations["sgd/constant"], 500, 5 * std::sqrt(2000 * 0.1875));
}

// Rule: `assignment` accepts exactly the configurations of the space: it refuses a missing active
// parameter, an inactive or unknown extra, a value out of bounds, off the lattice, not an option,
// or of the wrong type, saying which parameter; `canonical` restores the space's order.
TEST(TuningSpace, AssignmentChecksConfigurations) {
  const Space space({hp::uniform("dropout", 0.1, 0.6), hp::quniform("batch", 16, 128, 16), hp::randint("layers", 1, 4),
                     hp::choice("opt", {hp::branch("adam", {hp::loguniform("lr", 1e-4, 1e-2)}), "sgd"})});
  Params ok;
  ok.set("lr", 0.001);
  ok.set("opt", std::string("adam"));
  ok.set("layers", int64_t{2});
  ok.set("batch", 32.0);
  ok.set("dropout", 0.3);
  const auto a = space.assignment(ok);
  EXPECT_EQ(a.size(), 5u);
  EXPECT_EQ(space.canonical(ok).names(), (std::vector<std::string>{"dropout", "batch", "layers", "opt", "lr"}));
  const auto with = [&](const std::string& name, Value v) {
    Params p = ok;
    p.set(name, std::move(v));
    return p;
  };
  expect_error<ValueError>([&] { space.assignment(with("dropout", 0.7)); }, {"'dropout'", "outside [0.1, 0.6]"});
  expect_error<ValueError>([&] { space.assignment(with("batch", 40.0)); }, {"'batch'", "not a multiple of q (16)"});
  expect_error<ValueError>([&] { space.assignment(with("batch", 160.0)); }, {"'batch'", "outside the reachable"});
  expect_error<ValueError>([&] { space.assignment(with("layers", int64_t{4})); }, {"'layers'", "outside [1, 4)"});
  expect_error<ValueError>([&] { space.assignment(with("layers", 1.5)); }, {"'layers'", "not an integer"});
  expect_error<ValueError>([&] { space.assignment(with("opt", std::string("rmsprop"))); }, {"'opt'", "not one of"});
  expect_error<ValueError>([&] { space.assignment(with("dropout", std::string("x"))); }, {"'dropout'", "not a finite"});
  expect_error<ValueError>([&] { space.assignment(with("momentum", 0.9)); }, {"momentum", "not active"});
  Params sgd = with("opt", std::string("sgd"));
  expect_error<ValueError>([&] { space.assignment(sgd); }, {"lr", "not active"});
  Params missing;
  missing.set("dropout", 0.3);
  expect_error<ValueError>([&] { space.assignment(missing); }, {"'batch'", "missing"});
}

// Rule: loguniform's bounds are the values themselves (not their logs, unlike HyperOpt): samples lie
// in [low, high] and their logs average to the mid-point of [log low, log high].
TEST(TuningSpace, LogUniformBoundsAreValues) {
  const Space space({hp::loguniform("lr", 1e-4, 1e-1)});
  Rng rng(11);
  double sum_log = 0.0;
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    const double lr = space.sample(rng).get<double>("lr");
    ASSERT_GE(lr, 1e-4);
    ASSERT_LE(lr, 1e-1);
    sum_log += std::log10(lr);
  }
  // Mean of log10 is -2.5, sd of one draw 3/sqrt(12); 5 standard errors.
  EXPECT_NEAR(sum_log / n, -2.5, 5 * (3 / std::sqrt(12.0)) / std::sqrt(n));
}

// Rule: a copied space is independent of the original: its nodes point into the copy and stay
// valid after the original is gone (copies re-index; ASan checks the accesses).
TEST(TuningSpace, CopiesAreIndependent) {
  Space copy = nested_space();
  {
    const Space original = nested_space();
    copy = original;
    for (size_t i = 0; i < copy.nodes().size(); ++i) EXPECT_NE(copy.nodes()[i], original.nodes()[i]);
  }
  ASSERT_EQ(copy.nodes().size(), 6u);
  for (size_t i = 0; i < copy.nodes().size(); ++i) EXPECT_EQ(copy.nodes()[i]->id, static_cast<int>(i));
  EXPECT_EQ(copy.path(5), "optimizer=sgd/schedule=step/step");
  Rng rng(1);
  EXPECT_NO_THROW(copy.assignment(copy.sample(rng)));
}

}  // namespace
