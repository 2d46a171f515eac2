#include "regula/regularizers/regularizer.hpp"

#include <cmath>

#include "regula/backend/context.hpp"
#include "regula/config/registry.hpp"
#include "regula/error.hpp"

namespace regula::regularizers {

Regularizer::Regularizer(double l1, double l2) : l1_(l1), l2_(l2) {
  if (!(l1 >= 0.0) || !(l2 >= 0.0) || !std::isfinite(l1) || !std::isfinite(l2))
    throw ValueError("Regularizer: l1=" + std::to_string(l1) + ", l2=" + std::to_string(l2) +
                     ": both factors must be finite and >= 0");
}

double Regularizer::penalty(const Tensor& x) const {
  return backend::current().l1_l2_penalty(x.size(), x.data(), l1_, l2_);
}

void Regularizer::add_gradient(const Tensor& x, float scale, Tensor& grad) const {
  backend::current().add_l1_l2_gradient(x.size(), x.data(), static_cast<float>(scale * l1_),
                                        static_cast<float>(2.0 * scale * l2_), grad.data());
}

nlohmann::json Regularizer::get_config() const {
  if (l1_ == 0.0 && l2_ != 0.0) return {{"class_name", "L2"}, {"config", {{"l2", l2_}}}};
  if (l2_ == 0.0 && l1_ != 0.0) return {{"class_name", "L1"}, {"config", {{"l1", l1_}}}};
  return {{"class_name", "L1L2"}, {"config", {{"l1", l1_}, {"l2", l2_}}}};
}

RegularizerPtr l1(double l1) { return std::make_shared<Regularizer>(l1, 0.0); }
RegularizerPtr l2(double l2) { return std::make_shared<Regularizer>(0.0, l2); }
RegularizerPtr l1_l2(double l1, double l2) { return std::make_shared<Regularizer>(l1, l2); }

RegularizerPtr from_config(const nlohmann::json& config, const std::string& where) {
  if (config.is_null()) return nullptr;
  using Registry = config::Registry<RegularizerPtr>;
  static const Registry registry({.kind = "regularizer", .example = "{class_name: L2, config: {l2: 0.01}}"},
                                 {{"L1", [](config::ConfigReader& r) { return l1(r.get_double("l1", 0.01)); }},
                                  {"L2", [](config::ConfigReader& r) { return l2(r.get_double("l2", 0.01)); }},
                                  {"L1L2", [](config::ConfigReader& r) {
                                     const double l1_factor = r.get_double("l1", 0.0);
                                     return l1_l2(l1_factor, r.get_double("l2", 0.0));
                                   }}});
  return registry.make(config, where);
}

}  // namespace regula::regularizers
