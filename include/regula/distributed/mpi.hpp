#pragma once
/// @file
/// MPI: the processes an MPI launcher started (`mpirun -np N …`, or a scheduler's launcher such as
/// Slurm's `srun`) as one Communicator, MPI_COMM_WORLD. Open MPI 4.1 from Debian
/// (`openmpi-bin`, `libopenmpi-dev`); regula is built with it when CMake finds it
/// (`REGULA_WITH_MPI`, on by default), and a build without it still builds and runs.
///
/// The collectives keep Communicator's contract, so N MPI ranks give the same bits as N ranks of an
/// InProcessGroup:
/// - all_reduce_sum adds the ranks' buffers in rank order, (((r0 + r1) + r2) + …), along a chain
///   (rank r receives the sum of ranks 0..r−1, adds its own, passes it on, in chunks of 256 Ki
///   values so that the ranks work at once), then rank N−1 broadcasts the total. MPI_Allreduce
///   does not promise an order: its algorithm depends on the message size and the group.
/// - A collective called with buffers of different lengths (or roots) on different ranks throws
///   ValueError on every rank, and the group goes on.
/// - An MPI error is a StateError with MPI's message (MPI_ERRORS_RETURN on the world).

#include "regula/distributed/communicator.hpp"

namespace regula::distributed {

/// Whether this build of regula has MPI.
bool mpi_built();

/// Whether this process was started by an MPI launcher, from the launcher's environment
/// (Open MPI's OMPI_COMM_WORLD_SIZE, PMI's PMI_SIZE, PMIx's PMIX_RANK).
bool launched_by_mpi();

/// MPI_COMM_WORLD as a Communicator. MPI is initialized on the first call (MPI_THREAD_FUNNELED:
/// collectives come from the thread that made the first call) and finalized when the process
/// exits. Throws StateError when regula was built without MPI.
CommunicatorPtr mpi_world();

}  // namespace regula::distributed
