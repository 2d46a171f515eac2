#pragma once
/// @file
/// Hyperparameter search spaces, in the style of HyperOpt's `hp` module: a space is a list of
/// parameter expressions (`hp::uniform`, `hp::loguniform`, `hp::quniform`, `hp::qloguniform`,
/// `hp::randint`, `hp::choice`, `hp::constant`); a choice's option may be a nested sub-space (a
/// *branch*), whose parameters are active only when that branch is chosen, to any depth.
///
/// ```cpp
/// using namespace regula::tuning;
/// Space space({hp::uniform("dropout", 0.1, 0.6),
///              hp::loguniform("l2", 1e-5, 1e-2),
///              hp::choice("units", {64, 128, 256}),
///              hp::choice("optimizer", {hp::branch("adam", {hp::loguniform("learning_rate", 1e-4, 1e-2)}),
///                                       hp::branch("sgd", {hp::uniform("momentum", 0.0, 0.9)})})});
/// regula::Rng rng(1);
/// Params p = space.sample(rng);   // {dropout: 0.37, l2: 3.1e-4, units: 128, optimizer: "sgd", momentum: 0.52}
/// double dropout = p.get<double>("dropout");
/// ```
///
/// Differences from HyperOpt, on purpose:
/// - `hp::loguniform(name, low, high)` and `hp::qloguniform` take the bounds as the values
///   themselves (`1e-4, 1e-2`), not their logarithms as HyperOpt does (`np.log(1e-4), np.log(1e-2)`);
///   the value is exp(uniform(log low, log high)), so low must be > 0.
/// - A branch of a choice records its *label* under the choice's name (`optimizer: "adam"`) and its
///   parameters under their own names, flat: `Params` holds only the active parameters.
/// - Parameter names must be unique within any one active configuration (the same name may appear
///   in different branches of one choice).
///
/// The JSON form (`space_from_json`) is an object: parameter name → expression, where an
/// expression is a plain scalar (a constant) or an object with exactly one key, the distribution:
///
/// ```json
/// {"dropout":   {"uniform": [0.1, 0.6]},
///  "l2":        {"loguniform": [1e-5, 1e-2]},
///  "batch":     {"quniform": [16, 128, 16]},
///  "lr":        {"qloguniform": [1e-4, 1e-1, 1e-4]},
///  "layers":    {"randint": [1, 4]},
///  "units":     {"choice": [64, 128, 256]},
///  "activation": "relu",
///  "optimizer": {"choice": [{"name": "adam", "learning_rate": {"loguniform": [1e-4, 1e-2]}},
///                           {"name": "sgd", "momentum": {"uniform": [0, 0.9]}}]}}
/// ```
///
/// A choice option that is an object is a branch: its "name" key (a scalar) is the label, its other
/// keys are the branch's parameters (expressions, nested choices included), so a branch parameter
/// cannot itself be called "name" in the JSON form. Keywords: uniform, loguniform ([low, high]),
/// quniform, qloguniform ([low, high, q]), randint ([low, high), integers), choice (a non-empty
/// array). nlohmann::json keeps object keys sorted, so parameters of a JSON space come in name
/// order.

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "regula/error.hpp"
#include "regula/utils/random.hpp"

namespace regula::tuning {

/// One parameter value: a bool, an integer, a real number or a string.
using Value = std::variant<bool, int64_t, double, std::string>;

/// The value as text: integers as integers, reals with up to 6 significant digits ("0.001",
/// "1e-05"), strings as they are, bools as "true"/"false".
std::string to_string(const Value& value);
/// The value as text that parses back to the same double ("%.17g" shortest round trip).
std::string to_exact_string(const Value& value);
/// The value as JSON (bool, integer, float or string).
nlohmann::json to_json(const Value& value);
/// A JSON scalar as a Value (integers → int64_t, other numbers → double); throws ValueError for
/// null, arrays and objects, naming `what`.
Value value_from_json(const nlohmann::json& json, const std::string& what = "value");
/// Whether two values are equal; an integer and a real are equal when numerically equal.
bool values_equal(const Value& a, const Value& b);
/// "bool", "int", "float" or "string".
std::string type_name(const Value& value);

/// The parameters of one trial: active parameters only, name → value, in the space's order.
class Params {
 public:
  Params() = default;

  /// Sets `name` to `value`, appending it when new.
  void set(const std::string& name, Value value);
  /// Whether `name` is present (active).
  bool contains(const std::string& name) const;
  /// The value of `name`; throws ValueError naming it and listing the present names when absent.
  const Value& at(const std::string& name) const;
  /// The value of `name` as T (double, float, int64_t, int, bool or std::string). Numbers convert
  /// between int and float when exact (an integer as double; a real with no fractional part as an
  /// integer). Throws ValueError naming the parameter when absent (listing the present ones) or of
  /// another type.
  template <class T>
  T get(const std::string& name) const;
  /// As `get`, but `fallback` when `name` is absent (inactive).
  template <class T>
  T get_or(const std::string& name, T fallback) const {
    return contains(name) ? get<T>(name) : fallback;
  }
  /// The names, in order.
  std::vector<std::string> names() const;
  /// The entries, in order.
  const std::vector<std::pair<std::string, Value>>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  auto begin() const { return entries_.begin(); }
  auto end() const { return entries_.end(); }

  /// "name=value, name=value" (values as `to_string`).
  std::string to_string() const;
  /// A JSON object name → value.
  nlohmann::json to_json() const;
  /// Params from a JSON object of scalars (in the object's key order); throws ValueError otherwise.
  static Params from_json(const nlohmann::json& json);

  /// Same names with equal values (`values_equal`), in any order.
  friend bool operator==(const Params& a, const Params& b);

 private:
  double get_double(const std::string& name) const;
  int64_t get_int(const std::string& name) const;
  [[noreturn]] void type_mismatch(const std::string& name, const char* wanted) const;

  std::vector<std::pair<std::string, Value>> entries_;
};

template <class T>
T Params::get(const std::string& name) const {
  if constexpr (std::is_same_v<T, bool>) {
    const Value& v = at(name);
    if (const bool* b = std::get_if<bool>(&v)) return *b;
    type_mismatch(name, "a bool");
  } else if constexpr (std::is_same_v<T, std::string>) {
    const Value& v = at(name);
    if (const std::string* s = std::get_if<std::string>(&v)) return *s;
    type_mismatch(name, "a string");
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(get_double(name));
  } else if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(get_int(name));
  } else {
    static_assert(std::is_same_v<T, void>, "Params::get: T must be bool, an integer, a float or std::string");
  }
}

/// The kind of a parameter expression.
enum class Kind { constant, uniform, loguniform, quniform, qloguniform, randint, choice };
/// "constant", "uniform", … (the JSON keyword).
std::string kind_name(Kind kind);

struct Option;

/// One parameter expression (build them with the `hp::` functions).
struct Expr {
  Kind kind = Kind::constant;
  std::string name;
  /// Bounds (uniform, loguniform, quniform, qloguniform: [low, high]; randint: [low, high)).
  double low = 0.0, high = 0.0;
  /// Quantum of quniform / qloguniform.
  double q = 0.0;
  /// The value of a constant.
  Value value;
  /// The options of a choice.
  std::vector<Option> options;
  /// Position of this expression in the space's depth-first order (set by Space; -1 before).
  int id = -1;
};

/// One option of a choice: a plain value, or a branch (a label and the parameters that are active
/// when the branch is chosen).
struct Option {
  /// The value recorded under the choice's name when this option is chosen.
  Value label;
  /// The branch's parameters (empty for a plain value).
  std::vector<Expr> space;

  Option(bool v) : label(v) {}                      // NOLINT(google-explicit-constructor): {64, "relu", true} lists
  Option(const char* v) : label(std::string(v)) {}  // NOLINT(google-explicit-constructor)
  Option(std::string v) : label(std::move(v)) {}    // NOLINT(google-explicit-constructor)
  Option(Value v) : label(std::move(v)) {}          // NOLINT(google-explicit-constructor)
  template <class T>
  requires(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) Option(T v)  // NOLINT(google-explicit-constructor)
      : label(std::is_integral_v<T> ? Value(static_cast<int64_t>(v)) : Value(static_cast<double>(v))) {}
  Option(Value label_, std::vector<Expr> space_);
};

/// Parameter expressions (HyperOpt's names; see the file comment for the loguniform bounds).
namespace hp {
/// Real uniform on [low, high); low < high, both finite.
Expr uniform(std::string name, double low, double high);
/// exp(uniform(log low, log high)): log-uniform between the *values* low and high; 0 < low < high.
Expr loguniform(std::string name, double low, double high);
/// round(uniform(low, high) / q) * q (a real on the lattice of q); low < high, q > 0.
Expr quniform(std::string name, double low, double high, double q);
/// round(exp(uniform(log low, log high)) / q) * q; 0 < low < high, q > 0.
Expr qloguniform(std::string name, double low, double high, double q);
/// Integer uniform on [low, high); low < high.
Expr randint(std::string name, int64_t low, int64_t high);
/// One of `options` with equal probability; an option may be a branch (`hp::branch`).
Expr choice(std::string name, std::vector<Option> options);
/// A fixed value.
Expr constant(std::string name, Value value);
/// A choice option whose parameters `space` are active only when it is chosen; `label` is recorded
/// under the choice's name.
Option branch(Value label, std::vector<Expr> space);
}  // namespace hp

/// A validated search space.
class Space {
 public:
  /// Validates `expressions` and numbers them. Throws ValueError (naming the parameter, what is
  /// wrong and what is allowed) for: an empty space, an empty name, an empty choice, duplicate
  /// labels in one choice, non-finite bounds, low >= high, loguniform/qloguniform low <= 0, q <= 0,
  /// randint high <= low, and two parameters of one name that can be active together.
  explicit Space(std::vector<Expr> expressions);
  Space(const Space& other);
  Space& operator=(const Space& other);
  Space(Space&&) noexcept = default;
  Space& operator=(Space&&) noexcept = default;
  ~Space() = default;

  /// The top-level expressions.
  const std::vector<Expr>& expressions() const { return expressions_; }
  /// Every expression, nested ones included, in depth-first order (index = Expr::id).
  const std::vector<const Expr*>& nodes() const { return nodes_; }
  /// Where expression `id` lives: "optimizer=adam/learning_rate".
  const std::string& path(int id) const { return paths_.at(static_cast<size_t>(id)); }

  /// One random configuration (the prior: every distribution as documented in `hp`).
  Params sample(Rng& rng) const;

  /// Builds a configuration by walking the space: `pick` is called for every active expression
  /// except constants (in depth-first order) and returns its value; for a choice, the *index* of the
  /// chosen option as an int64_t.
  Params build(const std::function<Value(const Expr&)>& pick) const;

  /// Every configuration of the grid: the Cartesian product over choice options, randint integers
  /// and the lattice points of quniform/qloguniform, with the union over the branches of every
  /// choice; the first parameter varies slowest. Throws ValueError naming the first continuous
  /// parameter (uniform or loguniform without q; use choice or quniform), or when the grid has more
  /// than `max_size` points.
  std::vector<Params> grid(size_t max_size = 10'000'000) const;
  /// The number of grid points (same rules and errors as `grid`).
  size_t grid_size() const;

  /// Checks that `params` is a configuration of this space: every active parameter present and
  /// valid (type, bounds, lattice, option), nothing else. Returns the values by expression id
  /// (choices: the option index as int64_t) for the active expressions; throws ValueError saying
  /// what does not fit.
  std::map<int, Value> assignment(const Params& params) const;
  /// `params` reordered in the space's order (after the checks of `assignment`).
  Params canonical(const Params& params) const;

  /// The JSON form (see the file comment); `space_from_json(space.to_json())` is an equal space.
  nlohmann::json to_json() const;

 private:
  void index();

  std::vector<Expr> expressions_;
  std::vector<const Expr*> nodes_;
  std::vector<std::string> paths_;
};

/// A space from its JSON form (see the file comment). Throws ValueError for an unknown keyword
/// (listing the allowed ones), a badly shaped expression, and everything `Space` refuses.
Space space_from_json(const nlohmann::json& json);

/// The value quniform/qloguniform produce from `x`: round(x / q) * q, rounded to 15 significant
/// digits (so that 14 * 0.05 reads 0.7, not 0.7000000000000001).
double quantize(double x, double q);

}  // namespace regula::tuning
