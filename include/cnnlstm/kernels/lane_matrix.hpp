#pragma once
// The lane layout: how a batch lives inside the kernels. Features outermost, samples innermost,
// so that one vector holds one feature of consecutive samples and every layer vectorises over
// the batch with no shuffles:
//   feature matrix  (F, Np)         element (f, n) at f * Np + n
//   image           (C, H, W, Np)   a (C, H*W*Np) matrix, its rows (channels) ld apart
//   sequence        (T, F, Np)      a (T*F, Np) feature matrix: time step t is rows [t*F, t*F + F)
//
// Np = lane_stride(N) is N rounded up to whole vectors, except that a single sample takes a
// single column: then its features are contiguous and the kernels vectorise along them instead.
// The padding samples in lanes [N, Np) have zero inputs, so everything computed there is finite,
// and zero output gradients, so they add exactly nothing to parameter gradients.
// Rows are ld = padded_cols(cols) apart, a whole number of vectors unless cols == 1, so kernels
// may load and store whole vectors up to the end of any row.
// Pieces of a row shorter than a vector (cols == 1, or a single sample's H*W) are loaded as whole
// vectors and stored lane by lane (load_lanes, store_lanes in simd.hpp).

#include <algorithm>
#include <vector>

#include <Eigen/Core>

#include "simd.hpp"

namespace cnnlstm::kernels {

template <class T>
Index lane_stride(Index samples) {
  return samples == 1 ? 1 : round_up(samples, lane_width<T>);
}

template <class T>
Index padded_cols(Index cols) {
  return cols == 1 ? 1 : round_up(cols, lane_width<T>);
}

// Read-only (rows, cols) view with row stride ld.
template <class T>
struct LaneView {
  const T* data = nullptr;
  Index rows = 0, cols = 0, ld = 0;

  const T* row(Index i) const { return data + i * ld; }
  bool contiguous() const { return ld == cols; }
  // Rows [first, first + count).
  LaneView rows_from(Index first, Index count) const { return {row(first), count, cols, ld}; }
};

// Writable (rows, cols) view with row stride ld.
template <class T>
struct LaneSpan {
  T* data = nullptr;
  Index rows = 0, cols = 0, ld = 0;

  T* row(Index i) const { return data + i * ld; }
  bool contiguous() const { return ld == cols; }
  LaneSpan rows_from(Index first, Index count) const { return {row(first), count, cols, ld}; }
  operator LaneView<T>() const { return {data, rows, cols, ld}; }  // NOLINT implicit
};

// Grow-only storage of one lane matrix: after the first resize to the largest shape, resizing
// never allocates. New memory is zero, and one vector of slack follows the last row, so that a
// kernel may load and store whole vectors at the end (see load_lanes and store_lanes). Views are
// made from the storage on demand, so a copy of a buffer (and of a layer that owns it) never
// points into the original.
template <class T>
class LaneBuffer {
 public:
  LaneSpan<T> resize(Index rows, Index cols) {
    const Index ld = padded_cols<T>(cols);
    const auto n = static_cast<std::size_t>(rows * ld + lane_width<T>);
    if (n > storage_.size()) storage_.resize(n);
    rows_ = rows;
    cols_ = cols;
    ld_ = ld;
    return span();
  }
  LaneSpan<T> span() { return {storage_.data(), rows_, cols_, ld_}; }
  LaneView<T> view() const { return {storage_.data(), rows_, cols_, ld_}; }

 private:
  std::vector<T, Eigen::aligned_allocator<T>> storage_;
  Index rows_ = 0, cols_ = 0, ld_ = 0;
};

// Calls f(offset, count) over the elements of a (rows, cols) matrix with row stride ld, in
// pieces of at most one vector (see for_each_vector): the whole array at once when the rows are
// contiguous, else row by row.
template <class T, class F>
void for_each_piece(Index rows, Index cols, Index ld, F&& f) {
  if (ld == cols) {
    for_each_vector<T>(rows * cols, f);
    return;
  }
  for (Index r = 0; r < rows; ++r)
    for_each_vector<T>(cols, [&](Index i, auto count) { f(r * ld + i, count); });
}

// Copies m into `buffer`, sized like it; returns the copy.
template <class T>
LaneView<T> copy_lanes(const LaneView<T>& m, LaneBuffer<T>& buffer) {
  const LaneSpan<T> out = buffer.resize(m.rows, m.cols);
  for (Index r = 0; r < m.rows; ++r) std::copy_n(m.row(r), m.cols, out.row(r));
  return out;
}

}  // namespace cnnlstm::kernels
