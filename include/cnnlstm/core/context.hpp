#pragma once
// How a forward pass runs. Training mode keeps the caches backward needs and draws dropout masks
// from the caller's generator (so the trainer owns all randomness, and a checkpoint can save it);
// evaluation mode caches nothing and has no dropout.

#include "errors.hpp"
#include "random.hpp"

namespace cnnlstm {

class Context {
 public:
  static Context evaluation() { return Context(nullptr); }
  static Context training(Rng& rng) { return Context(&rng); }

  bool training() const { return rng_ != nullptr; }
  Rng& rng() const {
    if (rng_ == nullptr) throw UsageError("a random generator was asked for in evaluation mode");
    return *rng_;
  }

 private:
  explicit Context(Rng* rng) : rng_(rng) {}
  Rng* rng_;
};

}  // namespace cnnlstm
