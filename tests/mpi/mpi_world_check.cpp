// The MPI communicator (regula/distributed/mpi.hpp) under mpirun: tests/CMakeLists.txt runs this
// program on 2 ranks and on 3. Every rank runs every test; mpirun fails when any rank does.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "regula/regula.hpp"
#include "../distributed_fixture.hpp"

namespace rg = regula;
namespace dist = regula::distributed;
using regula::testing_support::on_every_rank;
using regula::testing_support::small_model;
using regula::testing_support::tabular_data;
using regula::testing_support::TabularData;

namespace {

const dist::CommunicatorPtr& world() {
  static const dist::CommunicatorPtr communicator = dist::mpi_world();
  return communicator;
}

/// Rank r's value at index i: magnitudes 1e8 apart, so that float sums depend on their order.
template <class T>
std::vector<T> contribution(int rank, size_t n) {
  const T scales[] = {T(1e8), T(-1e8), T(1), T(3)};
  std::vector<T> values(n);
  for (size_t i = 0; i < n; ++i)
    values[i] = scales[(static_cast<size_t>(rank) + i) % 4] * (T(1) + static_cast<T>(i % 7) * T(0.125)) +
                static_cast<T>(rank) * T(0.001);
  return values;
}

/// The ranks' contributions added in the order given.
template <class T>
std::vector<T> sum_in_order(const std::vector<int>& order, size_t n) {
  std::vector<T> total = contribution<T>(order[0], n);
  for (size_t k = 1; k < order.size(); ++k) {
    const std::vector<T> c = contribution<T>(order[k], n);
    for (size_t i = 0; i < n; ++i) total[i] += c[i];
  }
  return total;
}

std::vector<int> ranks_in_order(int size, bool reversed = false) {
  std::vector<int> order;
  for (int r = 0; r < size; ++r) order.push_back(reversed ? size - 1 - r : r);
  return order;
}

template <class T>
void expect_rank_order_sums(size_t n) {
  const int size = world()->size();
  std::vector<T> values = contribution<T>(world()->rank(), n);
  world()->all_reduce_sum(std::span<T>(values));
  EXPECT_EQ(values, sum_in_order<T>(ranks_in_order(size), n)) << n << " values";
}

}  // namespace

TEST(MpiWorld, IsTheGroupTheLauncherStarted) {
  ASSERT_TRUE(dist::mpi_built());
  ASSERT_TRUE(dist::launched_by_mpi());
  const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
  const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");
  ASSERT_NE(size, nullptr);
  ASSERT_NE(rank, nullptr);
  EXPECT_EQ(world()->size(), std::atoi(size));
  EXPECT_EQ(world()->rank(), std::atoi(rank));
  EXPECT_GE(world()->size(), 2) << "run this program under mpirun -np 2 or more";
}

TEST(MpiWorld, AllReduceSumsInRankOrderOnEveryRank) {
  // 1 value, a few, and 600,000: three chunks of the chain (262,144 values each), the last partial.
  for (size_t n : {size_t{1}, size_t{1000}, size_t{600000}}) {
    expect_rank_order_sums<float>(n);
    expect_rank_order_sums<double>(n);
  }
  // The order is what the test checks: with 3 ranks, adding them the other way round differs.
  if (world()->size() >= 3) {
    EXPECT_NE(sum_in_order<float>(ranks_in_order(world()->size()), 1000),
              sum_in_order<float>(ranks_in_order(world()->size(), true), 1000));
  }
}

TEST(MpiWorld, GivesTheBitsOfAnInProcessGroupOfTheSameSize) {
  const int size = world()->size();
  const size_t n = 5000;
  std::vector<float> over_mpi = contribution<float>(world()->rank(), n);
  world()->all_reduce_sum(std::span<float>(over_mpi));
  dist::InProcessGroup group(size);
  std::vector<std::vector<float>> in_process(static_cast<size_t>(size));
  on_every_rank(size, [&](int r) {
    in_process[static_cast<size_t>(r)] = contribution<float>(r, n);
    group.communicator(r)->all_reduce_sum(std::span<float>(in_process[static_cast<size_t>(r)]));
  });
  for (int r = 0; r < size; ++r) EXPECT_EQ(in_process[static_cast<size_t>(r)], over_mpi) << "thread rank " << r;
}

TEST(MpiWorld, BroadcastCopiesTheRootsValuesAndBarrierMeets) {
  const int root = world()->size() - 1;
  std::vector<double> values = contribution<double>(world()->rank(), 300000);
  world()->broadcast(std::span<double>(values), root);
  EXPECT_EQ(values, contribution<double>(root, 300000));
  std::vector<float> f = contribution<float>(world()->rank(), 3);
  world()->broadcast(std::span<float>(f), 0);
  EXPECT_EQ(f, contribution<float>(0, 3));
  world()->barrier();
}

TEST(MpiWorld, MismatchedCallsAreAnErrorOnEveryRankAndTheGroupGoesOn) {
  // Rank 0 sums 3 values, the others 4: every rank throws, none waits for the others.
  std::vector<float> values(world()->rank() == 0 ? 3 : 4, 1.0f);
  EXPECT_THROW(world()->all_reduce_sum(std::span<float>(values)), rg::ValueError);
  // Different roots.
  std::vector<double> d(2, 1.0);
  EXPECT_THROW(world()->broadcast(std::span<double>(d), world()->rank() == 0 ? 0 : 1), rg::ValueError);
  // A root outside the group, on every rank.
  EXPECT_THROW(world()->broadcast(std::span<double>(d), world()->size()), rg::ValueError);
  // The group goes on.
  std::vector<double> one(1, 1.0);
  world()->all_reduce_sum(std::span<double>(one));
  EXPECT_EQ(one[0], static_cast<double>(world()->size()));
  EXPECT_TRUE(world()->any(world()->rank() == world()->size() - 1));
  EXPECT_FALSE(world()->any(false));
}

TEST(MpiWorld, RequireSameRefusesOnEveryRankWhenOneRankDiffers) {
  world()->require_same(0x0123456789abcdefull, "data");
  const uint64_t mine = world()->rank() == world()->size() - 1 ? 0x0123456789abcdeeull : 0x0123456789abcdefull;
  try {
    world()->require_same(mine, "data");
    ADD_FAILURE() << "rank " << world()->rank() << " was not refused";
  } catch (const rg::ValueError& e) {
    const std::string expected = world()->rank() == world()->size() - 1 ? "differs from rank 0's" : "another rank's differs";
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
}

namespace {

/// Rank r's rows of a global batch of n split into `size` contiguous shards (the first n % size
/// shards one row longer).
std::pair<int64_t, int64_t> shard(int64_t n, int size, int r) {
  const int64_t base = n / size, extra = n % size;
  const int64_t begin = r * base + std::min<int64_t>(r, extra);
  return {begin, begin + base + (r < extra ? 1 : 0)};
}

std::vector<float> flat(const std::vector<rg::Tensor>& weights) {
  std::vector<float> all;
  for (const rg::Tensor& w : weights)
    for (int64_t i = 0; i < w.size(); ++i) all.push_back(w[i]);
  return all;
}

}  // namespace

TEST(MpiDataParallel, RanksOnShardsTrainAsOneProcessOnTheWholeBatch) {
  // Without BatchNormalization: it normalizes each rank's shard by its own statistics (Keras's
  // default), which one process on the whole batch does not. The reference backend, as in the in-process tests (whose ranks are threads); here it also
  // makes the MPI run and the in-process run of the same size comparable bit for bit.
  rg::backend::ScopedBackend reference(rg::backend::BackendKind::reference);
  const int size = world()->size(), rank = world()->rank();
  const TabularData data = tabular_data(10, 3);  // 5 + 5 rows on 2 ranks, 4 + 3 + 3 on 3
  constexpr int kSteps = 5;

  const auto train_shard = [&](rg::Model& model, int r) {
    const auto [begin, end] = shard(10, size, r);
    const rg::Tensor x = data.x.slice_rows(begin, end), y = data.y.slice_rows(begin, end);
    for (int s = 0; s < kSteps; ++s) model.train_on_batch(x, y);
  };

  auto over_mpi = small_model(false);
  over_mpi->set_communicator(world());
  train_shard(*over_mpi, rank);
  const std::vector<float> mine = flat(over_mpi->get_weights());

  // Every rank holds the same weights, bit for bit: rank 0's, broadcast, equal this rank's.
  std::vector<float> rank0 = mine;
  world()->broadcast(std::span<float>(rank0), 0);
  EXPECT_EQ(mine, rank0);

  // The same group size as threads of this process: the same bits.
  dist::InProcessGroup group(size);
  std::vector<std::unique_ptr<rg::Model>> models;
  for (int r = 0; r < size; ++r) {
    models.push_back(small_model(false));
    models.back()->set_communicator(group.communicator(r));
  }
  on_every_rank(size, [&](int r) { train_shard(*models[static_cast<size_t>(r)], r); });
  EXPECT_EQ(flat(models[0]->get_weights()), mine);

  // One process on the whole batch: only the order of the per-sample sums differs (shards of
  // 3–5 rows summed, then the ranks' sums added), a few float32 roundings (~1e-7 relative) a step.
  auto single = small_model(false);
  for (int s = 0; s < kSteps; ++s) single->train_on_batch(data.x, data.y);
  const std::vector<float> expected = flat(single->get_weights());
  ASSERT_EQ(expected.size(), mine.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(mine[i], expected[i], 1e-5) << "weight value " << i;
}

TEST(MpiDataParallel, FitShardsEveryShuffledGlobalBatchAcrossTheRanks) {
  // fit on every rank with the same data and seed: the same shuffled global batches, each rank
  // training on rows rank, rank + N, … of each. Against one process: summation order only.
  rg::backend::ScopedBackend reference(rg::backend::BackendKind::reference);
  const TabularData data = tabular_data(60, 8);  // 48 to train in batches of 12, 12 to validate
  const rg::FitOptions options{.batch_size = 12, .epochs = 3, .verbose = 0, .validation_split = 0.2};
  auto over_mpi = small_model(false);
  over_mpi->set_communicator(world());
  const rg::callbacks::History history = over_mpi->fit(data.x, data.y, options);
  auto single = small_model(false);
  const rg::callbacks::History expected = single->fit(data.x, data.y, options);
  const std::vector<float> mine = flat(over_mpi->get_weights()), reference_weights = flat(single->get_weights());
  std::vector<float> rank0 = mine;
  world()->broadcast(std::span<float>(rank0), 0);
  EXPECT_EQ(mine, rank0);
  for (size_t i = 0; i < mine.size(); ++i) EXPECT_NEAR(mine[i], reference_weights[i], 1e-5) << "weight value " << i;
  for (const std::string key : {"loss", "accuracy", "val_loss", "val_accuracy"})
    for (size_t e = 0; e < 3; ++e) EXPECT_NEAR(history[key][e], expected[key][e], 1e-5) << key << " epoch " << e;
}

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  world();  // MPI starts before the tests, on this thread
  return RUN_ALL_TESTS();
}
