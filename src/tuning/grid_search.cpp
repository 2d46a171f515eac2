// Grid search: trial k is point k of the space's grid (Cartesian product, union over branches).

#include <fmt/format.h>

#include "regula/tuning/search.hpp"

namespace regula::tuning {

GridSearch::GridSearch(Space space, SearchOptions options) : Search(std::move(space), std::move(options)) {
  grid_ = this->space().grid();
  const auto size = static_cast<int64_t>(grid_.size());
  if (max_trials() == 0 || max_trials() > size) set_max_trials(size);
}

Params GridSearch::suggest(int64_t number, Rng& /*rng*/) { return grid_.at(static_cast<size_t>(number)); }

void GridSearch::check_resumed(const Results& loaded, const std::string& path) const {
  for (const Trial& trial : loaded.trials()) {
    const auto k = static_cast<size_t>(trial.number);
    if (k >= grid_.size() || !(trial.params == grid_[k]))
      throw ValueError(
          fmt::format("results file '{}': trial {} has parameters {} but grid point {} is {}; the grid "
                      "changed since the file was written (use another file or overwrite)",
                      path, trial.number, trial.params.to_string(), trial.number,
                      k < grid_.size() ? grid_[k].to_string() : std::string("beyond the grid")));
  }
}

}  // namespace regula::tuning
