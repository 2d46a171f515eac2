// Model::recalibrate_batch_normalization: population statistics for every BatchNormalization
// layer, measured in passes that run the network as in inference except for batch normalization.

#include "regula/error.hpp"
#include "regula/model/model.hpp"
#include "src/model/graph.hpp"

namespace regula {

int64_t Model::recalibrate_batch_normalization(data::BatchSource& source, int64_t steps) {
  require_graph("recalibrate_batch_normalization");
  if (steps < 0)
    throw ValueError("recalibrate_batch_normalization: steps=" + std::to_string(steps) +
                     " must be >= 1, or 0 for one pass over the source");
  if (steps == 0) steps = source.batches_per_pass();
  const std::vector<layers::Layer*> all = layers();
  for (layers::Layer* layer : all) layer->begin_population_statistics();
  int64_t samples = 0;
  source.reset();
  data::Batch batch;
  for (int64_t step = 0; step < steps; ++step) {
    source.next(batch);
    if (batch.x.rank() == 0 || batch.x.dim(0) == 0) break;
    forward(batch.x, {.training = false, .step = 0, .communicator = communicator_.get(), .population_statistics = true});
    samples += batch.x.dim(0);
  }
  for (layers::Layer* layer : all) layer->end_population_statistics(communicator_.get());
  return samples;
}

}  // namespace regula
