#pragma once
/// @file
/// Mixed precision as Keras 3 (`keras.mixed_precision`, `keras.config.set_dtype_policy`): a
/// layer's dtype policy names the dtype of its variables and the dtype of its computations.
///
/// ```cpp
/// rg::mixed_precision::set_global_policy("mixed_bfloat16");  // layers made from now on
/// auto model = rg::models::seed_model();                     // Conv2D, Dense compute in bfloat16
/// ```
///
/// Policies: "float32" (the default) and "mixed_bfloat16" — variables and optimizer state in
/// float32, the products of Conv2D and Dense in bfloat16 (their inputs and kernels rounded to
/// bfloat16, sums in float32, results in float32), everything else (batch normalization,
/// activations, softmax, losses, metrics) in float32, as Keras computes losses and softmax
/// outputs. regula keeps the values between layers in float32 where Keras keeps bfloat16, so a
/// mixed_bfloat16 model here is at least as precise as Keras's; Keras's advice of a last
/// `Activation("linear", dtype="float32")` is accepted and changes nothing. "float16" and
/// "mixed_float16" (which need loss scaling) are not built.
///
/// On a CPU without bfloat16 instructions (AVX512_BF16 or AMX-BF16, as oneDNN detects them,
/// within ONEDNN_MAX_CPU_ISA), a mixed_bfloat16 policy warns once on stderr and the layers compute
/// in float32; `strict` makes it an error instead.

#include <string>

#include <nlohmann/json.hpp>

#include "regula/backend/compute_dtype.hpp"

namespace regula::mixed_precision {

class DTypePolicy {
 public:
  /// ValueError for a name other than "float32" or "mixed_bfloat16" (naming both).
  explicit DTypePolicy(const std::string& name = "float32");
  /// "float32" or "mixed_bfloat16".
  const std::string& name() const { return name_; }
  /// The variables' dtype: "float32" for both policies.
  std::string variable_dtype() const { return "float32"; }
  /// "float32" or "bfloat16", as Keras reports it.
  std::string compute_dtype() const { return compute_ == backend::ComputeDtype::bfloat16 ? "bfloat16" : "float32"; }
  /// What the layer's kernels compute in here: bfloat16 where the policy asks for it and the
  /// CPU has bfloat16 instructions, else float32.
  backend::ComputeDtype kernel_compute() const;
  bool operator==(const DTypePolicy& other) const { return name_ == other.name_; }

  /// A layer configuration's "dtype": "float32" as a string (Keras 2 and regula's files before
  /// mixed precision), otherwise Keras 3's {"module": "keras", "class_name": "DTypePolicy",
  /// "config": {"name": …}}.
  nlohmann::json get_config() const;
  /// From a name ("float32", "mixed_bfloat16"; "bfloat16" alone is refused as not built) or a
  /// {class_name: DTypePolicy | Policy, config: {name}} object; ValueError naming `where`.
  static DTypePolicy from_config(const nlohmann::json& value, const std::string& where);

 private:
  std::string name_;
  backend::ComputeDtype compute_;
};

/// How set_global_policy treats a bfloat16 policy on a CPU without bfloat16 instructions.
struct PolicyOptions {
  /// false: warn once and compute in float32; true: throw ValueError.
  bool strict = false;
};

/// The policy of the layers made from now on (Keras's `set_global_policy`). Warns once (or,
/// strict, throws) when the CPU cannot compute the policy's dtype.
void set_global_policy(const std::string& name, PolicyOptions options = {});
/// The policy new layers take.
const DTypePolicy& global_policy();

/// Warns once per process on stderr when `policy` asks for bfloat16 and the CPU lacks it;
/// throws ValueError instead when `options.strict`.
void check_supported(const DTypePolicy& policy, PolicyOptions options = {});

/// RAII: `set_global_policy(name, options)` for the guard's lifetime, then the previous policy.
class ScopedGlobalPolicy {
 public:
  explicit ScopedGlobalPolicy(const std::string& name, PolicyOptions options = {});
  ~ScopedGlobalPolicy();
  ScopedGlobalPolicy(const ScopedGlobalPolicy&) = delete;
  ScopedGlobalPolicy& operator=(const ScopedGlobalPolicy&) = delete;

 private:
  DTypePolicy previous_;
};

}  // namespace regula::mixed_precision
