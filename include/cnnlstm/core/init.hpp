#pragma once
// Weight initialisation with PyTorch's distributions (not its random stream):
//   default for Conv2d, Linear (weight and bias) U(-1/sqrt(fan_in), 1/sqrt(fan_in))
//     (kaiming_uniform with a = sqrt(5) reduces to that bound);
//   LSTM, every tensor U(-1/sqrt(hidden), 1/sqrt(hidden));
//   Xavier-uniform U(-a, a), a = sqrt(6 / (fan_in + fan_out)).

#include <cmath>

#include "parameters.hpp"
#include "random.hpp"

namespace cnnlstm {

template <class T>
void fill_uniform(Parameters<T>& params, ParamSlot slot, double bound, Rng& rng) {
  T* p = params.value(slot);
  for (Index i = 0; i < slot.size; ++i) p[i] = static_cast<T>(rng.uniform(-bound, bound));
}

template <class T>
void fill_constant(Parameters<T>& params, ParamSlot slot, T value) {
  std::fill_n(params.value(slot), slot.size, value);
}

inline double default_init_bound(Index fan_in) { return 1.0 / std::sqrt(static_cast<double>(fan_in)); }

inline double xavier_bound(Index fan_in, Index fan_out) {
  return std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
}

}  // namespace cnnlstm
