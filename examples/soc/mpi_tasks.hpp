#pragma once
// Independent tasks (the recipe's folds and members, soc cv's folds) shared out among the ranks of
// an MPI job: task t runs on rank t % R, and every rank gets every task's result, as bytes
// (cnnlstm::TaskRunner, train/recipe.hpp). A static round-robin share: the tasks of one list cost
// about the same (members train for the same epochs; folds for up to the same), and a fixed share
// needs no dispenser. The results are those of one process: each task depends only on its index.
//
//   recipe.run_tasks = soc::tasks_on_ranks(cnnlstm::run_tasks_here);  // a rank's share side by side

#include "mpi_job.hpp"

#include <cnnlstm/train.hpp>  // the umbrella: train/recipe.hpp needs the model's headers first

#include <cstring>
#include <string>
#include <vector>

namespace soc {

namespace detail {

// Strings as one string: each one's length (8 bytes), then its bytes.
inline std::string pack(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) {
    const std::uint64_t n = p.size();
    out.append(reinterpret_cast<const char*>(&n), sizeof n).append(p);
  }
  return out;
}

inline std::vector<std::string> unpack(const std::string& packed, std::size_t count, int rank) {
  std::vector<std::string> parts;
  std::size_t at = 0;
  for (std::size_t i = 0; i < count; ++i) {
    std::uint64_t n = 0;
    if (packed.size() - at < sizeof n) break;
    std::memcpy(&n, packed.data() + at, sizeof n);
    at += sizeof n;
    if (packed.size() - at < n) break;
    parts.push_back(packed.substr(at, n));
    at += n;
  }
  if (parts.size() != count)
    throw cnnlstm::FormatError("rank " + std::to_string(rank) + " sent " + std::to_string(parts.size()) + " task results, " +
                               std::to_string(count) + " were due");
  return parts;
}

}  // namespace detail

// A TaskRunner that runs this rank's share of the tasks with `here` (side by side, or one after
// the other) and gathers every result to every rank. Alone (one rank), it is `here`.
inline cnnlstm::TaskRunner tasks_on_ranks(cnnlstm::TaskRunner here) {
  return [here = std::move(here)](cnnlstm::Index count, const std::function<std::string(cnnlstm::Index)>& task) {
    const int ranks = job_size(), rank = job_rank();
    if (ranks == 1) return here(count, task);
    const auto share = [&](int r) { return count > r ? (count - r + ranks - 1) / ranks : cnnlstm::Index{0}; };
    const std::vector<std::string> mine = here(share(rank), [&](cnnlstm::Index i) { return task(rank + i * ranks); });
    const std::vector<std::string> all = gather_all(detail::pack(mine));
    std::vector<std::string> results(static_cast<std::size_t>(count));
    for (int r = 0; r < ranks; ++r) {
      const std::vector<std::string> theirs = detail::unpack(all[static_cast<std::size_t>(r)], static_cast<std::size_t>(share(r)), r);
      for (std::size_t i = 0; i < theirs.size(); ++i) results[static_cast<std::size_t>(r) + i * static_cast<std::size_t>(ranks)] = theirs[i];
    }
    return results;
  };
}

// Runs the tasks one after the other here (a TaskRunner for tasks that use all threads themselves).
inline std::vector<std::string> run_tasks_in_turn(cnnlstm::Index count, const std::function<std::string(cnnlstm::Index)>& task) {
  std::vector<std::string> results;
  for (cnnlstm::Index t = 0; t < count; ++t) results.push_back(task(t));
  return results;
}

}  // namespace soc
