#pragma once
// Conversions between PyTorch's sample-major tensors and the lane layout (lane_matrix.hpp):
//   x (N, R, Q) row-major  <->  lanes (R, Q*Np): x[n, r, q] is lanes[r, q * Np + n]
// R is the channel (or feature, or time-feature) axis and Q the positions per row: Q = H*W for
// images (N, C, H, W), Q = 1 for feature matrices (N, F) and for sequences (N, T, F) seen as
// (N, T*F, 1).

#include <algorithm>

#include "lane_matrix.hpp"

namespace cnnlstm::kernels {

// x (N, rows, per_row) -> out (rows, per_row * Np); the padding lanes [N, Np) are set to zero.
template <class T>
void to_lanes(const T* x, Index n, Index rows, Index per_row, LaneSpan<T> out) {
  if (n == 1) {  // Np = 1: each row is a plain copy
    for (Index r = 0; r < rows; ++r) std::copy_n(x + r * per_row, per_row, out.row(r));
    return;
  }
  const Index np = lane_stride<T>(n), sample = rows * per_row;
  for (Index r = 0; r < rows; ++r) {
    T* dst_row = out.row(r);
    for (Index q = 0; q < per_row; ++q) {
      T* dst = dst_row + q * np;
      const T* src = x + r * per_row + q;
      for (Index i = 0; i < n; ++i) dst[i] = src[i * sample];
      std::fill(dst + n, dst + np, T(0));
    }
  }
}

// in (rows, per_row * Np) -> x (N, rows, per_row), the first N lanes only. Sample by sample, so
// that the writes are sequential and the strided reads hit the same cache lines for 16 samples.
template <class T>
void from_lanes(LaneView<T> in, Index n, Index per_row, T* x) {
  const Index np = lane_stride<T>(n);
  for (Index i = 0; i < n; ++i)
    for (Index r = 0; r < in.rows; ++r) {
      const T* src = in.row(r) + i;
      for (Index q = 0; q < per_row; ++q) *x++ = src[q * np];
    }
}

}  // namespace cnnlstm::kernels
