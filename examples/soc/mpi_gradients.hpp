#pragma once
// Data-parallel training across the ranks of an MPI job (soc train --data-parallel PARTS): the
// Trainer's GradientSharing (train/trainer.hpp) with part p computed on rank p % R and the parts'
// gradients gathered to every rank (gather_all, mpi_job.hpp). Each rank then sums all parts in part
// order itself: the same sum on every rank, whatever R, so the model is the one process's.
// Per step each rank receives every part's gradient: PARTS x parameters x 4 bytes (docs/scaling.md).

#include "mpi_job.hpp"

#include <cnnlstm/train.hpp>

#include <cstring>
#include <string>
#include <vector>

namespace soc {

template <class T>
cnnlstm::GradientSharing<T> gradients_on_ranks(cnnlstm::Index parts) {
  using Buffer = typename cnnlstm::GradientSharing<T>::Buffer;
  cnnlstm::GradientSharing<T> sharing;
  sharing.parts = parts;
  sharing.computes = [](cnnlstm::Index p) { return p % job_size() == job_rank(); };
  sharing.exchange = [](std::vector<Buffer>& grads, std::vector<double>& losses) {
    // This rank's parts: (part, loss, count, values) each.
    std::string mine;
    const auto put = [&](const void* data, std::size_t bytes) { mine.append(static_cast<const char*>(data), bytes); };
    for (std::size_t p = 0; p < grads.size(); ++p) {
      if (grads[p].empty()) continue;
      const std::uint64_t part = p, count = grads[p].size();
      put(&part, sizeof part);
      put(&losses[p], sizeof losses[p]);
      put(&count, sizeof count);
      put(grads[p].data(), count * sizeof(T));
    }
    const std::vector<std::string> all = gather_all(mine);
    for (int r = 0; r < job_size(); ++r) {
      if (r == job_rank()) continue;
      const std::string& theirs = all[static_cast<std::size_t>(r)];
      for (std::size_t at = 0; at < theirs.size();) {
        std::uint64_t part = 0, count = 0;
        double loss = 0;
        const auto take = [&](void* out, std::size_t bytes) {
          if (theirs.size() - at < bytes)
            throw cnnlstm::FormatError("data-parallel training: rank " + std::to_string(r) + "'s gradients end early");
          std::memcpy(out, theirs.data() + at, bytes);
          at += bytes;
        };
        take(&part, sizeof part);
        take(&loss, sizeof loss);
        take(&count, sizeof count);
        if (part >= grads.size() || count > (theirs.size() - at) / sizeof(T))
          throw cnnlstm::FormatError("data-parallel training: rank " + std::to_string(r) + " sent part " + std::to_string(part) +
                                     " of " + std::to_string(count) + " values, which does not fit");
        grads[part].resize(count);
        take(grads[part].data(), count * sizeof(T));
        losses[part] = loss;
      }
    }
  };
  return sharing;
}

}  // namespace soc
