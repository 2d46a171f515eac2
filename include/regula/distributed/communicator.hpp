#pragma once
/// @file
/// Communicator: what data-parallel training asks of the processes that train one model together
/// (MPI's communicator, PyTorch's process group, reduced to the calls regula makes).
///
/// Every rank calls the same collective operations in the same order with buffers of the same
/// length; a collective returns on a rank once every rank has called it. Reductions sum in rank
/// order (rank 0 + rank 1 + …), so the same group size gives the same bits on every rank and in
/// every run.
///
/// Where training calls it (Model::train_on_batch, fit, BatchNormalization):
/// - the sample count of each step's shards, so the loss is the global batch's mean;
/// - every trainable weight's gradient, after backward and **before** the finiteness check and
///   the update, so a non-finite value on one rank is seen by all and none waits for the others;
/// - the loss and metric totals of the logs;
/// - BatchNormalization's moving statistics (averaged, so they are identical on every rank);
/// - the stop decision (`model.stop_training`), so every rank ends `fit` at the same epoch.
///
/// Implementations: `SingleProcess` (size 1, every call returns at once; the default) and
/// `InProcessGroup` (several ranks as threads of one process, for tests). Multi-process
/// implementations (MPI) implement the same interface.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace regula::distributed {

class Communicator {
 public:
  virtual ~Communicator() = default;

  /// This process's index in the group, 0 .. size() − 1.
  virtual int rank() const = 0;
  /// How many ranks train together.
  virtual int size() const = 0;

  /// Replaces every element of `values` by its sum over the ranks (in rank order).
  virtual void all_reduce_sum(std::span<float> values) = 0;
  virtual void all_reduce_sum(std::span<double> values) = 0;
  /// Replaces `values` on every rank by rank `root`'s.
  virtual void broadcast(std::span<float> values, int root) = 0;
  virtual void broadcast(std::span<double> values, int root) = 0;
  /// Returns once every rank has called it.
  virtual void barrier() = 0;

  /// Whether any rank passed true (a logical or, for stop decisions).
  bool any(bool value);

  /// Throws ValueError on every rank unless every rank passed the same `fingerprint` (rank 0's is
  /// broadcast and compared): for checking at start that the ranks run the same program on the
  /// same experiment and data. `what` names it in the message.
  void require_same(uint64_t fingerprint, const std::string& what);
};

/// A 64-bit FNV-1a fingerprint of `bytes`, continuing from `seed` (for require_same).
uint64_t fingerprint(const void* bytes, size_t size, uint64_t seed = 0xcbf29ce484222325ull);

using CommunicatorPtr = std::shared_ptr<Communicator>;

/// One rank alone: every collective leaves its buffer as it is.
class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_reduce_sum(std::span<float>) override {}
  void all_reduce_sum(std::span<double>) override {}
  void broadcast(std::span<float>, int) override {}
  void broadcast(std::span<double>, int) override {}
  void barrier() override {}
};

/// The process-wide single-process communicator (what a Model uses unless given another).
const CommunicatorPtr& single_process();

/// `size` ranks inside one process, one thread each: `communicator(r)` is rank r's endpoint and
/// must be used from one thread at a time. Collectives meet at a barrier, rank 0's thread sums
/// the ranks' buffers in rank order and every rank copies the result. A rank that calls a
/// collective with a buffer of another length than rank 0's throws ValueError on every rank.
/// A collective that does not complete within `timeout_seconds` (a rank that never came) throws
/// StateError on the ranks that are waiting.
class InProcessGroup {
 public:
  explicit InProcessGroup(int size, double timeout_seconds = 60.0);
  ~InProcessGroup();
  InProcessGroup(const InProcessGroup&) = delete;
  InProcessGroup& operator=(const InProcessGroup&) = delete;

  int size() const;
  /// Rank `rank`'s endpoint (shared ownership: it keeps the group's state alive).
  CommunicatorPtr communicator(int rank) const;

  /// The meeting point the endpoints share (defined in the implementation).
  struct State;

 private:
  std::shared_ptr<State> state_;
  std::vector<CommunicatorPtr> endpoints_;
};

}  // namespace regula::distributed
