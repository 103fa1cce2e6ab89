// mpi_job.hpp for a soc built without MPI: one rank, always.

#include "mpi_job.hpp"

#include <cnnlstm/core/errors.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace soc {

// Started by mpirun or srun as one of several ranks, this soc would do the whole work in every
// process, each writing the same outputs: it refuses (exit code 2) instead.
JobSession::JobSession(int&, char**&) {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    const char* ranks = std::getenv(name);
    if (ranks == nullptr || std::string(ranks) == "1") continue;
    std::fprintf(stderr, "soc: started as one of %s ranks (%s), but this soc was built without MPI: every rank would do "
                         "the whole work; install libopenmpi-dev (bash scripts/setup.sh --mpi) and rebuild, or run soc "
                         "without mpirun\n", ranks, name);
    std::exit(2);
  }
}
JobSession::~JobSession() = default;

int job_rank() { return 0; }
int job_size() { return 1; }

void abort_job(int exit_code) { std::exit(exit_code); }

std::vector<std::string> gather_all(const std::string& mine) { return {mine}; }

void send_to(int rank, int, const std::string&) {
  throw cnnlstm::Error("soc: no rank " + std::to_string(rank) + " to send to: this soc was built without MPI");
}
std::optional<JobMessage> receive_pending() { return std::nullopt; }
JobMessage receive_from(int rank, int) {
  throw cnnlstm::Error("soc: no rank " + std::to_string(rank) + " to receive from: this soc was built without MPI");
}

void require_same_on_all_ranks(const std::string&, const std::string&) {}

}  // namespace soc
