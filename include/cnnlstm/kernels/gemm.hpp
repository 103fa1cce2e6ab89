#pragma once
// Matrix products whose result is a lane matrix (lane_matrix.hpp):
//   C (M, cols) = [C +] bias 1^T + A (M, K) B (K, cols)
// A is a weight (or its transpose, which is the same memory read with swapped strides), B and C
// are lane matrices. Each element of C is computed as
//   acc = C or bias[m] or 0;  for k = 0 .. K-1: acc = fma(A[m, k], B[k, j], acc)
// whichever path computes it, so results never depend on where a column sits.
//
// Paths:
//  - cols > 1: vectorised along the columns (samples, or positions x samples): a tile of MR rows
//    x NV vectors of C stays in registers while k runs; A is broadcast, B streamed. Column tiles
//    are the outer loop so the K x NV vectors of B they read stay in L1 for all rows of A. Tiles
//    are as tall as the registers allow (6 x 4 vectors, 12 x 2 with AVX-512), so B is read few times.
//  - cols == 1 (one sample): vectorised along M, which needs A contiguous along M (a transposed
//    weight, see WeightOperand).

#include <array>
#include <cstring>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "lane_matrix.hpp"

namespace cnnlstm::kernels {

// A (rows, cols) read as data[m * row_stride + k * col_stride].
template <class T>
struct MatrixRef {
  const T* data = nullptr;
  Index rows = 0, cols = 0, row_stride = 0, col_stride = 1;
  bool slack = false;  // a vector of readable memory follows the last element (WeightOperand)

  // A row-major (rows, cols) matrix, such as a PyTorch weight (out, in).
  static MatrixRef row_major(const T* data, Index rows, Index cols) { return {data, rows, cols, cols, 1}; }
  T operator()(Index m, Index k) const { return data[m * row_stride + k * col_stride]; }
  MatrixRef transposed() const { return {data, cols, rows, col_stride, row_stride}; }
};

// Hands a weight to gemm in the form the product needs: as it is for several columns, and for
// one column, if it is not already contiguous along M, as a transposed copy kept here (grow-only).
// The copy is remade only when the weight's values changed since the last call (compared with a
// snapshot of them, which is much cheaper than transposing), so repeated one-sample predictions
// reuse it.
template <class T>
class WeightOperand {
 public:
  MatrixRef<T> operator()(const MatrixRef<T>& a, Index cols) {
    if (cols != 1 || a.row_stride == 1) return a;
    const auto size = static_cast<std::size_t>(a.rows * a.cols);
    if (!same_as_snapshot(a)) {
      snapshot_.assign(a.data, a.data + size);
      transposed_.resize(size + static_cast<std::size_t>(lane_width<T>));
      for (Index m = 0; m < a.rows; ++m)
        for (Index k = 0; k < a.cols; ++k) transposed_[static_cast<std::size_t>(k * a.rows + m)] = a(m, k);
      shape_ = {a.rows, a.cols};
    }
    return {transposed_.data(), a.rows, a.cols, 1, a.rows, true};
  }

 private:
  // The weight is row-major (rows, cols) with the values of the snapshot, bit for bit.
  bool same_as_snapshot(const MatrixRef<T>& a) const {
    return shape_ == std::array<Index, 2>{a.rows, a.cols} && a.row_stride == a.cols && a.col_stride == 1 &&
           std::memcmp(snapshot_.data(), a.data, snapshot_.size() * sizeof(T)) == 0;
  }

  std::array<Index, 2> shape_{};                             // (M, K) of the snapshot
  std::vector<T> snapshot_;                                  // the weight when last transposed
  std::vector<T, Eigen::aligned_allocator<T>> transposed_;  // (K, M) and a vector of slack
};

namespace detail {

// Accumulators a tile may hold in registers: 24 of the 32 vector registers of AVX-512, 12 of 16.
template <class T>
constexpr int gemm_accumulators = sizeof(Lanes<T>) >= 64 ? 24 : 12;

// Where one tile's accumulators start: from C, from the bias, or from zero.
template <class T>
struct TileStart {
  const T* bias;
  bool accumulate;
};

// B read from a lane matrix: the vector of row k at column j.
template <class T>
struct LaneRows {
  LaneView<T> b;

  Index column(Index j) const { return j; }
  const T* at(Index k, Index j) const { return b.row(k) + j; }
};

// C[m0 .. m0+MR, j0 .. j0+NV*W) of the product, MR x NV vectors held in registers. B comes from
// a source (LaneRows, or ConvTaps in im2col.hpp) that gives the address of each vector of B.
template <class T, int MR, int NV, class Source>
void gemm_tile(const MatrixRef<T>& a, Index m0, const Source& b, const LaneSpan<T>& c, Index j0,
               TileStart<T> start) {
  constexpr Index w = lane_width<T>;
  std::array<Lanes<T>, MR * NV> acc;
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v)
      acc[i * NV + v] = start.accumulate ? load(c.row(m0 + i) + j0 + v * w)
                                         : Lanes<T>(start.bias ? start.bias[m0 + i] : T(0));
  std::array<decltype(b.column(j0)), NV> columns;
  for (int v = 0; v < NV; ++v) columns[v] = b.column(j0 + v * w);
  for (Index k = 0; k < a.cols; ++k) {
    std::array<Lanes<T>, NV> bv;
    for (int v = 0; v < NV; ++v) bv[v] = load(b.at(k, columns[v]));
    for (int i = 0; i < MR; ++i) {
      const Lanes<T> av(a(m0 + i, k));
      for (int v = 0; v < NV; ++v) acc[i * NV + v] = xsimd::fma(av, bv[v], acc[i * NV + v]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) store(c.row(m0 + i) + j0 + v * w, acc[i * NV + v]);
}

// One row tile at row m of the column tile j0: the tallest of MR, Smaller... that fits both the
// rows left and the accumulator budget; returns its height.
template <class T, int NV, class Source, int MR, int... Smaller>
Index gemm_row_tile(const MatrixRef<T>& a, Index m, const Source& b, const LaneSpan<T>& c, Index j0,
                    TileStart<T> start) {
  if constexpr (MR * NV <= gemm_accumulators<T>) {
    if (a.rows - m >= MR) {
      gemm_tile<T, MR, NV>(a, m, b, c, j0, start);
      return MR;
    }
  }
  if constexpr (sizeof...(Smaller) > 0)
    return gemm_row_tile<T, NV, Source, Smaller...>(a, m, b, c, j0, start);
  else
    return 0;  // not reached: a tile of one row always fits
}

// All rows of the column tile of NV vectors at j0.
template <class T, int NV, class Source>
void gemm_column_tile(const MatrixRef<T>& a, const Source& b, const LaneSpan<T>& c, Index j0,
                      TileStart<T> start) {
  for (Index m = 0; m < a.rows;)
    m += gemm_row_tile<T, NV, Source, 12, 8, 6, 4, 3, 2, 1>(a, m, b, c, j0, start);
}

// Column tiles of 4 vectors, then of 2 and 1 for what is left.
template <class T, class Source>
void gemm_columns(const MatrixRef<T>& a, const Source& b, const LaneSpan<T>& c, TileStart<T> start) {
  constexpr Index w = lane_width<T>;
  const Index vectors = (c.cols + w - 1) / w;
  Index v = 0;
  for (; v + 4 <= vectors; v += 4) gemm_column_tile<T, 4>(a, b, c, v * w, start);
  for (; v + 2 <= vectors; v += 2) gemm_column_tile<T, 2>(a, b, c, v * w, start);
  for (; v < vectors; ++v) gemm_column_tile<T, 1>(a, b, c, v * w, start);
}

// One column: c (M) = start + A b, vectorised along M (A contiguous along M). A tail of M reads
// whole vectors of A when A has slack behind it, else copies; c is a lane buffer.
template <class T, bool Slack>
void gemv(const MatrixRef<T>& a, const LaneView<T>& b, const LaneSpan<T>& c, TileStart<T> start) {
  for_each_vector<T>(a.rows, [&](Index m, auto count) {
    Lanes<T> acc = start.accumulate ? load_lanes(c.data + m, count)
                                    : (start.bias ? load_n(start.bias + m, count) : Lanes<T>(T(0)));
    for (Index k = 0; k < a.cols; ++k) {
      const T* column = a.data + m + k * a.col_stride;
      const Lanes<T> a_k = Slack ? load_lanes(column, count) : load_n(column, count);
      acc = xsimd::fma(a_k, Lanes<T>(b.row(k)[0]), acc);
    }
    store_lanes(c.data + m, acc, count);
  });
}

template <class T>
void gemm(const MatrixRef<T>& a, const LaneView<T>& b, const LaneSpan<T>& c, TileStart<T> start) {
  if (c.cols == 1 && a.row_stride != 1)
    throw UsageError("gemm: one column needs A contiguous along M (see WeightOperand)");
  if (c.cols == 1 && a.slack)
    gemv<T, true>(a, b, c, start);
  else if (c.cols == 1)
    gemv<T, false>(a, b, c, start);
  else
    gemm_columns(a, LaneRows<T>{b}, c, start);
}

}  // namespace detail

// C (M, cols) = bias 1^T + A (M, K) B (K, cols); no bias when bias is null.
// With cols == 1, A must be contiguous along M (row_stride 1).
template <class T>
void gemm(const MatrixRef<T>& a, const std::type_identity_t<LaneView<T>>& b, const LaneSpan<T>& c,
          const T* bias = nullptr) {
  detail::gemm(a, b, c, detail::TileStart<T>{bias, false});
}

// C (M, cols) = bias 1^T + A (M, K) B (K, cols) with B given by a source (see gemm_tile), for
// products whose B is never stored whole: cols a multiple of the vector width.
template <class T, class Source>
void gemm_from(const MatrixRef<T>& a, const Source& b, const LaneSpan<T>& c, const T* bias) {
  detail::gemm_columns(a, b, c, detail::TileStart<T>{bias, false});
}

// C (M, cols) += A (M, K) B (K, cols).
template <class T>
void gemm_accumulate(const MatrixRef<T>& a, const std::type_identity_t<LaneView<T>>& b,
                     const LaneSpan<T>& c) {
  detail::gemm(a, b, c, detail::TileStart<T>{nullptr, true});
}

}  // namespace cnnlstm::kernels
