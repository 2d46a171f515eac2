// config::Registry: the class_name rules shared by layers, optimizers, regularizers, constraints
// and the callbacks of experiment files.

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "regula/config/registry.hpp"
#include "regula/constraints/constraint.hpp"
#include "regula/error.hpp"
#include "regula/experiment/callback_factory.hpp"
#include "regula/layers/dense.hpp"
#include "regula/layers/layer_factory.hpp"
#include "regula/optimizers/optimizer.hpp"
#include "regula/regularizers/regularizer.hpp"

namespace {

using nlohmann::json;
namespace rc = regula::config;

struct Shape {
  std::string kind;
  double size = 0.0;
};

using ShapeRegistry = rc::Registry<Shape, int>;

const ShapeRegistry& shapes() {
  static const ShapeRegistry registry(
      {.kind = "shape", .example = "{class_name: Square, size: 2}", .any_case = false,
       .aliases = {{"Box", "Square"}}, .ignored_options = {"dtype"}},
      {{"Square",
        [](rc::ConfigReader& r, const int& scale) {
          const double size = r.get_double("size", 1.0);
          if (size <= 0.0) throw regula::ValueError(r.where() + ": size must be > 0");
          return Shape{"square", size * scale};
        }},
       {"Dot", [](rc::ConfigReader&, const int&) { return Shape{"dot", 0.0}; }}});
  return registry;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const regula::ValueError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ValueError";
  return "";
}

TEST(ConfigRegistry, NestedFlatAndMixedFormsMakeTheSameObject) {
  const Shape nested = shapes().make(json::parse(R"({"class_name": "Square", "config": {"size": 2}})"), "here", 3);
  const Shape flat = shapes().make(json::parse(R"({"class_name": "Square", "size": 2})"), "here", 3);
  // Keras 3's envelope keys are accepted beside the config.
  const Shape keras3 = shapes().make(
      json::parse(R"({"module": "m", "class_name": "Square", "config": {"size": 2}, "registered_name": null,
                      "build_config": {"input_shape": [null, 3]}})"),
      "here", 3);
  EXPECT_EQ(nested.size, 6.0);
  EXPECT_EQ(flat.size, 6.0);
  EXPECT_EQ(keras3.size, 6.0);
  // Options beside config are read with it; the same option in both places is refused.
  EXPECT_EQ(shapes().make(json::parse(R"({"class_name": "Square", "config": {}, "size": 4})"), "here", 1).size, 4.0);
  const std::string twice =
      message_of([] { shapes().make(json::parse(R"({"class_name": "Square", "config": {"size": 1}, "size": 2})"), "here", 1); });
  EXPECT_NE(twice.find("'size'"), std::string::npos) << twice;
  EXPECT_NE(twice.find("twice"), std::string::npos) << twice;
}

TEST(ConfigRegistry, UnknownClassNamesWhereTheKindAndEveryKnownClass) {
  const std::string m = message_of([] { shapes().make(json::parse(R"({"class_name": "Circle"})"), "shapes[2]", 1); });
  EXPECT_EQ(m, "shapes[2]: unknown shape class_name 'Circle'; known: Dot, Square");
  // Case matters unless the registry says otherwise; aliases resolve.
  EXPECT_NE(message_of([] { shapes().make(json::parse(R"({"class_name": "square"})"), "s", 1); }).find("unknown"),
            std::string::npos);
  EXPECT_EQ(shapes().make(json::parse(R"({"class_name": "Box", "size": 1})"), "s", 5).size, 5.0);
  // A missing or non-string class_name shows the example.
  const std::string missing = message_of([] { shapes().make(json::parse(R"({"size": 1})"), "s", 1); });
  EXPECT_NE(missing.find("{class_name: Square, size: 2}"), std::string::npos) << missing;
  EXPECT_NE(message_of([] { shapes().make(json(3), "s", 1); }).find("needs a 'class_name'"), std::string::npos);
  EXPECT_NE(message_of([] { shapes().make(json::parse(R"({"class_name": "Dot", "config": [1]})"), "s", 1); })
                .find("'config'"),
            std::string::npos);
}

TEST(ConfigRegistry, UnreadOptionsAreErrorsListingTheAllowedOnesEvenWhenTheFactoryRefusedAValue) {
  const std::string m = message_of([] { shapes().make(json::parse(R"({"class_name": "Square", "sise": 2})"), "s", 1); });
  EXPECT_NE(m.find("'sise'"), std::string::npos) << m;
  EXPECT_NE(m.find("allowed: dtype, size"), std::string::npos) << m;  // the ignored ones count as allowed
  // The factory's own complaint comes second to the misspelling that caused it.
  const std::string refused =
      message_of([] { shapes().make(json::parse(R"({"class_name": "Square", "size": -1, "colour": 1})"), "s", 1); });
  EXPECT_NE(refused.find("'colour'"), std::string::npos) << refused;
  const std::string own = message_of([] { shapes().make(json::parse(R"({"class_name": "Square", "size": -1})"), "s", 1); });
  EXPECT_NE(own.find("size must be > 0"), std::string::npos) << own;
  EXPECT_EQ(own.rfind("s: ", 0), 0u) << own;  // named by where
  // Ignored options are accepted by every class.
  EXPECT_EQ(shapes().make(json::parse(R"({"class_name": "Dot", "dtype": "float32"})"), "s", 1).kind, "dot");
}

TEST(ConfigRegistry, AnyCaseRegistriesAcceptOptimizerNamesInAnyCase) {
  EXPECT_EQ(regula::optimizers::from_config(json::parse(R"({"class_name": "ADAM"})"))->name(), "adam");
  EXPECT_EQ(regula::optimizers::get("rmsProp")->name(), "rmsprop");
  const std::string m = message_of([] { regula::optimizers::from_config(json::parse(R"({"class_name": "Nadam"})"), "compile.optimizer"); });
  EXPECT_EQ(m, "compile.optimizer: unknown optimizer class_name 'Nadam'; known: Adam, AdamW, RMSprop, SGD (any case)");
}

TEST(ConfigRegistry, EveryFamilyUsesTheSameRules) {
  // Layers: flat and nested, unknown option named.
  const auto dense = regula::layers::layer_from_config(json::parse(R"({"class_name": "Dense", "units": 3})"), "l");
  EXPECT_EQ(dense->class_name(), "Dense");
  EXPECT_NE(message_of([] { regula::layers::layer_from_config(json::parse(R"({"class_name": "Dense", "config": {"unitz": 3}})"), "l"); })
                .find("'unitz'"),
            std::string::npos);
  // Regularizers and constraints: flat form, and a misspelt option is an error (not ignored).
  EXPECT_DOUBLE_EQ(regula::regularizers::from_config(json::parse(R"({"class_name": "L2", "l2": 0.5})"))
                       ->get_config()["config"]["l2"]
                       .get<double>(),
                   0.5);
  EXPECT_NE(message_of([] { regula::regularizers::from_config(json::parse(R"({"class_name": "L2", "config": {"l3": 1}})")); })
                .find("'l3'"),
            std::string::npos);
  EXPECT_EQ(regula::constraints::from_config(json::parse(R"({"class_name": "MaxNorm", "max_value": 3, "axis": 0})"))->class_name(),
            "MaxNorm");
  EXPECT_NE(message_of([] { regula::constraints::from_config(json::parse(R"({"class_name": "MinMaxNorm"})"), "k"); })
                .find("known: MaxNorm, NonNeg, UnitNorm"),
            std::string::npos);
  // Callbacks: the recipe is read once and makes a new callback each time.
  const regula::experiment::CallbackRecipe recipe = regula::experiment::callback_recipe_from_config(
      json::parse(R"({"class_name": "EarlyStopping", "config": {"patience": 2}})"), "callbacks[0]");
  EXPECT_EQ(recipe.class_name, "EarlyStopping");
  EXPECT_NE(recipe.make({.run_dir = "a"}).get(), nullptr);
  EXPECT_NE(recipe.make({.run_dir = "a"}).get(), recipe.make({.run_dir = "a"}).get());
  EXPECT_NE(message_of([] { regula::experiment::callback_recipe_from_config(json::parse(R"({"class_name": "Early"})"), "callbacks[1]"); })
                .find("unknown callback class_name 'Early'"),
            std::string::npos);
}

TEST(ConfigRegistry, FreshCopyOfAnOptimizerHasItsOptionsAndNoState) {
  const auto adam = regula::optimizers::Adam({.learning_rate = 0.003, .beta_1 = 0.8, .amsgrad = true});
  const auto copy = regula::optimizers::fresh_copy(*adam);
  EXPECT_NE(copy.get(), adam.get());
  EXPECT_EQ(copy->get_config(), adam->get_config());
  EXPECT_EQ(copy->iterations(), 0);
  EXPECT_TRUE(copy->variables().empty());
}

}  // namespace
