#pragma once
// Reductions over the lanes, for parameter gradients:
//   gemm_nt:   C (M, K) += sum_b A_b (M, L) B_b (K, L)^T     (dW = dY X^T summed over samples)
//   row_sums:  s (M)    += sum_b sum_l A_b (M, L)             (db = dY summed over samples)
// where b runs over equally shaped blocks (the time steps of a sequence, or a single block) and
// L is the lane count (samples, or positions x samples). Each (m, k) accumulates a vector over
// the blocks and lanes, then adds its horizontal sum to C once.

#include <array>

#include "lane_matrix.hpp"

namespace cnnlstm::kernels {

// `count` lane matrices shaped like `first`, block b starting block_stride elements after b - 1.
template <class T>
struct LaneBlocks {
  LaneView<T> first;
  Index count = 1;
  Index block_stride = 0;

  const T* row(Index block, Index r) const { return first.row(r) + block * block_stride; }
};

namespace detail {

// Dot products a tile may accumulate in registers (as in gemm.hpp), in tiles of MR rows of A x
// nt_cols rows of B.
template <class T>
constexpr int nt_accumulators = sizeof(Lanes<T>) >= 64 ? 24 : 12;
constexpr int nt_cols = 4;

// acc[i][j] += A rows (MR vectors) x B rows (KR vectors) at lane l; count lanes (Whole or a tail).
template <class T, int MR, int KR, class Count>
void accumulate_products(std::array<Lanes<T>, MR * KR>& acc, const std::array<const T*, MR>& a,
                         const std::array<const T*, KR>& b, Index l, Count count) {
  std::array<Lanes<T>, KR> bv;
  for (int j = 0; j < KR; ++j) bv[j] = load_n(b[j] + l, count);
  for (int i = 0; i < MR; ++i) {
    const Lanes<T> av = load_n(a[i] + l, count);
    for (int j = 0; j < KR; ++j) acc[i * KR + j] = xsimd::fma(av, bv[j], acc[i * KR + j]);
  }
}

// C[m0 .. m0+MR, k0 .. k0+KR) += the dot products of those rows of A and B.
template <class T, int MR, int KR>
void gemm_nt_tile(const LaneBlocks<T>& a, Index m0, const LaneBlocks<T>& b, Index k0, T* c, Index ldc) {
  constexpr Index w = lane_width<T>;
  const Index len = a.first.cols;
  std::array<Lanes<T>, MR * KR> acc;
  acc.fill(Lanes<T>(T(0)));
  for (Index blk = 0; blk < a.count; ++blk) {
    std::array<const T*, MR> a_rows;
    std::array<const T*, KR> b_rows;
    for (int i = 0; i < MR; ++i) a_rows[i] = a.row(blk, m0 + i);
    for (int j = 0; j < KR; ++j) b_rows[j] = b.row(blk, k0 + j);
    Index l = 0;
    for (; l + w <= len; l += w) accumulate_products<T, MR, KR>(acc, a_rows, b_rows, l, Whole<T>{});
    if (l < len) accumulate_products<T, MR, KR>(acc, a_rows, b_rows, l, len - l);
  }
  // One horizontal sum per accumulator (xsimd 8.1's haddp, which would reduce 16 at once, mixes
  // up lanes 2-5 and 10-13 of its result with AVX-512).
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < KR; ++j) c[(m0 + i) * ldc + k0 + j] += xsimd::hadd(acc[i * KR + j]);
}

// One tile at row m of A: the tallest of MR, Smaller... that fits; returns its height.
template <class T, int KR, int MR, int... Smaller>
Index gemm_nt_row_tile(const LaneBlocks<T>& a, Index m, const LaneBlocks<T>& b, Index k0, T* c, Index ldc) {
  if constexpr (MR * KR <= nt_accumulators<T>) {
    if (a.first.rows - m >= MR) {
      gemm_nt_tile<T, MR, KR>(a, m, b, k0, c, ldc);
      return MR;
    }
  }
  if constexpr (sizeof...(Smaller) > 0)
    return gemm_nt_row_tile<T, KR, Smaller...>(a, m, b, k0, c, ldc);
  else
    return 0;  // not reached: a tile of one row always fits
}

// All rows of A against the rows [k0, k0 + KR) of B.
template <class T, int KR>
void gemm_nt_columns(const LaneBlocks<T>& a, const LaneBlocks<T>& b, Index k0, T* c, Index ldc) {
  for (Index m = 0; m < a.first.rows;) m += gemm_nt_row_tile<T, KR, 6, 4, 3, 2, 1>(a, m, b, k0, c, ldc);
}

}  // namespace detail

// C (M, K) += sum_b A_b B_b^T, with A_b (M, L), B_b (K, L) and C row-major with row stride ldc.
template <class T>
void gemm_nt(const LaneBlocks<T>& a, const LaneBlocks<T>& b, T* c, Index ldc) {
  constexpr int kr = detail::nt_cols;  // then single rows of B for what is left
  Index k = 0;
  for (; k + kr <= b.first.rows; k += kr) detail::gemm_nt_columns<T, kr>(a, b, k, c, ldc);
  for (; k < b.first.rows; ++k) detail::gemm_nt_columns<T, 1>(a, b, k, c, ldc);
}

// s (M) += sum_b sum_l A_b[m, l]
template <class T>
void row_sums(const LaneBlocks<T>& a, T* s) {
  constexpr Index w = lane_width<T>;
  const Index len = a.first.cols;
  for (Index m = 0; m < a.first.rows; ++m) {
    Lanes<T> acc(T(0));
    for (Index blk = 0; blk < a.count; ++blk) {
      const T* row = a.row(blk, m);
      Index l = 0;
      for (; l + w <= len; l += w) acc += load(row + l);
      if (l < len) acc += load_n(row + l, len - l);
    }
    s[m] += xsimd::hadd(acc);
  }
}

}  // namespace cnnlstm::kernels
