#include "regula/distributed/communicator.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>

#include "regula/error.hpp"

namespace regula::distributed {

bool Communicator::any(bool value) {
  double flag = value ? 1.0 : 0.0;
  all_reduce_sum(std::span<double>(&flag, 1));
  return flag > 0.0;
}

void Communicator::require_same(uint64_t value, const std::string& what) {
  // Four 16-bit parts as doubles (exact), rank 0's broadcast and compared on every rank.
  double parts[4], rank0[4];
  for (int k = 0; k < 4; ++k) parts[k] = rank0[k] = static_cast<double>((value >> (16 * k)) & 0xffffu);
  broadcast(std::span<double>(rank0), 0);
  const bool differs = !std::equal(parts, parts + 4, rank0);
  if (!any(differs)) return;
  throw ValueError(std::string("the ranks do not share the same ") + what +
                   (differs ? ": rank " + std::to_string(rank()) + "'s differs from rank 0's"
                            : ": another rank's differs from rank 0's") +
                   "; every rank must run the same program on the same experiment and data");
}

uint64_t fingerprint(const void* bytes, size_t size, uint64_t seed) {
  const auto* p = static_cast<const unsigned char*>(bytes);
  uint64_t h = seed;
  for (size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

const CommunicatorPtr& single_process() {
  static const CommunicatorPtr instance = std::make_shared<SingleProcess>();
  return instance;
}

namespace {

enum class Operation { sum, broadcast, barrier };

const char* operation_name(Operation op) {
  switch (op) {
    case Operation::sum: return "all_reduce_sum";
    case Operation::broadcast: return "broadcast";
    case Operation::barrier: return "barrier";
  }
  return "?";
}

}  // namespace

/// The meeting point of the ranks. A collective has two phases: arrival (each rank leaves its
/// buffer; the last to arrive computes the result) and copy-out (each rank copies the result;
/// the last to leave opens the next collective).
struct InProcessGroup::State {
  struct Arrival {
    void* data = nullptr;
    size_t count = 0;
    size_t element_size = 0;
    Operation operation = Operation::barrier;
    int root = 0;
  };

  explicit State(int size, double timeout_seconds) : size(size), timeout(timeout_seconds), arrivals(static_cast<size_t>(size)) {}

  const int size;
  const std::chrono::duration<double> timeout;
  std::mutex mutex;
  std::condition_variable changed;
  uint64_t generation = 0;
  int arrived = 0;
  int departed = 0;
  bool copying = false;
  std::vector<Arrival> arrivals;
  std::vector<unsigned char> result;
  std::string error;

  template <class T>
  void sum_in_rank_order(size_t count) {
    result.resize(count * sizeof(T));
    T* out = reinterpret_cast<T*>(result.data());
    std::memcpy(out, arrivals[0].data, count * sizeof(T));
    for (size_t r = 1; r < arrivals.size(); ++r) {
      const T* in = static_cast<const T*>(arrivals[r].data);
      for (size_t i = 0; i < count; ++i) out[i] += in[i];
    }
  }

  /// Runs on the last rank to arrive, with the lock held.
  void compute() {
    error.clear();
    const Arrival& first = arrivals[0];
    for (size_t r = 1; r < arrivals.size(); ++r) {
      const Arrival& a = arrivals[r];
      if (a.operation != first.operation || a.count != first.count || a.element_size != first.element_size ||
          a.root != first.root) {
        error = std::string("InProcessGroup: rank ") + std::to_string(r) + " called " + operation_name(a.operation) +
                " with " + std::to_string(a.count) + " values (root " + std::to_string(a.root) + ") while rank 0 called " +
                operation_name(first.operation) + " with " + std::to_string(first.count) + " values (root " +
                std::to_string(first.root) + "); every rank must make the same collective calls in the same order";
        return;
      }
    }
    if (first.operation == Operation::sum) {
      if (first.element_size == sizeof(float))
        sum_in_rank_order<float>(first.count);
      else
        sum_in_rank_order<double>(first.count);
    } else if (first.operation == Operation::broadcast) {
      const size_t bytes = first.count * first.element_size;
      result.resize(bytes);
      if (bytes > 0) std::memcpy(result.data(), arrivals[static_cast<size_t>(first.root)].data, bytes);
    }
  }

  void collective(int rank, const Arrival& arrival) {
    std::unique_lock lock(mutex);
    const auto wait = [&](auto ready) {
      if (!changed.wait_for(lock, timeout, ready))
        throw StateError(std::string("InProcessGroup: rank ") + std::to_string(rank) + " waited more than " +
                         std::to_string(timeout.count()) + " s in " + operation_name(arrival.operation) +
                         " for the other ranks; every rank must make the same collective calls");
    };
    wait([&] { return !copying; });
    const uint64_t mine = generation;
    arrivals[static_cast<size_t>(rank)] = arrival;
    if (++arrived == size) {
      compute();
      copying = true;
      changed.notify_all();
    } else {
      wait([&] { return copying && generation == mine; });
    }
    const std::string failure = error;
    if (failure.empty() && arrival.operation != Operation::barrier && !result.empty())
      std::memcpy(arrival.data, result.data(), result.size());
    if (++departed == size) {
      arrived = 0;
      departed = 0;
      copying = false;
      ++generation;
      changed.notify_all();
    }
    if (!failure.empty()) throw ValueError(failure);
  }
};

namespace {

class InProcessRank final : public Communicator {
 public:
  InProcessRank(std::shared_ptr<InProcessGroup::State> state, int rank) : state_(std::move(state)), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return state_->size; }
  void all_reduce_sum(std::span<float> values) override { run(values.data(), values.size(), sizeof(float), Operation::sum, 0); }
  void all_reduce_sum(std::span<double> values) override { run(values.data(), values.size(), sizeof(double), Operation::sum, 0); }
  void broadcast(std::span<float> values, int root) override {
    run(values.data(), values.size(), sizeof(float), Operation::broadcast, checked_root(root));
  }
  void broadcast(std::span<double> values, int root) override {
    run(values.data(), values.size(), sizeof(double), Operation::broadcast, checked_root(root));
  }
  void barrier() override { run(nullptr, 0, 0, Operation::barrier, 0); }

 private:
  int checked_root(int root) const {
    if (root < 0 || root >= size())
      throw ValueError("broadcast: root=" + std::to_string(root) + " is not a rank of a group of " + std::to_string(size()));
    return root;
  }
  void run(void* data, size_t count, size_t element_size, Operation op, int root) {
    state_->collective(rank_, {.data = data, .count = count, .element_size = element_size, .operation = op, .root = root});
  }

  std::shared_ptr<InProcessGroup::State> state_;
  int rank_;
};

}  // namespace

InProcessGroup::InProcessGroup(int size, double timeout_seconds) {
  if (size < 1) throw ValueError("InProcessGroup: size=" + std::to_string(size) + " must be at least 1");
  if (!(timeout_seconds > 0.0))
    throw ValueError("InProcessGroup: timeout_seconds=" + std::to_string(timeout_seconds) + " must be positive");
  state_ = std::make_shared<State>(size, timeout_seconds);
  for (int r = 0; r < size; ++r) endpoints_.push_back(std::make_shared<InProcessRank>(state_, r));
}

InProcessGroup::~InProcessGroup() = default;

int InProcessGroup::size() const { return state_->size; }

CommunicatorPtr InProcessGroup::communicator(int rank) const {
  if (rank < 0 || rank >= size())
    throw ValueError("InProcessGroup::communicator: rank=" + std::to_string(rank) + " is outside 0.." + std::to_string(size() - 1));
  return endpoints_[static_cast<size_t>(rank)];
}

}  // namespace regula::distributed
