// soc map's blocks among the ranks (mpi_blocks.hpp): rank 0's server and map threads, and the
// other ranks' map threads.

#include "mpi_blocks.hpp"

#include "mpi_job.hpp"

#include <cnnlstm/core/errors.hpp>

#include <omp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

namespace soc {
namespace {

// The messages of the protocol.
enum Tag : int {
  ask = 101,       // r -> 0: a block, please (no bytes)
  answer = 102,    // 0 -> r: the block's number (8 bytes), or no_block
  result = 103,    // r -> 0: ResultHeader, then the block's bands as floats
  finished = 104,  // r -> 0: FinishedRank; r sends no more
};
constexpr std::uint64_t no_block = ~std::uint64_t{0};

struct ResultHeader {
  std::uint64_t block = 0;
  std::int64_t predicted = 0;
};
struct FinishedRank {
  double read_seconds = 0, predict_seconds = 0;
  std::int64_t threads = 0;
};

template <class T>
std::string bytes_of(const T& value) {
  return std::string(reinterpret_cast<const char*>(&value), sizeof value);
}

template <class T>
T value_of(const std::string& bytes, int source) {
  if (bytes.size() < sizeof(T))
    throw cnnlstm::FormatError("soc map: rank " + std::to_string(source) + " sent a message of " + std::to_string(bytes.size()) +
                               " bytes, expected at least " + std::to_string(sizeof(T)));
  T value;
  std::memcpy(&value, bytes.data(), sizeof value);
  return value;
}

// The first failure of this rank's threads, kept for the caller to rethrow.
struct Failure {
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex mutex;

  void keep(std::exception_ptr e) {
    const std::lock_guard<std::mutex> lock(mutex);
    if (!error) error = e;
    failed = true;
  }
  void rethrow() const {
    if (error) std::rethrow_exception(error);
  }
};

// Rank 0: answers the other ranks and writes their blocks; returns when every block is written and
// every other rank has finished, or a thread of rank 0 failed.
class Server {
 public:
  Server(const BlockWork& work, std::atomic<std::size_t>& next, std::atomic<std::size_t>& written, std::mutex& write_mutex,
         Failure& failure)
      : work_(work), next_(next), written_(written), write_mutex_(write_mutex), failure_(failure) {}

  OtherRanks serve() {
    const int others = job_size() - 1;
    while (!failure_.failed && (written_ < work_.blocks || finished_ < others)) {
      std::optional<JobMessage> m = receive_pending();
      if (!m) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        continue;
      }
      handle(*m);
    }
    return figures_;
  }

 private:
  void handle(const JobMessage& m) {
    if (m.tag == ask) {
      const std::size_t k = next_++;
      send_to(m.source, answer, bytes_of(k < work_.blocks ? std::uint64_t{k} : no_block));
    } else if (m.tag == result) {
      const auto header = value_of<ResultHeader>(m.bytes, m.source);
      const std::size_t floats = (m.bytes.size() - sizeof header) / sizeof(float);
      std::vector<float> values(floats);
      std::memcpy(values.data(), m.bytes.data() + sizeof header, floats * sizeof(float));
      const std::lock_guard<std::mutex> lock(write_mutex_);
      work_.write(header.block, values, header.predicted);
      ++written_;
    } else if (m.tag == finished) {
      const auto f = value_of<FinishedRank>(m.bytes, m.source);
      figures_.read_seconds += f.read_seconds;
      figures_.predict_seconds += f.predict_seconds;
      figures_.threads += static_cast<int>(f.threads);
      ++finished_;
    } else {
      throw cnnlstm::FormatError("soc map: rank " + std::to_string(m.source) + " sent a message of unknown kind " +
                                 std::to_string(m.tag));
    }
  }

  const BlockWork& work_;
  std::atomic<std::size_t>& next_;
  std::atomic<std::size_t>& written_;
  std::mutex& write_mutex_;
  Failure& failure_;
  int finished_ = 0;
  OtherRanks figures_;
};

OtherRanks map_on_rank_zero(const BlockWork& work) {
  std::atomic<std::size_t> next{0}, written{0};
  std::mutex write_mutex;
  Failure failure;
  OtherRanks figures;
#pragma omp parallel num_threads(work.threads + 1)
  {
    const int thread = omp_get_thread_num();
    try {
      if (thread == 0) {
        figures = Server(work, next, written, write_mutex, failure).serve();
      } else {
        for (std::size_t k = next++; k < work.blocks && !failure.failed; k = next++) {
          const cnnlstm::Index predicted = work.map(k, thread - 1);
          const std::lock_guard<std::mutex> lock(write_mutex);
          work.write(k, work.output(thread - 1), predicted);
          ++written;
        }
      }
    } catch (...) {
      failure.keep(std::current_exception());
    }
  }
  failure.rethrow();
  return figures;
}

void map_on_other_rank(const BlockWork& work) {
  std::mutex mpi_mutex;  // MPI_THREAD_SERIALIZED: one thread in MPI at a time
  Failure failure;
  const auto next_block = [&] {
    const std::lock_guard<std::mutex> lock(mpi_mutex);
    send_to(0, ask, {});
    return value_of<std::uint64_t>(receive_from(0, answer).bytes, 0);
  };
#pragma omp parallel num_threads(work.threads)
  {
    const int thread = omp_get_thread_num();
    try {
      for (std::uint64_t k = next_block(); k != no_block && !failure.failed; k = next_block()) {
        const cnnlstm::Index predicted = work.map(static_cast<std::size_t>(k), thread);
        const std::span<const float> out = work.output(thread);
        std::string message = bytes_of(ResultHeader{k, predicted});
        message.append(reinterpret_cast<const char*>(out.data()), out.size_bytes());
        const std::lock_guard<std::mutex> lock(mpi_mutex);
        send_to(0, result, message);
      }
    } catch (...) {
      failure.keep(std::current_exception());
    }
  }
  failure.rethrow();
  const auto [read, predict] = work.seconds();
  send_to(0, finished, bytes_of(FinishedRank{read, predict, work.threads}));
}

}  // namespace

OtherRanks map_blocks_on_ranks(const BlockWork& work) {
  if (job_root()) return map_on_rank_zero(work);
  map_on_other_rank(work);
  return {};
}

}  // namespace soc
