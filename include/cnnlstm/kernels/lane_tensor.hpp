#pragma once
// A tensor in the lane layout together with its PyTorch shape, which is what layers pass to each
// other inside a model (their public forward/backward convert from and to PyTorch's layout):
//   (N, F)          lanes (F, Np)
//   (N, T, F)       lanes (T*F, Np)       time step t is rows [t*F, t*F + F)
//   (N, C, H, W)    lanes (C, H*W*Np)     one row per channel
// See lane_matrix.hpp for Np and the padding lanes.

#include "transpose.hpp"

namespace cnnlstm::kernels {

// Rows of the lane matrix for a PyTorch shape: channels for images, else every non-batch axis.
template <std::size_t Rank>
Index lane_rows(const std::array<Index, Rank>& shape) {
  if constexpr (Rank == 4) return shape[1];
  Index rows = 1;
  for (std::size_t d = 1; d < Rank; ++d) rows *= shape[d];
  return rows;
}

// Positions per row: H*W for images, else 1.
template <std::size_t Rank>
Index lane_positions(const std::array<Index, Rank>& shape) {
  if constexpr (Rank == 4) return shape[2] * shape[3];
  return 1;
}

template <class T, int Rank>
struct LaneTensor {
  LaneView<T> lanes;
  Shape<Rank> shape;  // PyTorch's (N, ...)

  Index samples() const { return shape[0]; }
  Index stride() const { return lane_stride<T>(shape[0]); }  // Np
};

// Sizes `buffer` for a tensor of the given PyTorch shape.
template <class T, std::size_t Rank>
LaneSpan<T> resize_lanes(LaneBuffer<T>& buffer, const std::array<Index, Rank>& shape) {
  return buffer.resize(lane_rows(shape), lane_positions(shape) * lane_stride<T>(shape[0]));
}

// x (PyTorch layout) -> the same tensor in `buffer`, in lanes.
template <class T, int Rank>
LaneTensor<T, Rank> to_lanes(const TensorRef<T, Rank>& x, LaneBuffer<T>& buffer) {
  const LaneSpan<T> out = resize_lanes(buffer, x.shape());
  to_lanes(x.data(), x.dimension(0), lane_rows(x.shape()), lane_positions(x.shape()), out);
  return {out, x.shape()};
}

// x (lanes) -> the same tensor in `out`, in PyTorch layout.
template <class T, int Rank>
TensorRef<T, Rank> from_lanes(const LaneTensor<T, Rank>& x, TensorBuffer<T, Rank>& out) {
  out.resize(x.shape);
  from_lanes(x.lanes, x.samples(), lane_positions(x.shape), out.data());
  return out;
}

}  // namespace cnnlstm::kernels
