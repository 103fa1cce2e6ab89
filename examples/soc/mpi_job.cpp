// mpi_job.hpp over MPI's C API (built when CMake finds MPI: SOC_WITH_MPI).

#include "mpi_job.hpp"

#include <cnnlstm/core/errors.hpp>

#include <mpi.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace soc {
namespace {

bool started = false;
int this_rank = 0, ranks = 1;

// The environment an MPI launcher gives its processes (OpenMPI's mpirun, PMIx as srun --mpi=pmix,
// PMI-1/2 as MPICH's hydra or srun --mpi=pmi2).
bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

void check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw cnnlstm::IoError(std::string("MPI ") + what + " failed on rank " + std::to_string(this_rank) + ": " +
                         std::string(text, static_cast<std::size_t>(length)));
}

int count_of(std::size_t bytes) {
  if (bytes > static_cast<std::size_t>(INT_MAX))
    throw cnnlstm::IoError("a message of " + std::to_string(bytes) + " bytes between ranks: more than MPI's 2 GiB per message");
  return static_cast<int>(bytes);
}

// Waits for `request` by polling with short sleeps: MPI's own waits spin a core, which on a node
// with as many ranks as cores takes it from a rank that computes.
void wait_gently(MPI_Request& request, const char* what) {
  for (int done = 0;;) {
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what);
    if (done) return;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

std::uint64_t text_hash(const std::string& text) {  // FNV-1a
  std::uint64_t hash = 0xCBF29CE484222325ull;
  for (const char c : text) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001B3ull;
  return hash;
}

}  // namespace

JobSession::JobSession(int& argc, char**& argv) {
  if (!launched_by_mpi()) return;
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
  started = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &this_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);  // errors become exceptions (check)
  if (provided < MPI_THREAD_SERIALIZED) {
    std::fprintf(stderr, "soc: this MPI library gives no MPI_THREAD_SERIALIZED support (threads calling MPI in turn), "
                         "which soc's ranks need\n");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
}

JobSession::~JobSession() {
  if (started) MPI_Finalize();
}

int job_rank() { return this_rank; }
int job_size() { return ranks; }

void abort_job(int exit_code) {
  std::fflush(stderr);
  if (started && ranks > 1) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::exit(exit_code);
}

std::vector<std::string> gather_all(const std::string& mine) {
  if (ranks == 1) return {mine};
  const int size = count_of(mine.size());
  std::vector<int> sizes(static_cast<std::size_t>(ranks)), offsets(static_cast<std::size_t>(ranks));
  MPI_Request request;
  check(MPI_Iallgather(&size, 1, MPI_INT, sizes.data(), 1, MPI_INT, MPI_COMM_WORLD, &request), "allgather");
  wait_gently(request, "allgather");
  std::size_t total = 0;
  for (int r = 0; r < ranks; ++r) {
    offsets[static_cast<std::size_t>(r)] = count_of(total);
    total += static_cast<std::size_t>(sizes[static_cast<std::size_t>(r)]);
  }
  count_of(total);
  std::string all(total, '\0');
  check(MPI_Iallgatherv(mine.data(), size, MPI_BYTE, all.data(), sizes.data(), offsets.data(), MPI_BYTE, MPI_COMM_WORLD,
                        &request),
        "allgatherv");
  wait_gently(request, "allgatherv");
  std::vector<std::string> out;
  for (int r = 0; r < ranks; ++r)
    out.push_back(all.substr(static_cast<std::size_t>(offsets[static_cast<std::size_t>(r)]),
                             static_cast<std::size_t>(sizes[static_cast<std::size_t>(r)])));
  return out;
}

void send_to(int rank, int tag, const std::string& bytes) {
  MPI_Request request;
  check(MPI_Isend(bytes.data(), count_of(bytes.size()), MPI_BYTE, rank, tag, MPI_COMM_WORLD, &request), "send");
  wait_gently(request, "send");
}

std::optional<JobMessage> receive_pending() {
  int waiting = 0;
  MPI_Status status;
  check(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &waiting, &status), "probe");
  if (!waiting) return std::nullopt;
  int size = 0;
  MPI_Get_count(&status, MPI_BYTE, &size);
  JobMessage message{status.MPI_SOURCE, status.MPI_TAG, std::string(static_cast<std::size_t>(size), '\0')};
  check(MPI_Recv(message.bytes.data(), size, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
        "receive");
  return message;
}

JobMessage receive_from(int rank, int tag) {
  MPI_Status status;
  for (int waiting = 0;;) {
    check(MPI_Iprobe(rank, tag, MPI_COMM_WORLD, &waiting, &status), "probe");
    if (waiting) break;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  int size = 0;
  MPI_Get_count(&status, MPI_BYTE, &size);
  JobMessage message{rank, tag, std::string(static_cast<std::size_t>(size), '\0')};
  check(MPI_Recv(message.bytes.data(), size, MPI_BYTE, rank, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "receive");
  return message;
}

void require_same_on_all_ranks(const std::string& text, const std::string& what) {
  const std::uint64_t mine = text_hash(text);
  const std::vector<std::string> all = gather_all(std::string(reinterpret_cast<const char*>(&mine), sizeof mine));
  for (std::size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0])
      throw cnnlstm::DataError("rank " + std::to_string(r) + " of " + std::to_string(all.size()) + " sees other " + what +
                               " than rank 0 (every rank must read the same files with the same flags: give paths on a "
                               "folder every node shares)");
}

}  // namespace soc
