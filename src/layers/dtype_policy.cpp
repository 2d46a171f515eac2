#include "regula/layers/dtype_policy.hpp"

#include <atomic>
#include <cstdio>

#include "regula/error.hpp"

namespace regula::mixed_precision {
namespace {

DTypePolicy& global() {
  static DTypePolicy policy("float32");
  return policy;
}

}  // namespace

DTypePolicy::DTypePolicy(const std::string& name) : name_(name) {
  if (name == "float32") {
    compute_ = backend::ComputeDtype::float32;
  } else if (name == "mixed_bfloat16") {
    compute_ = backend::ComputeDtype::bfloat16;
  } else {
    throw ValueError("dtype policy '" + name + "' is not one of 'float32', 'mixed_bfloat16' (" +
                     (name == "float16" || name == "mixed_float16" || name == "bfloat16" || name == "float64"
                          ? "'" + name + "' is not built"
                          : "unknown name") +
                     ")");
  }
}

backend::ComputeDtype DTypePolicy::kernel_compute() const {
  return compute_ == backend::ComputeDtype::bfloat16 && backend::cpu_has_bfloat16() ? backend::ComputeDtype::bfloat16
                                                                                   : backend::ComputeDtype::float32;
}

nlohmann::json DTypePolicy::get_config() const {
  if (name_ == "float32") return "float32";
  return {{"module", "keras"}, {"class_name", "DTypePolicy"}, {"config", {{"name", name_}}}, {"registered_name", nullptr}};
}

DTypePolicy DTypePolicy::from_config(const nlohmann::json& value, const std::string& where) {
  try {
    if (value.is_string()) return DTypePolicy(value.get<std::string>());
    if (value.is_object() && value.contains("config") && value["config"].is_object() &&
        value["config"].contains("name") && value["config"]["name"].is_string())
      return DTypePolicy(value["config"]["name"].get<std::string>());
  } catch (const ValueError& e) {
    throw ValueError(where + ": " + e.what());
  }
  throw ValueError(where + ": dtype " + value.dump() +
                   " must be a policy name ('float32', 'mixed_bfloat16') or {class_name: DTypePolicy, config: {name: …}}");
}

void check_supported(const DTypePolicy& policy, PolicyOptions options) {
  if (policy.compute_dtype() != "bfloat16" || backend::cpu_has_bfloat16()) return;
  const std::string message = "dtype policy '" + policy.name() +
                              "': this CPU has no bfloat16 instructions (AVX512_BF16 or AMX-BF16), so Conv2D and "
                              "Dense compute in float32";
  if (options.strict) throw ValueError(message + " (strict: refused)");
  static std::atomic<bool> warned{false};
  if (!warned.exchange(true)) std::fprintf(stderr, "regula: warning: %s\n", message.c_str());
}

void set_global_policy(const std::string& name, PolicyOptions options) {
  DTypePolicy policy(name);
  check_supported(policy, options);
  global() = policy;
}

const DTypePolicy& global_policy() { return global(); }

ScopedGlobalPolicy::ScopedGlobalPolicy(const std::string& name, PolicyOptions options) : previous_(global()) {
  set_global_policy(name, options);
}

ScopedGlobalPolicy::~ScopedGlobalPolicy() { global() = previous_; }

}  // namespace regula::mixed_precision
