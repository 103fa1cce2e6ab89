#pragma once
// The processes of one soc run: alone, or R ranks started by mpirun or srun. With OpenMPI at build
// time (SOC_WITH_MPI) these functions are mpi_job.cpp, over MPI's C API; without it they are
// mpi_job_alone.cpp (one rank, always). No header includes mpi.h: the library (include/cnnlstm)
// and the commands see only this interface.
//
//   int main(int argc, char** argv) { soc::JobSession job(argc, argv); ... }  // init .. finalize
//   if (soc::job_root()) write_outputs();                                    // rank 0 writes
//
// MPI starts only when a launcher started the process (its environment names the rank: OpenMPI's
// OMPI_COMM_WORLD_SIZE, PMIx's PMIX_RANK, PMI's PMI_RANK): run alone, soc never calls MPI, and runs
// exactly as a soc built without it. Waits (receive_from, gather_all) poll with short sleeps instead
// of MPI's busy wait, so a rank that waits leaves its core to the ranks that compute.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace soc {

// MPI_Init_thread (MPI_THREAD_SERIALIZED: any thread may call, one at a time) when launched by an
// MPI launcher, MPI_Finalize at the end; nothing when run alone.
class JobSession {
 public:
  JobSession(int& argc, char**& argv);
  JobSession(const JobSession&) = delete;
  JobSession& operator=(const JobSession&) = delete;
  ~JobSession();
};

int job_rank();  // 0 .. job_size() - 1
int job_size();  // 1 when run alone
inline bool job_root() { return job_rank() == 0; }

// Ends every rank of the job with this exit code (MPI_Abort); alone, std::exit. The caller prints
// its message first: the job's output then shows the failing rank's own message.
[[noreturn]] void abort_job(int exit_code);

// Every rank's `mine`, indexed by rank, on every rank (a collective: every rank calls it).
std::vector<std::string> gather_all(const std::string& mine);

// Point-to-point messages of bytes. A tag tells the kinds of message of a protocol apart.
struct JobMessage {
  int source = 0, tag = 0;
  std::string bytes;
};
void send_to(int rank, int tag, const std::string& bytes);
std::optional<JobMessage> receive_pending();  // a message waiting for this rank, if any (never waits)
JobMessage receive_from(int rank, int tag);   // waits for the next message of `tag` from `rank`

// Throws DataError naming the first rank whose `text` differs from rank 0's (`what` says what the
// text describes, for the message); a collective. Every rank compares a 64-bit hash of its text.
void require_same_on_all_ranks(const std::string& text, const std::string& what);

}  // namespace soc
