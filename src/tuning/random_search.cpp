// Random search: independent draws from the space's prior, trial k from its own stream.

#include <fmt/format.h>

#include "regula/tuning/search.hpp"

namespace regula::tuning {

RandomSearch::RandomSearch(Space space, SearchOptions options) : Search(std::move(space), std::move(options)) {
  if (max_trials() <= 0) throw ValueError(fmt::format("RandomSearch: max_trials ({}) must be > 0", max_trials()));
}

Params RandomSearch::suggest(int64_t /*number*/, Rng& rng) { return space().sample(rng); }

}  // namespace regula::tuning
