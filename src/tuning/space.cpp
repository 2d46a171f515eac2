// Search spaces: parameter values, Params, hp:: expressions, validation, sampling, the grid, the
// check of a configuration against the space, and the JSON form.

#include "regula/tuning/space.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace regula::tuning {

// ---------------------------------------------------------------------------------------------
// Values and Params

std::string to_string(const Value& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>)
          return v ? "true" : "false";
        else if constexpr (std::is_same_v<T, int64_t>)
          return std::to_string(v);
        else if constexpr (std::is_same_v<T, double>)
          return fmt::format("{:.6g}", v);
        else
          return v;
      },
      value);
}

std::string to_exact_string(const Value& value) {
  if (const double* d = std::get_if<double>(&value)) return fmt::format("{}", *d);
  return to_string(value);
}

nlohmann::json to_json(const Value& value) {
  return std::visit([](const auto& v) { return nlohmann::json(v); }, value);
}

Value value_from_json(const nlohmann::json& json, const std::string& what) {
  if (json.is_boolean()) return json.get<bool>();
  if (json.is_number_integer()) {
    if (json.is_number_unsigned() && json.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      throw ValueError(fmt::format("{}: integer {} is out of the int64 range", what, json.dump()));
    return json.get<int64_t>();
  }
  if (json.is_number_float()) return json.get<double>();
  if (json.is_string()) return json.get<std::string>();
  throw ValueError(
      fmt::format("{}: {} is not a scalar; a value is a bool, a number or a string", what, json.dump().substr(0, 80)));
}

bool values_equal(const Value& a, const Value& b) {
  const auto as_number = [](const Value& v, double& out) {
    if (const int64_t* i = std::get_if<int64_t>(&v)) return out = static_cast<double>(*i), true;
    if (const double* d = std::get_if<double>(&v)) return out = *d, true;
    return false;
  };
  double x = 0.0, y = 0.0;
  if (std::holds_alternative<int64_t>(a) && std::holds_alternative<int64_t>(b))
    return std::get<int64_t>(a) == std::get<int64_t>(b);
  if (as_number(a, x) && as_number(b, y)) return x == y;
  return a == b;
}

std::string type_name(const Value& value) {
  static const char* const names[] = {"bool", "int", "float", "string"};
  return names[value.index()];
}

void Params::set(const std::string& name, Value value) {
  for (auto& entry : entries_)
    if (entry.first == name) {
      entry.second = std::move(value);
      return;
    }
  entries_.emplace_back(name, std::move(value));
}

bool Params::contains(const std::string& name) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const auto& e) { return e.first == name; });
}

const Value& Params::at(const std::string& name) const {
  for (const auto& entry : entries_)
    if (entry.first == name) return entry.second;
  throw ValueError(fmt::format("Params: no parameter '{}' (inactive or not in the space); present: {}", name,
                               entries_.empty() ? std::string("none") : fmt::format("{}", fmt::join(names(), ", "))));
}

void Params::type_mismatch(const std::string& name, const char* wanted) const {
  const Value& v = at(name);
  throw ValueError(
      fmt::format("Params: parameter '{}' is {} {}, not {}", name, type_name(v), tuning::to_string(v), wanted));
}

double Params::get_double(const std::string& name) const {
  const Value& v = at(name);
  if (const double* d = std::get_if<double>(&v)) return *d;
  if (const int64_t* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  type_mismatch(name, "a number");
}

int64_t Params::get_int(const std::string& name) const {
  const Value& v = at(name);
  if (const int64_t* i = std::get_if<int64_t>(&v)) return *i;
  if (const double* d = std::get_if<double>(&v))
    if (std::isfinite(*d) && std::trunc(*d) == *d && std::fabs(*d) < 9.0e18) return static_cast<int64_t>(*d);
  type_mismatch(name, "an integer");
}

std::vector<std::string> Params::names() const {
  std::vector<std::string> out;
  for (const auto& entry : entries_) out.push_back(entry.first);
  return out;
}

std::string Params::to_string() const {
  std::string out;
  for (const auto& [name, value] : entries_) {
    if (!out.empty()) out += ", ";
    out += name + "=" + tuning::to_string(value);
  }
  return out;
}

nlohmann::json Params::to_json() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : entries_) out[name] = tuning::to_json(value);
  return out;
}

Params Params::from_json(const nlohmann::json& json) {
  if (!json.is_object())
    throw ValueError("Params: expected a JSON object name -> value, got " + json.dump().substr(0, 80));
  Params out;
  for (const auto& [name, value] : json.items()) out.set(name, value_from_json(value, "parameter '" + name + "'"));
  return out;
}

bool operator==(const Params& a, const Params& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [name, value] : a.entries_)
    if (!b.contains(name) || !values_equal(value, b.at(name))) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Expressions

std::string kind_name(Kind kind) {
  switch (kind) {
    case Kind::constant:
      return "constant";
    case Kind::uniform:
      return "uniform";
    case Kind::loguniform:
      return "loguniform";
    case Kind::quniform:
      return "quniform";
    case Kind::qloguniform:
      return "qloguniform";
    case Kind::randint:
      return "randint";
    case Kind::choice:
      return "choice";
  }
  return "?";
}

Option::Option(Value label_, std::vector<Expr> space_) : label(std::move(label_)), space(std::move(space_)) {}

namespace hp {
namespace {
Expr make(Kind kind, std::string name, double low, double high, double q) {
  Expr e;
  e.kind = kind;
  e.name = std::move(name);
  e.low = low;
  e.high = high;
  e.q = q;
  return e;
}
}  // namespace

Expr uniform(std::string name, double low, double high) { return make(Kind::uniform, std::move(name), low, high, 0); }
Expr loguniform(std::string name, double low, double high) {
  return make(Kind::loguniform, std::move(name), low, high, 0);
}
Expr quniform(std::string name, double low, double high, double q) {
  return make(Kind::quniform, std::move(name), low, high, q);
}
Expr qloguniform(std::string name, double low, double high, double q) {
  return make(Kind::qloguniform, std::move(name), low, high, q);
}
Expr randint(std::string name, int64_t low, int64_t high) {
  return make(Kind::randint, std::move(name), static_cast<double>(low), static_cast<double>(high), 0);
}
Expr choice(std::string name, std::vector<Option> options) {
  Expr e = make(Kind::choice, std::move(name), 0, 0, 0);
  e.options = std::move(options);
  return e;
}
Expr constant(std::string name, Value value) {
  Expr e = make(Kind::constant, std::move(name), 0, 0, 0);
  e.value = std::move(value);
  return e;
}
Option branch(Value label, std::vector<Expr> space) { return Option(std::move(label), std::move(space)); }
}  // namespace hp

double quantize(double x, double q) {
  // 15 significant digits drop the binary noise of the product: 14 * 0.05 is 0.7, not 0.7000000000000001.
  return std::stod(fmt::format("{:.15g}", std::round(x / q) * q));
}

namespace {

std::string where(const Expr& e, const std::string& path) {
  return fmt::format("search space: parameter '{}' ({})", path, kind_name(e.kind));
}

// The lattice indices k with k*q reachable from [low, high): cells [(k-1/2)q, (k+1/2)q) that
// overlap [low, high) with positive length.
std::pair<int64_t, int64_t> lattice(double low, double high, double q) {
  auto kmin = static_cast<int64_t>(std::floor(low / q + 0.5));
  if ((static_cast<double>(kmin) + 0.5) * q <= low) ++kmin;
  auto kmax = static_cast<int64_t>(std::ceil(high / q - 0.5));
  if ((static_cast<double>(kmax) - 0.5) * q >= high) --kmax;
  return {kmin, kmax};
}

void check_expr(const Expr& e, const std::string& path) {
  if (e.name.empty()) throw ValueError(fmt::format("search space: a parameter at '{}' has an empty name", path));
  const std::string at = where(e, path);
  switch (e.kind) {
    case Kind::constant:
    case Kind::choice:
      break;
    case Kind::uniform:
    case Kind::loguniform:
    case Kind::quniform:
    case Kind::qloguniform:
    case Kind::randint:
      if (!std::isfinite(e.low) || !std::isfinite(e.high))
        throw ValueError(fmt::format("{}: bounds [{}, {}] must be finite", at, e.low, e.high));
      if (e.low >= e.high)
        throw ValueError(fmt::format("{}: low ({}) must be < high ({}){}", at, e.low, e.high,
                                     e.low == e.high ? "; for a fixed value use a constant" : ""));
      break;
  }
  if ((e.kind == Kind::loguniform || e.kind == Kind::qloguniform) && e.low <= 0)
    throw ValueError(
        fmt::format("{}: low ({}) must be > 0: the bounds are the values themselves (regula's "
                    "loguniform samples exp(uniform(log low, log high)))",
                    at, e.low));
  if ((e.kind == Kind::quniform || e.kind == Kind::qloguniform) && !(e.q > 0 && std::isfinite(e.q)))
    throw ValueError(fmt::format("{}: q ({}) must be a finite number > 0", at, e.q));
  if (e.kind == Kind::quniform || e.kind == Kind::qloguniform) {
    const auto [kmin, kmax] = lattice(e.low, e.high, e.q);
    if (kmax < kmin)
      throw ValueError(fmt::format("{}: no multiple of q ({}) lies in [{}, {})", at, e.q, e.low, e.high));
  }
  if (e.kind == Kind::choice) {
    if (e.options.empty()) throw ValueError(fmt::format("{}: has no options; a choice needs at least one", at));
    for (size_t i = 0; i < e.options.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (values_equal(e.options[i].label, e.options[j].label))
          throw ValueError(fmt::format("{}: options {} and {} are both {}; options must be distinct", at, j, i,
                                       to_string(e.options[i].label)));
  }
}

// Numbers the expressions depth-first, checks each, and returns the names each can make active
// (name → path), refusing two siblings that can be active together under one name.
std::map<std::string, std::string> index_list(const std::vector<Expr>& list, const std::string& prefix,
                                              std::vector<const Expr*>& nodes, std::vector<std::string>& paths) {
  std::map<std::string, std::string> names;
  for (const Expr& e : list) {
    const std::string path = prefix + e.name;
    check_expr(e, path);
    const_cast<Expr&>(e).id = static_cast<int>(nodes.size());
    nodes.push_back(&e);
    paths.push_back(path);
    std::map<std::string, std::string> mine{{e.name, path}};
    for (const Option& option : e.options) {
      const auto sub = index_list(option.space, path + "=" + to_string(option.label) + "/", nodes, paths);
      for (const auto& [name, sub_path] : sub) {
        if (mine.count(name) && name == e.name)
          throw ValueError(
              fmt::format("search space: parameter '{}' is also the name of its own choice ('{}'); names "
                          "must be unique within one configuration",
                          sub_path, path));
        mine.emplace(name, sub_path);
      }
    }
    for (const auto& [name, p] : mine)
      if (const auto it = names.find(name); it != names.end())
        throw ValueError(
            fmt::format("search space: two parameters named '{}' can be active together ('{}' and '{}'); "
                        "names must be unique within one configuration (the same name may appear only "
                        "in different branches of one choice)",
                        name, it->second, p));
    names.insert(mine.begin(), mine.end());
  }
  return names;
}

Value sample_value(const Expr& e, Rng& rng) {
  switch (e.kind) {
    case Kind::uniform:
      return rng.uniform(e.low, e.high);
    case Kind::loguniform:
      return std::exp(rng.uniform(std::log(e.low), std::log(e.high)));
    case Kind::quniform:
      return quantize(rng.uniform(e.low, e.high), e.q);
    case Kind::qloguniform:
      return quantize(std::exp(rng.uniform(std::log(e.low), std::log(e.high))), e.q);
    case Kind::randint:
      return static_cast<int64_t>(e.low) + static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(e.high - e.low)));
    case Kind::choice:
      return static_cast<int64_t>(rng.uniform_int(e.options.size()));
    case Kind::constant:
      return e.value;
  }
  return e.value;
}

void build_list(const std::vector<Expr>& list, const std::function<Value(const Expr&)>& pick, Params& out) {
  for (const Expr& e : list) {
    if (e.kind == Kind::constant) {
      out.set(e.name, e.value);
    } else if (e.kind == Kind::choice) {
      const Value index = pick(e);
      const int64_t* i = std::get_if<int64_t>(&index);
      if (!i || *i < 0 || *i >= static_cast<int64_t>(e.options.size()))
        throw ValueError(
            fmt::format("Space::build: the pick for choice '{}' must be an option index in [0, {}), got {}", e.name,
                        e.options.size(), to_string(index)));
      const Option& option = e.options[static_cast<size_t>(*i)];
      out.set(e.name, option.label);
      build_list(option.space, pick, out);
    } else {
      out.set(e.name, pick(e));
    }
  }
}

size_t saturating_mul(size_t a, size_t b) {
  if (a != 0 && b > std::numeric_limits<size_t>::max() / a) return std::numeric_limits<size_t>::max();
  return a * b;
}
size_t saturating_add(size_t a, size_t b) {
  return b > std::numeric_limits<size_t>::max() - a ? std::numeric_limits<size_t>::max() : a + b;
}

size_t grid_size_list(const std::vector<Expr>& list, const std::string& prefix);

size_t grid_size_expr(const Expr& e, const std::string& path) {
  switch (e.kind) {
    case Kind::constant:
      return 1;
    case Kind::uniform:
    case Kind::loguniform:
      throw ValueError(
          fmt::format("grid search: parameter '{}' is continuous ({}) and cannot be enumerated; use "
                      "hp::choice with a list of values or hp::quniform with a step q",
                      path, kind_name(e.kind)));
    case Kind::quniform:
    case Kind::qloguniform: {
      const auto [kmin, kmax] = lattice(e.low, e.high, e.q);
      return static_cast<size_t>(kmax - kmin + 1);
    }
    case Kind::randint:
      return static_cast<size_t>(e.high - e.low);
    case Kind::choice: {
      size_t total = 0;
      for (const Option& o : e.options)
        total = saturating_add(total, grid_size_list(o.space, path + "=" + to_string(o.label) + "/"));
      return total;
    }
  }
  return 1;
}

size_t grid_size_list(const std::vector<Expr>& list, const std::string& prefix) {
  size_t total = 1;
  for (const Expr& e : list) total = saturating_mul(total, grid_size_expr(e, prefix + e.name));
  return total;
}

using Partial = std::vector<std::pair<std::string, Value>>;

std::vector<Partial> grid_list(const std::vector<Expr>& list);

std::vector<Partial> grid_expr(const Expr& e) {
  std::vector<Partial> out;
  switch (e.kind) {
    case Kind::constant:
      out.push_back({{e.name, e.value}});
      break;
    case Kind::quniform:
    case Kind::qloguniform: {
      const auto [kmin, kmax] = lattice(e.low, e.high, e.q);
      for (int64_t k = kmin; k <= kmax; ++k) out.push_back({{e.name, quantize(static_cast<double>(k) * e.q, e.q)}});
      break;
    }
    case Kind::randint:
      for (auto k = static_cast<int64_t>(e.low); k < static_cast<int64_t>(e.high); ++k) out.push_back({{e.name, k}});
      break;
    case Kind::choice:
      for (const Option& o : e.options)
        for (Partial& sub : grid_list(o.space)) {
          Partial p{{e.name, o.label}};
          p.insert(p.end(), std::make_move_iterator(sub.begin()), std::make_move_iterator(sub.end()));
          out.push_back(std::move(p));
        }
      break;
    case Kind::uniform:
    case Kind::loguniform:
      break;  // refused by grid_size
  }
  return out;
}

std::vector<Partial> grid_list(const std::vector<Expr>& list) {
  std::vector<Partial> acc{Partial{}};
  for (const Expr& e : list) {
    const std::vector<Partial> mine = grid_expr(e);
    std::vector<Partial> next;
    next.reserve(acc.size() * mine.size());
    for (const Partial& a : acc)
      for (const Partial& b : mine) {
        Partial p = a;
        p.insert(p.end(), b.begin(), b.end());
        next.push_back(std::move(p));
      }
    acc = std::move(next);
  }
  return acc;
}

bool as_number(const Value& v, double& out) {
  if (const int64_t* i = std::get_if<int64_t>(&v)) return out = static_cast<double>(*i), true;
  if (const double* d = std::get_if<double>(&v)) return out = *d, true;
  return false;
}

// Checks the active parameters of `list` in `params`, recording expression id → value; counts the
// names it visited.
void assign_list(const std::vector<Expr>& list, const std::string& prefix, const Params& params,
                 std::map<int, Value>& out, size_t& visited) {
  for (const Expr& e : list) {
    const std::string path = prefix + e.name;
    if (!params.contains(e.name))
      throw ValueError(
          fmt::format("parameter '{}' ({}) is active but missing; present: {}", path, kind_name(e.kind),
                      params.empty() ? std::string("none") : fmt::format("{}", fmt::join(params.names(), ", "))));
    ++visited;
    const Value& v = params.at(e.name);
    const auto bad = [&](const std::string& what) {
      return ValueError(fmt::format("parameter '{}' ({}) = {} {}", path, kind_name(e.kind), to_exact_string(v), what));
    };
    double x = 0.0;
    switch (e.kind) {
      case Kind::constant:
        if (!values_equal(v, e.value)) throw bad(fmt::format("differs from the constant {}", to_exact_string(e.value)));
        out[e.id] = v;
        break;
      case Kind::uniform:
      case Kind::loguniform: {
        if (!as_number(v, x) || !std::isfinite(x)) throw bad("is not a finite number");
        const double tol = 1e-12 * std::max({1.0, std::fabs(e.low), std::fabs(e.high)});
        if (x < e.low - tol || x > e.high + tol) throw bad(fmt::format("is outside [{}, {}]", e.low, e.high));
        out[e.id] = x;
        break;
      }
      case Kind::quniform:
      case Kind::qloguniform: {
        if (!as_number(v, x) || !std::isfinite(x)) throw bad("is not a finite number");
        const double k = std::round(x / e.q);
        if (std::fabs(x - k * e.q) > 1e-9 * std::max(1.0, std::fabs(x)))
          throw bad(fmt::format("is not a multiple of q ({})", e.q));
        const auto [kmin, kmax] = lattice(e.low, e.high, e.q);
        if (k < static_cast<double>(kmin) || k > static_cast<double>(kmax))
          throw bad(fmt::format("is outside the reachable values [{}, {}]",
                                quantize(static_cast<double>(kmin) * e.q, e.q),
                                quantize(static_cast<double>(kmax) * e.q, e.q)));
        out[e.id] = x;
        break;
      }
      case Kind::randint: {
        if (!as_number(v, x) || std::trunc(x) != x) throw bad("is not an integer");
        if (x < e.low || x >= e.high) throw bad(fmt::format("is outside [{}, {})", e.low, e.high));
        out[e.id] = static_cast<int64_t>(x);
        break;
      }
      case Kind::choice: {
        size_t i = 0;
        while (i < e.options.size() && !values_equal(e.options[i].label, v)) ++i;
        if (i == e.options.size()) {
          std::vector<std::string> labels;
          for (const Option& o : e.options) labels.push_back(to_exact_string(o.label));
          throw bad(fmt::format("is not one of the options [{}]", fmt::join(labels, ", ")));
        }
        out[e.id] = static_cast<int64_t>(i);
        assign_list(e.options[i].space, path + "=" + to_string(e.options[i].label) + "/", params, out, visited);
        break;
      }
    }
  }
}

void canonical_list(const std::vector<Expr>& list, const std::map<int, Value>& assignment, const Params& params,
                    Params& out) {
  for (const Expr& e : list) {
    const auto it = assignment.find(e.id);
    if (it == assignment.end()) continue;
    out.set(e.name, params.at(e.name));
    if (e.kind == Kind::choice)
      canonical_list(e.options[static_cast<size_t>(std::get<int64_t>(it->second))].space, assignment, params, out);
  }
}

nlohmann::json list_to_json(const std::vector<Expr>& list);

nlohmann::json expr_to_json(const Expr& e) {
  switch (e.kind) {
    case Kind::constant:
      return to_json(e.value);
    case Kind::uniform:
    case Kind::loguniform:
      return {{kind_name(e.kind), {e.low, e.high}}};
    case Kind::quniform:
    case Kind::qloguniform:
      return {{kind_name(e.kind), {e.low, e.high, e.q}}};
    case Kind::randint:
      return {{"randint", {static_cast<int64_t>(e.low), static_cast<int64_t>(e.high)}}};
    case Kind::choice: {
      nlohmann::json options = nlohmann::json::array();
      for (const Option& o : e.options) {
        if (o.space.empty()) {
          options.push_back(to_json(o.label));
        } else {
          nlohmann::json branch = list_to_json(o.space);
          branch["name"] = to_json(o.label);
          options.push_back(std::move(branch));
        }
      }
      return {{"choice", std::move(options)}};
    }
  }
  return nullptr;
}

nlohmann::json list_to_json(const std::vector<Expr>& list) {
  nlohmann::json out = nlohmann::json::object();
  for (const Expr& e : list) out[e.name] = expr_to_json(e);
  return out;
}

std::vector<Expr> list_from_json(const nlohmann::json& json, const std::string& prefix);

Expr expr_from_json(const std::string& name, const nlohmann::json& json, const std::string& path) {
  if (json.is_boolean() || json.is_number() || json.is_string()) return hp::constant(name, value_from_json(json, path));
  static const char* const kAllowed = "uniform, loguniform, quniform, qloguniform, randint, choice";
  if (!json.is_object() || json.size() != 1)
    throw ValueError(
        fmt::format("search space: parameter '{}': {} is neither a constant (bool, number, string) nor an "
                    "object with one distribution key ({})",
                    path, json.dump().substr(0, 80), kAllowed));
  const std::string key = json.begin().key();
  const nlohmann::json& args = json.begin().value();
  const auto numbers = [&](size_t n, const char* form) {
    if (!args.is_array() || args.size() != n ||
        !std::all_of(args.begin(), args.end(), [](const nlohmann::json& a) { return a.is_number(); }))
      throw ValueError(
          fmt::format("search space: parameter '{}': {} takes {}, got {}", path, key, form, args.dump().substr(0, 80)));
    std::vector<double> out;
    for (const auto& a : args) out.push_back(a.get<double>());
    return out;
  };
  if (key == "uniform" || key == "loguniform") {
    const auto v = numbers(2, "[low, high]");
    return key == "uniform" ? hp::uniform(name, v[0], v[1]) : hp::loguniform(name, v[0], v[1]);
  }
  if (key == "quniform" || key == "qloguniform") {
    const auto v = numbers(3, "[low, high, q]");
    return key == "quniform" ? hp::quniform(name, v[0], v[1], v[2]) : hp::qloguniform(name, v[0], v[1], v[2]);
  }
  if (key == "randint") {
    const auto v = numbers(2, "[low, high) as integers");
    for (double b : v)
      if (std::trunc(b) != b || std::fabs(b) > 9.0e15)
        throw ValueError(
            fmt::format("search space: parameter '{}': randint bounds must be integers, got {}", path, args.dump()));
    return hp::randint(name, static_cast<int64_t>(v[0]), static_cast<int64_t>(v[1]));
  }
  if (key == "choice") {
    if (!args.is_array())
      throw ValueError(fmt::format("search space: parameter '{}': choice takes an array of options, got {}", path,
                                   args.dump().substr(0, 80)));
    std::vector<Option> options;
    for (size_t i = 0; i < args.size(); ++i) {
      const nlohmann::json& o = args[i];
      if (!o.is_object()) {
        options.emplace_back(value_from_json(o, fmt::format("search space: parameter '{}': option {}", path, i)));
        continue;
      }
      if (!o.contains("name"))
        throw ValueError(
            fmt::format("search space: parameter '{}': option {} is an object (a branch) without a "
                        "\"name\" key; a branch needs \"name\": its label",
                        path, i));
      const Value label =
          value_from_json(o.at("name"), fmt::format("search space: parameter '{}': option {} name", path, i));
      nlohmann::json rest = o;
      rest.erase("name");
      options.push_back(hp::branch(label, list_from_json(rest, path + "=" + to_string(label) + "/")));
    }
    return hp::choice(name, std::move(options));
  }
  throw ValueError(
      fmt::format("search space: parameter '{}': unknown distribution '{}'; allowed: {}", path, key, kAllowed));
}

std::vector<Expr> list_from_json(const nlohmann::json& json, const std::string& prefix) {
  std::vector<Expr> out;
  for (const auto& [name, value] : json.items()) out.push_back(expr_from_json(name, value, prefix + name));
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Space

Space::Space(std::vector<Expr> expressions) : expressions_(std::move(expressions)) {
  if (expressions_.empty()) throw ValueError("search space: the space is empty; it needs at least one parameter");
  index();
}

Space::Space(const Space& other) : expressions_(other.expressions_) { index(); }

Space& Space::operator=(const Space& other) {
  if (this != &other) {
    expressions_ = other.expressions_;
    index();
  }
  return *this;
}

void Space::index() {
  nodes_.clear();
  paths_.clear();
  index_list(expressions_, "", nodes_, paths_);
}

Params Space::sample(Rng& rng) const {
  return build([&](const Expr& e) { return sample_value(e, rng); });
}

Params Space::build(const std::function<Value(const Expr&)>& pick) const {
  Params out;
  build_list(expressions_, pick, out);
  return out;
}

size_t Space::grid_size() const { return grid_size_list(expressions_, ""); }

std::vector<Params> Space::grid(size_t max_size) const {
  const size_t n = grid_size();
  if (n > max_size)
    throw ValueError(
        fmt::format("grid search: the grid has {} points, more than the limit {}; use fewer values or "
                    "random search / TPE",
                    n == std::numeric_limits<size_t>::max() ? std::string("too many") : std::to_string(n), max_size));
  std::vector<Params> out;
  out.reserve(n);
  for (Partial& p : grid_list(expressions_)) {
    Params params;
    for (auto& [name, value] : p) params.set(name, std::move(value));
    out.push_back(std::move(params));
  }
  return out;
}

std::map<int, Value> Space::assignment(const Params& params) const {
  std::map<int, Value> out;
  size_t visited = 0;
  assign_list(expressions_, "", params, out, visited);
  if (visited != params.size()) {
    std::set<std::string> active;
    for (const auto& [id, v] : out) active.insert(nodes_[static_cast<size_t>(id)]->name);
    std::vector<std::string> extra;
    for (const auto& name : params.names())
      if (!active.count(name)) extra.push_back(name);
    throw ValueError(fmt::format("parameter(s) {} are not active in this configuration or not in the space; active: {}",
                                 fmt::join(extra, ", "), fmt::join(active, ", ")));
  }
  return out;
}

Params Space::canonical(const Params& params) const {
  const std::map<int, Value> a = assignment(params);
  Params out;
  canonical_list(expressions_, a, params, out);
  return out;
}

nlohmann::json Space::to_json() const { return list_to_json(expressions_); }

Space space_from_json(const nlohmann::json& json) {
  if (!json.is_object())
    throw ValueError("search space: expected a JSON object parameter name -> expression, got " +
                     json.dump().substr(0, 80));
  return Space(list_from_json(json, ""));
}

}  // namespace regula::tuning
