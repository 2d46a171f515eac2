#include "regula/distributed/mpi.hpp"

#include <cstdlib>
#include <string>

#include "regula/error.hpp"

#if REGULA_WITH_MPI
#define OMPI_SKIP_MPICXX 1  // the C API only, without Open MPI's deprecated C++ bindings
#include <mpi.h>

#include <algorithm>
#include <type_traits>
#include <vector>
#endif

namespace regula::distributed {

bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') return true;
  return false;
}

#if REGULA_WITH_MPI

bool mpi_built() { return true; }

namespace {

/// Throws StateError for an MPI error code, with MPI's own message.
void check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char message[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, message, &length);
  throw StateError(std::string("MPI: ") + call + " failed: " + std::string(message, static_cast<size_t>(length)));
}

/// Initializes MPI once, and finalizes it when the process exits.
class Session {
 public:
  Session() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      owns_ = true;
    }
    check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  }
  ~Session() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (owns_ && !finalized) MPI_Finalize();
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

 private:
  bool owns_ = false;
};

template <class T>
MPI_Datatype datatype();
template <>
MPI_Datatype datatype<float>() { return MPI_FLOAT; }
template <>
MPI_Datatype datatype<double>() { return MPI_DOUBLE; }

// Values a chunk of the rank-order chain carries: large enough that per-message costs vanish,
// small enough that rank r + 1 starts adding while rank r is still receiving.
constexpr size_t kChunkValues = size_t{1} << 18;

class World final : public Communicator {
 public:
  World() {
    check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void all_reduce_sum(std::span<float> values) override { sum_in_rank_order(values); }
  void all_reduce_sum(std::span<double> values) override { sum_in_rank_order(values); }
  void broadcast(std::span<float> values, int root) override { broadcast_values(values, root); }
  void broadcast(std::span<double> values, int root) override { broadcast_values(values, root); }
  void barrier() override { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

 private:
  /// Throws ValueError on every rank unless every rank passed the same `count` and `root`.
  void agree(const char* operation, size_t count, int root) {
    // Maxima of (count, −count, root, −root): equal on every rank exactly when max = −max(−x).
    long long mine[4] = {static_cast<long long>(count), -static_cast<long long>(count), root, -root};
    long long all[4];
    check(MPI_Allreduce(mine, all, 4, MPI_LONG_LONG, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
    if (all[0] != -all[1] || all[2] != -all[3])
      throw ValueError(std::string("MPI: ") + operation + " was called with " + std::to_string(count) +
                       " values (root " + std::to_string(root) + ") on rank " + std::to_string(rank_) +
                       ", and with between " + std::to_string(-all[1]) + " and " + std::to_string(all[0]) +
                       " values (roots " + std::to_string(-all[3]) + " to " + std::to_string(all[2]) +
                       ") across the ranks; every rank must make the same collective calls in the same order");
  }

  template <class T>
  void sum_in_rank_order(std::span<T> values) {
    agree("all_reduce_sum", values.size(), 0);
    if (size_ == 1 || values.empty()) return;
    std::vector<T>& incoming = incoming_buffer<T>();
    if (incoming.size() < std::min(values.size(), kChunkValues)) incoming.resize(std::min(values.size(), kChunkValues));
    for (size_t first = 0; first < values.size(); first += kChunkValues) {
      const size_t count = std::min(kChunkValues, values.size() - first);
      T* chunk = values.data() + first;
      const int n = static_cast<int>(count);
      if (rank_ > 0) {
        check(MPI_Recv(incoming.data(), n, datatype<T>(), rank_ - 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Recv");
        // The sum of ranks 0..r−1, then this rank's values: rank order.
        for (size_t i = 0; i < count; ++i) chunk[i] = incoming[i] + chunk[i];
      }
      if (rank_ < size_ - 1) check(MPI_Send(chunk, n, datatype<T>(), rank_ + 1, 0, MPI_COMM_WORLD), "MPI_Send");
    }
    broadcast_from(values, size_ - 1);
  }

  template <class T>
  void broadcast_values(std::span<T> values, int root) {
    if (root < 0 || root >= size_)
      throw ValueError("broadcast: root=" + std::to_string(root) + " is not a rank of a group of " + std::to_string(size_));
    agree("broadcast", values.size(), root);
    broadcast_from(values, root);
  }

  template <class T>
  void broadcast_from(std::span<T> values, int root) {
    for (size_t first = 0; first < values.size(); first += kChunkValues) {
      const int n = static_cast<int>(std::min(kChunkValues, values.size() - first));
      check(MPI_Bcast(values.data() + first, n, datatype<T>(), root, MPI_COMM_WORLD), "MPI_Bcast");
    }
  }

  /// The chunk received from the previous rank, kept between calls (no allocation per step).
  template <class T>
  std::vector<T>& incoming_buffer() {
    if constexpr (std::is_same_v<T, float>)
      return incoming_float_;
    else
      return incoming_double_;
  }

  int rank_ = 0;
  int size_ = 1;
  std::vector<float> incoming_float_;
  std::vector<double> incoming_double_;
};

}  // namespace

CommunicatorPtr mpi_world() {
  static Session session;
  static const CommunicatorPtr world = std::make_shared<World>();
  return world;
}

#else

bool mpi_built() { return false; }

CommunicatorPtr mpi_world() {
  throw StateError(
      "MPI: this build of regula has no MPI; install Open MPI (apt-get install openmpi-bin libopenmpi-dev, or "
      "scripts/install-deps.sh) and build again (CMake option REGULA_WITH_MPI)");
}

#endif

}  // namespace regula::distributed
