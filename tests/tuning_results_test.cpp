// The results table: best trial, text summary, CSV and JSON files written after every trial,
// resuming an interrupted search from its JSON file, and refusing corrupted or mismatching files.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "regula/tuning/results.hpp"
#include "regula/tuning/search.hpp"
#include "test_support.hpp"

namespace {

using namespace regula;
using namespace regula::tuning;
using regula::testing_support::expect_error;
using regula::testing_support::TemporaryDirectory;

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

Space conditional_space() {
  return Space({hp::uniform("x", -5, 5),
                hp::choice("opt", {hp::branch("adam", {hp::loguniform("lr", 1e-4, 1e-1)}),
                                   hp::branch("sgd", {hp::quniform("m", 0, 0.9, 0.1)})}),
                hp::randint("k", 1, 4)});
}

// Deterministic objective with failures: trial 3 throws, trial 6 returns NaN.
TrialOutcome objective(const Params& p, const TrialContext& ctx) {
  if (ctx.number == 3) throw std::runtime_error("diverged at epoch 2");
  if (ctx.number == 6) return {.score = std::nan("")};
  const double x = p.get<double>("x");
  const double extra =
      p.get<std::string>("opt") == "adam" ? std::fabs(std::log10(p.get<double>("lr")) + 2) : p.get<double>("m");
  const double score = (x - 1) * (x - 1) + extra + 0.1 * p.get<int>("k");
  return {.score = score, .fold_scores = {score - 0.1, score + 0.1}, .epochs = ctx.number + 1};
}

// The table without the seconds (they differ between runs).
std::vector<std::string> rows(const Results& results) {
  std::vector<std::string> out;
  for (const Trial& t : results.trials())
    out.push_back(std::to_string(t.number) + (t.ok() ? " ok " : " failed ") + t.params.to_string() + " " +
                  nlohmann::json(t.ok() ? t.score : 0.0).dump() + " " + nlohmann::json(t.fold_scores).dump() + " " +
                  std::to_string(t.epochs) + " " + t.error);
  return out;
}

// Rule: the best trial is the lowest ("min") or highest ("max") score among ok trials, the
// earliest on ties; the summary lists the best trials first with their parameters and fold scores;
// the table shows failed trials with their error.
TEST(TuningResults, BestSummaryAndTable) {
  Results results(Direction::kMax);
  const auto trial = [](int64_t n, double score, const std::string& lr) {
    Trial t;
    t.number = n;
    t.score = score;
    t.params.set("lr", lr);
    t.fold_scores = {score - 0.01, score + 0.01};
    return t;
  };
  results.add(trial(2, 0.9, "b"));
  results.add(trial(0, 0.5, "a"));
  results.add(trial(3, 0.9, "c"));
  Trial failed;
  failed.number = 1;
  failed.status = TrialStatus::failed;
  failed.score = std::nan("");
  failed.error = "out of memory";
  results.add(failed);
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results.trials()[1].number, 1);
  EXPECT_EQ(results.best()->number, 2);
  EXPECT_EQ(results.best_params().get<std::string>("lr"), "b");
  EXPECT_EQ(results.ranked().size(), 3u);
  EXPECT_EQ(results.ranked()[2]->number, 0);
  const std::string summary = results.results_summary(2);
  EXPECT_NE(summary.find("Results summary"), std::string::npos) << summary;
  EXPECT_NE(summary.find("direction=\"max\""), std::string::npos) << summary;
  EXPECT_NE(summary.find("Trials: 4 (3 ok, 1 failed)"), std::string::npos) << summary;
  EXPECT_NE(summary.find("Showing 2 best trials"), std::string::npos) << summary;
  EXPECT_LT(summary.find("0002"), summary.find("0003")) << summary;
  EXPECT_EQ(summary.find("0000"), std::string::npos) << summary;
  EXPECT_NE(summary.find("0.9 ± 0.01 (2)"), std::string::npos) << summary;
  EXPECT_NE(summary.find("Best parameters:\n  lr: b\n"), std::string::npos) << summary;
  const std::string table = results.to_table();
  EXPECT_NE(table.find("0001   failed"), std::string::npos) << table;
  EXPECT_NE(table.find("error: out of memory"), std::string::npos) << table;
  Results low(Direction::kMin);
  low.add(trial(0, 0.5, "a"));
  low.add(trial(1, 0.2, "b"));
  EXPECT_EQ(low.best()->number, 1);
  // Files and messages spell the direction "min" or "max"; anything else is refused where it is read.
  expect_error<ValueError>([] { parse_direction("lowest", "search"); }, {"search", "'lowest'", "\"min\" or \"max\""});
  EXPECT_EQ(parse_direction("max", "search"), Direction::kMax);
  EXPECT_STREQ(direction_name(Direction::kMin), "min");
}

// Rule: the CSV has one column per parameter ever seen (first-seen order), empty cells for inactive
// ones, exact reals, fold scores joined by ';', quoted cells where needed.
TEST(TuningResults, CsvFormat) {
  Results results;
  Trial a;
  a.number = 0;
  a.score = 0.25;
  a.params.set("opt", std::string("adam"));
  a.params.set("lr", 0.001);
  a.fold_scores = {0.5, 0.125};
  a.epochs = 4;
  a.seconds = 1.5;
  Trial b;
  b.number = 1;
  b.status = TrialStatus::failed;
  b.score = std::nan("");
  b.params.set("opt", std::string("sgd, nesterov"));
  b.params.set("momentum", 0.9);
  b.error = "bad \"value\"";
  results.add(a);
  results.add(b);
  EXPECT_EQ(results.to_csv(),
            "trial,status,score,opt,lr,momentum,fold_scores,epochs,seconds,error\n"
            "0,ok,0.25,adam,0.001,,0.5;0.125,4,1.5,\n"
            "1,failed,,\"sgd, nesterov\",,0.9,,0,0,\"bad \"\"value\"\"\"\n");
}

// Rule: the JSON results file holds every trial exactly (parameters and scores round-trip
// bitwise, failed trials with null score and their error) and is rewritten after every trial, so
// that during trial k the file holds the k finished trials; the CSV copy too; no temporary file is
// left behind.
TEST(TuningResults, FilesAreWrittenAfterEveryTrialAndRoundTrip) {
  TemporaryDirectory dir;
  const std::string json_path = dir.file("results.json"), csv_path = dir.file("results.csv");
  RandomSearch search(conditional_space(),
                      {.max_trials = 10, .seed = 3, .results_file = json_path, .csv_file = csv_path});
  search.run([&](const Params& p, const TrialContext& ctx) {
    if (ctx.number > 0) {
      EXPECT_EQ(nlohmann::json::parse(read(json_path))["trials"].size(), static_cast<size_t>(ctx.number));
      std::istringstream csv(read(csv_path));
      std::string line;
      size_t lines = 0;
      while (std::getline(csv, line)) ++lines;
      EXPECT_EQ(lines, static_cast<size_t>(ctx.number) + 1);
    }
    return objective(p, ctx);
  });
  EXPECT_FALSE(std::filesystem::exists(json_path + ".tmp"));
  const nlohmann::json file = nlohmann::json::parse(read(json_path));
  EXPECT_EQ(file["format"], "regula-tuning-results");
  EXPECT_EQ(file["algorithm"], "random");
  EXPECT_EQ(file["seed"], 3);
  EXPECT_EQ(file["space"], conditional_space().to_json());
  EXPECT_TRUE(file["trials"][3]["score"].is_null());
  EXPECT_EQ(file["trials"][3]["error"], "diverged at epoch 2");
  const Results loaded = Results::load(json_path, conditional_space(), Direction::kMin);
  ASSERT_EQ(loaded.size(), 10u);
  EXPECT_EQ(rows(loaded), rows(search.results()));
  for (size_t i = 0; i < 10; ++i) {
    const Trial& a = loaded.trials()[i];
    const Trial& b = search.results().trials()[i];
    EXPECT_EQ(a.params.names(), b.params.names()) << "the space's order is restored";
    if (a.ok()) {
      EXPECT_EQ(a.score, b.score);
    }
    EXPECT_EQ(a.seconds, b.seconds);
    for (const auto& [name, value] : a.params) EXPECT_EQ(value, b.params.at(name)) << name;  // same type and bits
  }
}

// Rule: an interrupted search (stopped while trial 25 of 40 was running) resumed from its results
// file runs only the missing trials (the running one and the rest: 15 calls), keeps the finished
// ones (failed included, not re-run), and ends with the same table as an uninterrupted run with the
// same seed; for TPE (whose suggestions depend on the history) and random search.
TEST(TuningResults, ResumeRunsOnlyMissingTrialsAndReproducesTheRun) {
  for (const std::string algorithm : {"tpe", "random"}) {
    SCOPED_TRACE(algorithm);
    TemporaryDirectory dir;
    const auto make = [&](const std::string& file, int64_t budget) -> std::unique_ptr<Search> {
      const SearchOptions options{.max_trials = budget, .seed = 5, .results_file = file};
      if (algorithm == "tpe") return std::make_unique<TPE>(conditional_space(), options);
      return std::make_unique<RandomSearch>(conditional_space(), options);
    };
    auto whole = make(dir.file("whole.json"), 40);
    whole->run(objective);

    const std::string path = dir.file("interrupted.json");
    {
      auto first = make(path, 40);
      for (int i = 0; i < 25; ++i) {
        const Suggestion s = first->ask(1).at(0);
        try {
          first->tell(s.number, objective(s.params, s.context));
        } catch (const std::exception& e) {
          first->tell_failure(s.number, e.what());
        }
      }
      EXPECT_EQ(first->ask(1).at(0).number, 25);  // running when the process dies
    }
    auto resumed = make(path, 40);
    std::vector<int64_t> ran;
    resumed->run([&](const Params& p, const TrialContext& ctx) {
      ran.push_back(ctx.number);
      return objective(p, ctx);
    });
    ASSERT_EQ(ran.size(), 15u);
    EXPECT_EQ(ran.front(), 25);
    EXPECT_EQ(ran.back(), 39);
    EXPECT_EQ(rows(resumed->results()), rows(whole->results()));
    EXPECT_EQ(resumed->results().n_failed(), 2u);
    EXPECT_EQ(resumed->results().best()->number, whole->results().best()->number);

    // A finished search resumed with a larger budget runs only the new trials.
    auto extended = make(path, 45);
    int calls = 0;
    extended->run([&](const Params& p, const TrialContext& ctx) {
      ++calls;
      return objective(p, ctx);
    });
    EXPECT_EQ(calls, 5);
    EXPECT_EQ(extended->results().size(), 45u);
    // A smaller budget than the file's trials is refused.
    auto smaller = make(path, 30);
    expect_error<ValueError>([&] { smaller->ask(1); }, {path, "trial 30", "max_trials = 30"});
  }
}

// Rule: a resumed grid search visits every grid point exactly once (the finished ones are not
// re-run); a file whose trial k is not grid point k (the grid changed) is refused, naming the file.
TEST(TuningResults, GridSearchResumes) {
  TemporaryDirectory dir;
  const std::string path = dir.file("grid.json");
  const Space space({hp::choice("a", {1, 2, 3}), hp::randint("b", 0, 4)});
  {
    GridSearch first(space, {.results_file = path});
    for (int i = 0; i < 5; ++i) first.tell(first.ask(1).at(0).number, {.score = 1.0 * i});
  }
  GridSearch resumed(space, {.results_file = path});
  std::vector<std::string> visited;
  resumed.run([&](const Params& p, const TrialContext&) {
    visited.push_back(p.to_string());
    return TrialOutcome{.score = 0.0};
  });
  EXPECT_EQ(visited.size(), 7u);
  std::vector<std::string> all;
  for (const Trial& t : resumed.results().trials()) all.push_back(t.params.to_string());
  std::vector<std::string> grid;
  for (const Params& p : space.grid()) grid.push_back(p.to_string());
  EXPECT_EQ(all, grid);

  nlohmann::json j = nlohmann::json::parse(read(path));
  std::swap(j["trials"][0]["params"], j["trials"][1]["params"]);
  write(path, j.dump());
  GridSearch changed(space, {.results_file = path});
  expect_error<ValueError>([&] { changed.ask(1); }, {path, "trial 0", "grid changed"});
}

// Rule: a corrupted or mismatching results file (bad JSON, not a results file, another direction,
// a trial whose parameters are not in the space, a duplicate trial, an ok trial without a finite
// score, a malformed field) is refused with IOError / ValueError naming the file and what is wrong;
// no trial runs and the file is left byte for byte as it was.
TEST(TuningResults, CorruptedFilesAreRefusedAndLeftAlone) {
  TemporaryDirectory dir;
  const std::string good = dir.file("good.json");
  RandomSearch source(conditional_space(), {.max_trials = 5, .seed = 1, .results_file = good});
  source.run(objective);
  const nlohmann::json valid = nlohmann::json::parse(read(good));

  const auto check = [&](const std::string& name, const std::string& text, auto error_type,
                         std::initializer_list<std::string> parts) {
    SCOPED_TRACE(name);
    const std::string path = dir.file(name + ".json");
    write(path, text);
    RandomSearch search(conditional_space(), {.max_trials = 10, .seed = 1, .results_file = path});
    int calls = 0;
    std::vector<std::string> all{path};
    all.insert(all.end(), parts);
    const auto run = [&] {
      search.run([&](const Params& p, const TrialContext& ctx) {
        ++calls;
        return objective(p, ctx);
      });
    };
    if constexpr (std::is_same_v<decltype(error_type), IOError>) {
      const std::string message = regula::testing_support::error_message<IOError>(run);
      for (const std::string& part : all) EXPECT_NE(message.find(part), std::string::npos) << message;
    } else {
      const std::string message = regula::testing_support::error_message<ValueError>(run);
      for (const std::string& part : all) EXPECT_NE(message.find(part), std::string::npos) << message;
    }
    EXPECT_EQ(calls, 0);
    EXPECT_THROW(search.ask(1), Error) << "asking again still refuses the file";
    EXPECT_EQ(read(path), text);
  };
  const std::string text = valid.dump(2);
  check("truncated", text.substr(0, text.size() / 2), IOError(""), {"not valid JSON"});
  check("empty", "", IOError(""), {"not valid JSON"});
  check("not_results", R"({"trials": 3})", ValueError(""), {"not a regula tuning results file"});
  nlohmann::json j = valid;
  j["direction"] = "max";
  check("direction", j.dump(), ValueError(""), {"direction is 'max'", "'min'"});
  j = valid;
  j["trials"][2]["params"]["x"] = 7.5;
  check("out_of_range", j.dump(), ValueError(""), {"trial 2", "'x'", "outside [-5, 5]"});
  j = valid;
  j["trials"][1]["params"]["dropout"] = 0.5;
  check("unknown_param", j.dump(), ValueError(""), {"trial 1", "dropout"});
  j = valid;
  j["trials"][0]["params"]["opt"] = "rmsprop";
  check("unknown_option", j.dump(), ValueError(""), {"trial 0", "'opt'", "not one of the options"});
  j = valid;
  j["trials"][4]["number"] = 0;
  check("duplicate", j.dump(), ValueError(""), {"trial 0 appears twice"});
  j = valid;
  j["trials"][0]["score"] = nullptr;
  check("ok_without_score", j.dump(), ValueError(""), {"trial 0 is ok but its score null"});
  j = valid;
  j["trials"][0]["status"] = "done";
  check("bad_status", j.dump(), ValueError(""), {"trial 0", "\"done\""});
  j = valid;
  j["trials"][1]["fold_scores"] = "0.1";
  check("bad_folds", j.dump(), ValueError(""), {"trial 1", "fold_scores"});
  j = valid;
  j["trials"][1].erase("params");
  check("no_params", j.dump(), ValueError(""), {"trial entry 1", "\"params\""});

  // overwrite = true starts afresh instead of reading the file.
  const std::string path = dir.file("truncated.json");
  RandomSearch fresh(conditional_space(), {.max_trials = 3, .seed = 1, .results_file = path, .overwrite = true});
  fresh.run(objective);
  EXPECT_EQ(Results::load(path, conditional_space(), Direction::kMin).size(), 3u);
}

// Rule: files are written through a temporary file renamed over the target; a path that cannot be
// written is an IOError naming it.
TEST(TuningResults, AtomicWrites) {
  TemporaryDirectory dir;
  const std::string path = dir.file("out.txt");
  write(path, "old");
  write_file_atomically(path, "new contents");
  EXPECT_EQ(read(path), "new contents");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  const std::string bad = dir.file("missing/dir/out.json");
  expect_error<IOError>([&] { write_file_atomically(bad, "x"); }, {bad});
  expect_error<IOError>([&] { Results::load(dir.file("absent.json"), conditional_space(), Direction::kMin); },
                        {"absent.json", "cannot open"});
}

}  // namespace
