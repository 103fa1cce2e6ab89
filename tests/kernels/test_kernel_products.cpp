// The lane layout, its conversions and the matrix products of include/cnnlstm/kernels/, each
// against a plain loop.
#include <doctest/doctest.h>

#include <cnnlstm/kernels/gemm.hpp>
#include <cnnlstm/kernels/gemm_nt.hpp>
#include <cnnlstm/kernels/lane_tensor.hpp>
#include <cnnlstm/core/random.hpp>

#include <cmath>
#include <tuple>
#include <vector>

using namespace cnnlstm;
using namespace cnnlstm::kernels;

namespace {

template <class T>
std::vector<T> random_values(Index n, Rng& rng) {
  std::vector<T> v(static_cast<std::size_t>(n));
  for (T& x : v) x = static_cast<T>(rng.uniform(-1.0, 1.0));
  return v;
}

// A lane matrix (rows, cols) of random values.
template <class T>
LaneView<T> random_lanes(LaneBuffer<T>& buffer, Index rows, Index cols, Rng& rng) {
  const LaneSpan<T> m = buffer.resize(rows, cols);
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < cols; ++c) m.row(r)[c] = static_cast<T>(rng.uniform(-1.0, 1.0));
  return m;
}

// sum_k A[m, k] B[k, j] (+ bias[m]) in double
template <class T>
double reference_product(const MatrixRef<T>& a, const LaneView<T>& b, Index m, Index j, const T* bias) {
  double sum = bias ? bias[m] : 0.0;
  for (Index k = 0; k < a.cols; ++k) sum += static_cast<double>(a(m, k)) * b.row(k)[j];
  return sum;
}

}  // namespace

TEST_CASE("lane layout: one sample takes one column, several a whole number of vectors") {
  constexpr Index w = lane_width<float>;
  CHECK(lane_stride<float>(1) == 1);
  CHECK(lane_stride<float>(2) == w);
  CHECK(lane_stride<float>(w + 1) == 2 * w);
  CHECK(padded_cols<float>(1) == 1);
  CHECK(padded_cols<float>(36) == round_up(36, w));
  LaneBuffer<float> buffer;
  const float* first = buffer.resize(10, 3 * w).data;
  CHECK(buffer.resize(4, w + 1).data == first);  // smaller: the same memory
  CHECK(buffer.view().ld == 2 * w);
}

TEST_CASE("to_lanes and from_lanes transpose (N, R, Q) and zero the padding lanes") {
  for (const Index n : {Index{1}, Index{3}, Index{17}}) {
    const Index rows = 3, per_row = 5, np = lane_stride<double>(n);
    Rng rng(static_cast<std::uint64_t>(n));
    const std::vector<double> x = random_values<double>(n * rows * per_row, rng);
    LaneBuffer<double> buffer;
    const LaneSpan<double> lanes = buffer.resize(rows, per_row * np);
    to_lanes(x.data(), n, rows, per_row, lanes);
    for (Index i = 0; i < np; ++i)
      for (Index r = 0; r < rows; ++r)
        for (Index q = 0; q < per_row; ++q)
          CHECK(lanes.row(r)[q * np + i] ==
                (i < n ? x[static_cast<std::size_t>((i * rows + r) * per_row + q)] : 0.0));
    std::vector<double> back(x.size());
    from_lanes<double>(lanes, n, per_row, back.data());
    CHECK(back == x);
  }
}

TEST_CASE("load_n zero-fills a tail, store_n and store_lanes write only its lanes") {
  constexpr Index w = lane_width<float>;
  LaneBuffer<float> buffer;
  const LaneSpan<float> m = buffer.resize(1, 2 * w);
  for (Index i = 0; i < 2 * w; ++i) m.data[i] = static_cast<float>(i + 1);
  const Lanes<float> v = load_n(m.data, Index{3});
  CHECK(v.get(2) == 3.0f);
  CHECK(v.get(3) == 0.0f);
  store_lanes(m.data, Lanes<float>(-1.0f), Index{2});
  store_n(m.data + w, Lanes<float>(-2.0f), Index{1});
  CHECK(m.data[1] == -1.0f);
  CHECK(m.data[2] == 3.0f);
  CHECK(m.data[w] == -2.0f);
  CHECK(m.data[w + 1] == static_cast<float>(w + 2));
  std::vector<Index> pieces;
  for_each_vector<float>(2 * w + 3, [&](Index i, auto count) { pieces.push_back(i + static_cast<Index>(count)); });
  CHECK(pieces == std::vector<Index>{w, 2 * w, 2 * w + 3});
}

TEST_CASE("gemm matches the plain product for every tile shape, with bias and accumulation") {
  // (M, K, cols): rows 1..13 cover every tile height, cols 1 (one sample) to several vectors
  constexpr Index w = lane_width<float>;
  const std::vector<std::tuple<Index, Index, Index>> shapes{
      {1, 1, 1}, {6, 40, 36}, {16, 24, 4 * w}, {32, 12, 2 * w}, {13, 7, 5 * w + 3}, {40, 6, 1}, {3, 5, w}};
  for (const auto& [m, k, cols] : shapes) {
    Rng rng(static_cast<std::uint64_t>(m * 100 + k));
    const std::vector<float> weight = random_values<float>(m * k, rng), bias = random_values<float>(m, rng);
    LaneBuffer<float> b_buffer, c_buffer;
    const LaneView<float> b = random_lanes(b_buffer, k, cols, rng);
    const LaneSpan<float> c = c_buffer.resize(m, cols);
    WeightOperand<float> operand;
    const auto a = MatrixRef<float>::row_major(weight.data(), m, k);
    gemm(operand(a, cols), b, c, bias.data());
    for (Index i = 0; i < m; ++i)
      for (Index j = 0; j < cols; ++j)
        CHECK(c.row(i)[j] == doctest::Approx(reference_product(a, b, i, j, bias.data())).epsilon(1e-5));
    // C += A B once more, A now read from its transpose's storage (contiguous along M, as the
    // backward passes read weights), so that one column needs no packing
    std::vector<float> weight_t(weight.size());
    for (Index i = 0; i < m; ++i)
      for (Index j = 0; j < k; ++j) weight_t[static_cast<std::size_t>(j * m + i)] = a(i, j);
    gemm_accumulate(MatrixRef<float>::row_major(weight_t.data(), k, m).transposed(), b, c);
    for (Index i = 0; i < m; ++i)
      for (Index j = 0; j < cols; ++j)
        CHECK(c.row(i)[j] == doctest::Approx(2 * reference_product<float>(a, b, i, j, nullptr) +
                                             bias[static_cast<std::size_t>(i)])
                                 .epsilon(1e-5));
  }
}

TEST_CASE("gemm gives each column the same bits whether it is computed alone or among others") {
  constexpr Index w = lane_width<float>;
  const Index m = 32, k = 20, cols = 3 * w;
  Rng rng(5);
  const std::vector<float> weight = random_values<float>(m * k, rng), bias = random_values<float>(m, rng);
  const auto a = MatrixRef<float>::row_major(weight.data(), m, k);
  LaneBuffer<float> b_buffer, c_buffer, one_b, one_c;
  const LaneView<float> b = random_lanes(b_buffer, k, cols, rng);
  const LaneSpan<float> c = c_buffer.resize(m, cols);
  WeightOperand<float> operand;
  gemm(operand(a, cols), b, c, bias.data());
  for (const Index j : {Index{0}, w - 1, cols - 3}) {
    const LaneSpan<float> column = one_b.resize(k, 1);
    for (Index r = 0; r < k; ++r) column.row(r)[0] = b.row(r)[j];
    const LaneSpan<float> out = one_c.resize(m, 1);
    gemm(operand(a, 1), column, out, bias.data());
    for (Index i = 0; i < m; ++i) CHECK(out.row(i)[0] == c.row(i)[j]);
  }
}

TEST_CASE("gemm_nt and row_sums reduce over blocks and lanes, tails included") {
  constexpr Index w = lane_width<double>;
  for (const Index lanes : {Index{1}, Index{5}, 2 * w, 3 * w + 2}) {
    const Index m = 7, k = 6, blocks = 3;
    Rng rng(static_cast<std::uint64_t>(lanes));
    LaneBuffer<double> a_buffer, b_buffer;
    // blocks stacked as rows: block t is rows [t*m, t*m + m) of a, [t*k, t*k + k) of b
    const LaneView<double> a = random_lanes(a_buffer, blocks * m, lanes, rng);
    const LaneView<double> b = random_lanes(b_buffer, blocks * k, lanes, rng);
    const LaneBlocks<double> a_blocks{a.rows_from(0, m), blocks, m * a.ld};
    const LaneBlocks<double> b_blocks{b.rows_from(0, k), blocks, k * b.ld};
    std::vector<double> c(static_cast<std::size_t>(m * k), 1.0), sums(static_cast<std::size_t>(m), 1.0);
    gemm_nt(a_blocks, b_blocks, c.data(), k);
    row_sums(a_blocks, sums.data());
    for (Index i = 0; i < m; ++i) {
      double row = 1.0;
      for (Index t = 0; t < blocks; ++t)
        for (Index l = 0; l < lanes; ++l) row += a.row(t * m + i)[l];
      CHECK(sums[static_cast<std::size_t>(i)] == doctest::Approx(row).epsilon(1e-12));
      for (Index j = 0; j < k; ++j) {
        double dot = 1.0;
        for (Index t = 0; t < blocks; ++t)
          for (Index l = 0; l < lanes; ++l) dot += a.row(t * m + i)[l] * b.row(t * k + j)[l];
        CHECK(c[static_cast<std::size_t>(i * k + j)] == doctest::Approx(dot).epsilon(1e-12));
      }
    }
  }
}
