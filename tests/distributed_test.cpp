// The distributed seam: the communicator's collectives (in-process ranks as threads), and data-
// parallel training through it: N ranks on shards of a global batch give the one-process result.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <thread>

#include "regula/regula.hpp"
#include "distributed_fixture.hpp"
#include "regula/layers/layer_factory.hpp"

namespace rg = regula;
namespace dist = regula::distributed;

namespace {

using regula::testing_support::on_every_rank;
using Data = regula::testing_support::TabularData;

Data make_data(int64_t n, uint64_t seed) { return regula::testing_support::tabular_data(n, seed); }
std::unique_ptr<rg::Model> make_model(bool batch_norm) { return regula::testing_support::small_model(batch_norm); }

/// The ranks run as threads of one process, and the fast CPU backend's scratch buffers are
/// process-wide (one caller at a time): these tests use the reference backend, which has none.
class DataParallel : public ::testing::Test {
  rg::backend::ScopedBackend reference_{rg::backend::BackendKind::reference};
};

}  // namespace

TEST(InProcessGroup, AllReduceSumsInRankOrderOnEveryRank) {
  dist::InProcessGroup group(3);
  // Float addition is not associative: (1e8 + 1) - 1e8 is 0 in float, 1e8 + (1 - 1e8) is not.
  const float values[3] = {1e8f, 1.0f, -1e8f};
  const float in_rank_order = (values[0] + values[1]) + values[2];
  on_every_rank(3, [&](int r) {
    auto comm = group.communicator(r);
    EXPECT_EQ(comm->rank(), r);
    EXPECT_EQ(comm->size(), 3);
    std::vector<float> f = {values[r], static_cast<float>(r + 1)};
    comm->all_reduce_sum(std::span<float>(f));
    EXPECT_EQ(f[0], in_rank_order);
    EXPECT_EQ(f[1], 6.0f);
    std::vector<double> d = {0.5 * r, 1.0};
    comm->all_reduce_sum(std::span<double>(d));
    EXPECT_EQ(d[0], 1.5);
    EXPECT_EQ(d[1], 3.0);
    EXPECT_EQ(comm->any(r == 2), true);
    EXPECT_EQ(comm->any(false), false);
  });
}

TEST(InProcessGroup, BroadcastCopiesTheRootsValuesAndBarrierMeets) {
  dist::InProcessGroup group(2);
  on_every_rank(2, [&](int r) {
    auto comm = group.communicator(r);
    std::vector<float> f = {static_cast<float>(10 + r), static_cast<float>(20 + r)};
    comm->broadcast(std::span<float>(f), 1);
    EXPECT_EQ(f, (std::vector<float>{11.0f, 21.0f}));
    std::vector<double> d = {static_cast<double>(r)};
    comm->broadcast(std::span<double>(d), 0);
    EXPECT_EQ(d[0], 0.0);
    comm->barrier();
    EXPECT_THROW(comm->broadcast(std::span<float>(f), 2), rg::ValueError);
  });
}

TEST(InProcessGroup, MismatchedCallsAreAnErrorOnEveryRankAndTheGroupGoesOn) {
  dist::InProcessGroup group(2);
  on_every_rank(2, [&](int r) {
    auto comm = group.communicator(r);
    std::vector<float> f(static_cast<size_t>(r + 1), 1.0f);
    try {
      comm->all_reduce_sum(std::span<float>(f));
      ADD_FAILURE() << "rank " << r << ": no error for buffers of 1 and 2 values";
    } catch (const rg::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("same collective calls"), std::string::npos) << e.what();
    }
    std::vector<float> g = {1.0f};
    comm->all_reduce_sum(std::span<float>(g));
    EXPECT_EQ(g[0], 2.0f);
  });
}

TEST(InProcessGroup, ARankThatNeverComesIsATimeoutNotAHang) {
  dist::InProcessGroup group(2, 0.2);
  std::vector<float> f = {1.0f};
  EXPECT_THROW(group.communicator(0)->all_reduce_sum(std::span<float>(f)), rg::StateError);
  EXPECT_THROW(dist::InProcessGroup(0), rg::ValueError);
  EXPECT_THROW(group.communicator(2), rg::ValueError);
}

TEST_F(DataParallel, TwoRanksOnHalfBatchesTrainAsOneProcessOnTheWholeBatch) {
  const Data data = make_data(8, 3);
  constexpr int kSteps = 6;
  auto single = make_model(false);
  const std::vector<rg::Tensor> initial = single->get_weights();
  std::vector<double> single_losses;
  for (int s = 0; s < kSteps; ++s) single_losses.push_back(single->train_on_batch(data.x, data.y));

  dist::InProcessGroup group(2);
  std::vector<std::vector<rg::Tensor>> weights(2);
  std::vector<std::vector<double>> losses(2);
  std::vector<std::unique_ptr<rg::Model>> models;
  for (int r = 0; r < 2; ++r) {
    models.push_back(make_model(false));
    models.back()->set_weights(initial);
    models.back()->set_communicator(group.communicator(r));
  }
  on_every_rank(2, [&](int r) {
    const rg::Tensor x = data.x.slice_rows(4 * r, 4 * r + 4), y = data.y.slice_rows(4 * r, 4 * r + 4);
    for (int s = 0; s < kSteps; ++s) losses[static_cast<size_t>(r)].push_back(models[static_cast<size_t>(r)]->train_on_batch(x, y));
    weights[static_cast<size_t>(r)] = models[static_cast<size_t>(r)]->get_weights();
  });
  const std::vector<rg::Tensor> expected = single->get_weights();
  // The ranks agree bit for bit (same reduced gradients, same updates).
  for (size_t w = 0; w < expected.size(); ++w)
    for (int64_t i = 0; i < expected[w].size(); ++i) ASSERT_EQ(weights[0][w][i], weights[1][w][i]) << "weight " << w;
  // Against one process: only the order in which per-sample contributions are summed differs
  // (4 + 4 rows instead of 8 in one GEMM), a few float32 roundings (~1e-7 relative) per step.
  for (size_t w = 0; w < expected.size(); ++w)
    for (int64_t i = 0; i < expected[w].size(); ++i) EXPECT_NEAR(weights[0][w][i], expected[w][i], 1e-5) << "weight " << w;
  for (int s = 0; s < kSteps; ++s) {
    EXPECT_EQ(losses[0][static_cast<size_t>(s)], losses[1][static_cast<size_t>(s)]);
    EXPECT_NEAR(losses[0][static_cast<size_t>(s)], single_losses[static_cast<size_t>(s)], 1e-6);
  }
  // The loss is not the mean of the ranks' losses by accident: one rank alone has another.
  EXPECT_GT(std::abs(single_losses[0] - make_model(false)->train_on_batch(data.x.slice_rows(0, 4), data.y.slice_rows(0, 4))), 1e-4);
}

TEST_F(DataParallel, ANonFiniteValueOnOneRankStopsEveryRankBeforeTheUpdate) {
  Data data = make_data(8, 4);
  data.x[4 * 4] = std::numeric_limits<float>::infinity();  // in rank 1's shard
  dist::InProcessGroup group(2, 10.0);
  std::vector<std::unique_ptr<rg::Model>> models;
  for (int r = 0; r < 2; ++r) {
    models.push_back(make_model(false));
    models.back()->set_communicator(group.communicator(r));
  }
  const std::vector<rg::Tensor> before = models[0]->get_weights();
  std::vector<double> losses(2);
  on_every_rank(2, [&](int r) {
    losses[static_cast<size_t>(r)] = models[static_cast<size_t>(r)]->train_on_batch(data.x.slice_rows(4 * r, 4 * r + 4), data.y.slice_rows(4 * r, 4 * r + 4));
  });
  EXPECT_FALSE(std::isfinite(losses[0]));
  EXPECT_FALSE(std::isfinite(losses[1]));
  for (int r = 0; r < 2; ++r) {
    const std::vector<rg::Tensor> after = models[static_cast<size_t>(r)]->get_weights();
    for (size_t w = 0; w < before.size(); ++w)
      for (int64_t i = 0; i < before[w].size(); ++i) ASSERT_EQ(after[w][i], before[w][i]) << "rank " << r << " weight " << w;
  }
}

TEST_F(DataParallel, BatchNormalizationMovingStatisticsAreTheRanksMean) {
  const Data data = make_data(8, 5);
  dist::InProcessGroup group(2);
  std::vector<std::unique_ptr<rg::Model>> models;
  for (int r = 0; r < 2; ++r) {
    models.push_back(make_model(true));
    models.back()->set_communicator(group.communicator(r));
  }
  // What each rank's shard alone makes of the moving statistics after one step.
  std::vector<rg::Tensor> alone(2);
  for (int r = 0; r < 2; ++r) {
    auto solo = make_model(true);
    solo->train_on_batch(data.x.slice_rows(4 * r, 4 * r + 4), data.y.slice_rows(4 * r, 4 * r + 4));
    alone[static_cast<size_t>(r)] = solo->get_layer("batch_normalization").weights()[2].value.clone();
  }
  on_every_rank(2, [&](int r) {
    models[static_cast<size_t>(r)]->train_on_batch(data.x.slice_rows(4 * r, 4 * r + 4), data.y.slice_rows(4 * r, 4 * r + 4));
  });
  const rg::Tensor& m0 = models[0]->get_layer("batch_normalization").weights()[2].value;
  const rg::Tensor& m1 = models[1]->get_layer("batch_normalization").weights()[2].value;
  ASSERT_EQ(m0.size(), 8);
  bool differs = false;
  for (int64_t c = 0; c < m0.size(); ++c) {
    EXPECT_EQ(m0[c], m1[c]);
    EXPECT_FLOAT_EQ(m0[c], (alone[0][c] + alone[1][c]) * 0.5f);
    differs = differs || alone[0][c] != alone[1][c];
  }
  EXPECT_TRUE(differs) << "the shards should give different batch statistics";
}

TEST_F(DataParallel, OneRanksStopDecisionEndsFitOnEveryRank) {
  const Data data = make_data(16, 6);
  dist::InProcessGroup group(2, 10.0);
  std::vector<std::unique_ptr<rg::Model>> models;
  for (int r = 0; r < 2; ++r) {
    models.push_back(make_model(false));
    models.back()->set_communicator(group.communicator(r));
  }
  std::vector<size_t> epochs(2);
  std::vector<double> accuracy(2);
  on_every_rank(2, [&](int r) {
    rg::Model& model = *models[static_cast<size_t>(r)];
    rg::callbacks::LambdaCallback stop_on_rank_0({.on_epoch_end = [&](int epoch, rg::callbacks::Logs&) {
      if (r == 0 && epoch == 1) model.stop_training = true;
    }});
    // The same global data on every rank; fit trains each on its shard of every batch.
    auto history = model.fit(data.x, data.y,
                             {.batch_size = 8, .epochs = 5, .verbose = 0, .callbacks = {&stop_on_rank_0}, .shuffle = false});
    epochs[static_cast<size_t>(r)] = history.size();
    accuracy[static_cast<size_t>(r)] = history["accuracy"].back();
  });
  EXPECT_EQ(epochs[0], 2u);
  EXPECT_EQ(epochs[1], 2u);
  EXPECT_EQ(accuracy[0], accuracy[1]) << "the logged accuracy is the global one on every rank";
}

TEST(Mpi, LaunchedByMpiReadsTheLaunchersEnvironment) {
  // The variables Open MPI's mpirun, PMI and PMIx launchers set; none is set when ctest runs.
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"}) {
    ASSERT_EQ(std::getenv(name), nullptr) << name;
  }
  EXPECT_FALSE(dist::launched_by_mpi());
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"}) {
    setenv(name, "2", 1);
    EXPECT_TRUE(dist::launched_by_mpi()) << name;
    unsetenv(name);
  }
  EXPECT_FALSE(dist::launched_by_mpi());
  if (!dist::mpi_built()) {
    EXPECT_THROW(dist::mpi_world(), rg::StateError);
  }
}

TEST_F(DataParallel, FitOnRanksTrainsEachRankOnItsShardOfEveryGlobalBatch) {
  // fit with a communicator: every rank draws the same global batches and trains on its strided
  // shard (rows r, r + N, …). Unshuffled here: the ranks are threads of one process, whose
  // global seed stream they would share (processes under MPI each have their own: the MPI check
  // runs this shuffled). 40 samples, 8 for validation, batches of 8: shards of 4, or 3 and 2.
  const Data data = make_data(40, 6);
  const regula::FitOptions options{.batch_size = 8, .epochs = 3, .verbose = 0, .validation_split = 0.2, .shuffle = false};
  auto single = make_model(false);
  const rg::callbacks::History expected = single->fit(data.x, data.y, options);
  for (int ranks : {2, 3}) {
    dist::InProcessGroup group(ranks);
    std::vector<std::unique_ptr<rg::Model>> models;
    std::vector<rg::callbacks::History> histories(static_cast<size_t>(ranks));
    for (int r = 0; r < ranks; ++r) {
      models.push_back(make_model(false));
      models.back()->set_communicator(group.communicator(r));
    }
    on_every_rank(ranks, [&](int r) { histories[static_cast<size_t>(r)] = models[static_cast<size_t>(r)]->fit(data.x, data.y, options); });
    const std::vector<rg::Tensor> expected_weights = single->get_weights();
    for (int r = 0; r < ranks; ++r) {
      const std::vector<rg::Tensor> w = models[static_cast<size_t>(r)]->get_weights();
      for (size_t k = 0; k < w.size(); ++k)
        for (int64_t i = 0; i < w[k].size(); ++i) {
          ASSERT_EQ(w[k][i], models[0]->get_weights()[k][i]) << ranks << " ranks, rank " << r;
          // Summation order only (shards summed, then the ranks' sums): a few float32 roundings a step.
          EXPECT_NEAR(w[k][i], expected_weights[k][i], 1e-5) << ranks << " ranks, weight " << k;
        }
      for (const std::string key : {"loss", "accuracy", "val_loss", "val_accuracy"})
        for (size_t e = 0; e < 3; ++e)
          EXPECT_NEAR(histories[static_cast<size_t>(r)][key][e], expected[key][e], 1e-5)
              << ranks << " ranks, " << key << " epoch " << e;
    }
  }
  // A global batch with fewer samples than ranks leaves a rank without any: a clear error, on
  // every rank alike (none waits for the others in a collective).
  dist::InProcessGroup group(3);
  std::vector<std::unique_ptr<rg::Model>> models;
  for (int r = 0; r < 3; ++r) {
    models.push_back(make_model(false));
    models.back()->set_communicator(group.communicator(r));
  }
  std::vector<bool> refused(3, false);
  on_every_rank(3, [&](int r) {
    try {
      models[static_cast<size_t>(r)]->fit(data.x.slice_rows(0, 2), data.y.slice_rows(0, 2), {.batch_size = 2, .epochs = 1, .verbose = 0});
    } catch (const rg::ValueError&) {
      refused[static_cast<size_t>(r)] = true;
    }
  });
  EXPECT_EQ(refused, std::vector<bool>(3, true));
}

TEST(InProcessGroup, RequireSameRefusesOnEveryRankWhenOneRankDiffers) {
  // FNV-1a, 64 bits: the published value of "a".
  EXPECT_EQ(dist::fingerprint("a", 1), 0xaf63dc4c8601ec8cull);
  dist::InProcessGroup group(3);
  on_every_rank(3, [&](int r) { group.communicator(r)->require_same(0x0123456789abcdefull, "experiment"); });
  std::vector<std::string> errors(3);
  on_every_rank(3, [&](int r) {
    // Rank 2's value differs from rank 0's in its top 16 bits only.
    const uint64_t value = r == 2 ? 0x8123456789abcdefull : 0x0123456789abcdefull;
    try {
      group.communicator(r)->require_same(value, "experiment");
    } catch (const rg::ValueError& e) {
      errors[static_cast<size_t>(r)] = e.what();
    }
  });
  EXPECT_NE(errors[2].find("the ranks do not share the same experiment: rank 2's differs from rank 0's"), std::string::npos) << errors[2];
  for (int r : {0, 1})
    EXPECT_NE(errors[static_cast<size_t>(r)].find("another rank's differs from rank 0's"), std::string::npos) << errors[static_cast<size_t>(r)];
}

TEST_F(DataParallel, SynchronizedBatchNormalizationTrainsAsOneProcessOnTheWholeBatch) {
  // Keras 3's synchronized=True: the global batch's statistics forward and backward, so N ranks
  // on strided shards compute what one process computes on the whole batch (summation order
  // aside), moving statistics included. Without it each rank normalizes by its own shard.
  const Data data = make_data(12, 9);
  constexpr int kSteps = 4;
  auto single = regula::testing_support::small_model(true, true);
  for (int s = 0; s < kSteps; ++s) single->train_on_batch(data.x, data.y);
  const std::vector<rg::Tensor> expected = single->get_weights();
  const auto largest_difference = [&](bool synchronized, int ranks) {
    dist::InProcessGroup group(ranks);
    std::vector<std::unique_ptr<rg::Model>> models;
    for (int r = 0; r < ranks; ++r) {
      models.push_back(regula::testing_support::small_model(true, synchronized));
      models.back()->set_communicator(group.communicator(r));
    }
    on_every_rank(ranks, [&](int r) {
      std::vector<int64_t> rows;
      for (int64_t i = r; i < data.x.dim(0); i += ranks) rows.push_back(i);
      const rg::Tensor x = rg::gather_rows(data.x, rows), y = rg::gather_rows(data.y, rows);
      for (int s = 0; s < kSteps; ++s) models[static_cast<size_t>(r)]->train_on_batch(x, y);
    });
    double largest = 0.0;
    for (int r = 0; r < ranks; ++r) {
      const std::vector<rg::Tensor> w = models[static_cast<size_t>(r)]->get_weights();
      for (size_t k = 0; k < w.size(); ++k)
        for (int64_t i = 0; i < w[k].size(); ++i) {
          EXPECT_EQ(w[k][i], models[0]->get_weights()[k][i]) << "rank " << r << " weight " << k;
          largest = std::max(largest, static_cast<double>(std::abs(w[k][i] - expected[k][i])));
        }
    }
    return largest;
  };
  for (int ranks : {2, 3}) {
    // Summation order only: shards summed, then the ranks' sums, a few float32 roundings a step.
    EXPECT_LT(largest_difference(true, ranks), 1e-5) << ranks << " ranks, synchronized";
    EXPECT_GT(largest_difference(false, ranks), 1e-3) << ranks << " ranks, each rank's own statistics";
  }
  // Keras's config key.
  const nlohmann::json config = single->get_layer("batch_normalization").get_config();
  EXPECT_EQ(config.at("synchronized"), true);
  auto rebuilt = rg::layers::layer_from_config({{"class_name", "BatchNormalization"}, {"config", config}}, "test");
  EXPECT_EQ(rebuilt->get_config().at("synchronized"), true);
}
