#pragma once
// One time step of an LSTM layer after its gate pre-activations z (4, H*Np) are known (input and
// recurrent products, biases), element by element over the H*Np values of each gate block:
//
// forward (in training in place on the gates, which backward reads):
//   i = sigmoid(z_i)  f = sigmoid(z_f)  g = tanh(z_g)  o = sigmoid(z_o)
//   c = f * c_prev + i * g        (c_prev = 0 at t = 0)
//   tanh_c = tanh(c)              h = o * tanh_c
//
// backward, with the carry dc = dL/dc_{t+1} * f_{t+1} (zero at the last step) and dh = dL/dh_t:
//   dc   += dh * o * (1 - tanh_c^2)          (now dL/dc_t)
//   dz_i  = dc * g * i (1 - i)               dz_f = dc * c_prev * f (1 - f)
//   dz_g  = dc * i * (1 - g^2)               dz_o = dh * tanh_c * o (1 - o)
//   dc   *= f                                (the carry for step t - 1)

// All arrays live in lane buffers: a tail shorter than a vector is read as a whole vector.

#include <array>

#include "vector_math.hpp"

namespace cnnlstm::kernels {

// The four gate blocks of one time step: block g holds `count` = H*Np values.
template <class Ptr>
struct GateBlocks {
  Ptr base;
  Index count;
  Ptr operator[](int gate) const { return base + gate * count; }
};

namespace detail {

// The cell on one vector of each gate's pre-activation at element e (n lanes of it matter).
template <bool KeepForBackward, class T, class Count>
void cell_update(Lanes<T> z_i, Lanes<T> z_f, Lanes<T> z_g, Lanes<T> z_o, GateBlocks<T*> gates, Index e,
                 Count n, const T* c_prev, T* c, T* tanh_c, T* h) {
  const Lanes<T> i = sigmoid(z_i), f = sigmoid(z_f), g = tanh(z_g), o = sigmoid(z_o);
  const Lanes<T> c_new = c_prev ? xsimd::fma(f, load_lanes(c_prev + e, n), i * g) : i * g;
  const Lanes<T> tc = tanh(c_new);
  if constexpr (KeepForBackward) {
    store_lanes(gates[0] + e, i, n);
    store_lanes(gates[1] + e, f, n);
    store_lanes(gates[2] + e, g, n);
    store_lanes(gates[3] + e, o, n);
    store_lanes(tanh_c + e, tc, n);
  }
  store_lanes(c + e, c_new, n);
  store_lanes(h + e, o * tc, n);
}

}  // namespace detail

// gates (4, count) pre-activations; c_prev (count) or null at t = 0 -> c and h (count each).
// With KeepForBackward, also the activations in place of the gates and tanh(c) into tanh_c.
template <bool KeepForBackward, class T>
void lstm_cell_forward(GateBlocks<T*> gates, const T* c_prev, T* c, T* tanh_c, T* h) {
  for_each_vector<T>(gates.count, [&](Index e, auto n) {
    detail::cell_update<KeepForBackward>(load_lanes(gates[0] + e, n), load_lanes(gates[1] + e, n),
                                         load_lanes(gates[2] + e, n), load_lanes(gates[3] + e, n), gates,
                                         e, n, c_prev, c, tanh_c, h);
  });
}

// A whole time step t > 0 for several samples (np a multiple of the vector width), the recurrent
// product fused into the cell: for each unit j and vector of samples, the four gate rows
// j, H + j, 2H + j, 3H + j start from the input term already in `gates`, add W_hh h_{t-1} in
// registers and go straight through the cell, so z never goes back to memory. Each gate gets the
// same fused multiply-adds in the same order as gemm_accumulate would give it.
//   w_hh (4H, H) row-major, h_prev (H, np) -> as lstm_cell_forward
template <bool KeepForBackward, class T>
void lstm_step_forward(const T* w_hh, const T* h_prev, GateBlocks<T*> gates, Index np, const T* c_prev, T* c,
                       T* tanh_c, T* h) {
  using V = Lanes<T>;
  const Index hidden = gates.count / np;
  for (Index j = 0; j < hidden; ++j)
    for (Index lane = 0; lane < np; lane += lane_width<T>) {
      const Index e = j * np + lane;
      std::array<V, 4> z{load(gates[0] + e), load(gates[1] + e), load(gates[2] + e), load(gates[3] + e)};
      for (Index k = 0; k < hidden; ++k) {
        const V h_k = load(h_prev + k * np + lane);
        for (int g = 0; g < 4; ++g) z[g] = xsimd::fma(V(w_hh[(g * hidden + j) * hidden + k]), h_k, z[g]);
      }
      detail::cell_update<KeepForBackward>(z[0], z[1], z[2], z[3], gates, e, Whole<T>{}, c_prev, c, tanh_c,
                                           h);
    }
}

// gates (4, count) activations, c_prev (count) or null at t = 0, tanh_c and dh (count);
// dc (count) carry in and out -> dz (4, count).
template <class T>
void lstm_cell_backward(GateBlocks<const T*> gates, const T* c_prev, const T* tanh_c, const T* dh,
                        T* dc, GateBlocks<T*> dz) {
  using V = Lanes<T>;
  const V one(T(1));
  for_each_vector<T>(gates.count, [&](Index e, auto n) {
    const V i = load_lanes(gates[0] + e, n), f = load_lanes(gates[1] + e, n);
    const V g = load_lanes(gates[2] + e, n), o = load_lanes(gates[3] + e, n);
    const V tc = load_lanes(tanh_c + e, n), d_h = load_lanes(dh + e, n);
    const V d_c = xsimd::fma(d_h * o, xsimd::fnma(tc, tc, one), load_lanes(dc + e, n));
    store_lanes(dz[0] + e, d_c * g * i * (one - i), n);
    store_lanes(dz[1] + e, c_prev ? d_c * load_lanes(c_prev + e, n) * f * (one - f) : V(T(0)), n);
    store_lanes(dz[2] + e, d_c * i * xsimd::fnma(g, g, one), n);
    store_lanes(dz[3] + e, d_h * tc * o * (one - o), n);
    store_lanes(dc + e, d_c * f, n);
  });
}

}  // namespace cnnlstm::kernels
