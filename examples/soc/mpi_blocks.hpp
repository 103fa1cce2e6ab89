#pragma once
// soc map's blocks shared out among the ranks of an MPI job, balanced as they go (docs/scaling.md):
// rank 0 holds the number of the next block to map. Its own map threads take the next number
// directly; the threads of every other rank ask rank 0 for one by a message, map the block, and
// send it back, whole, to rank 0, which writes every block into the one GeoTIFF. A rank whose
// blocks are cheap (mostly nodata) simply asks more often: no rank idles while blocks are left.
//
//   rank 0:  a server thread (answers requests, writes arriving blocks) + T map threads
//   rank r:  T map threads: ask -> map -> send, until rank 0 answers "no block left"
//
// Rank 0's server polls for messages with short sleeps (mpi_job.hpp), so it takes almost no CPU
// from the map threads. A failure on any rank ends the job (main: soc::abort_job) with its message.
// The blocks are mapped by the same code as in one process, so the map is the same pixel for pixel.

#include <cnnlstm/core/tensor.hpp>

#include <cstddef>
#include <functional>
#include <span>

namespace soc {

// The map's work, as the block loop sees it.
struct BlockWork {
  std::size_t blocks = 0;  // blocks 0 .. blocks - 1
  int threads = 1;         // map threads of this rank
  // Maps block k on map thread t and returns the pixels predicted; its bands are then output(t).
  std::function<cnnlstm::Index(std::size_t k, int t)> map;
  std::function<std::span<const float>(int t)> output;
  // Rank 0 only, called one block at a time: block k's bands (values) into the map.
  std::function<void(std::size_t k, std::span<const float> values, cnnlstm::Index predicted)> write;
  // This rank's reading and predicting seconds, summed over its threads (after its blocks).
  std::function<std::pair<double, double>()> seconds;
};

// What rank 0 learns of the other ranks.
struct OtherRanks {
  double read_seconds = 0, predict_seconds = 0;
  int threads = 0;
};

// Maps every block on the ranks of the job (a collective: every rank calls it, with the same
// number of blocks); returns, on rank 0, the other ranks' figures.
OtherRanks map_blocks_on_ranks(const BlockWork& work);

}  // namespace soc
