#include <doctest/doctest.h>

#include <cnnlstm/layers/dropout.hpp>

#include <vector>

using namespace cnnlstm;

namespace {

// The values a generator seeded `seed` gives, drawn one after another as draw_dropout_mask does.
std::vector<double> sequential_mask(std::uint64_t seed, Index count, double p) {
  Rng rng(seed);
  std::vector<double> out;
  for (Index i = 0; i < count; ++i) out.push_back(rng.bernoulli(p) ? 0.0 : 1.0 / (1.0 - p));
  return out;
}

}  // namespace

TEST_CASE("the dropout mask is drawn in PyTorch's order, one block or time steps, the padding lanes zero") {
  const Index n = 3, rows = 4, positions = 2, np = kernels::lane_stride<double>(n);
  kernels::LaneBuffer<double> buffer;
  const kernels::LaneSpan<double> mask = buffer.resize(rows, positions * np);
  const std::vector<double> expected = sequential_mask(5, n * rows * positions, 0.5);

  // One block: the order of (N, C, H*W) row-major, element (i, r, q) at column q * Np + i.
  Rng one_block(5);
  draw_dropout_mask(mask, n, positions, rows, 0.5, one_block);
  for (Index i = 0; i < n; ++i)
    for (Index r = 0; r < rows; ++r)
      for (Index q = 0; q < positions; ++q)
        CHECK(mask.row(r)[q * np + i] == expected[static_cast<std::size_t>((i * rows + r) * positions + q)]);
  for (Index r = 0; r < rows; ++r)
    for (Index q = 0; q < positions; ++q)
      for (Index i = n; i < np; ++i) CHECK(mask.row(r)[q * np + i] == 0.0);

  // Blocks of 2 rows (the LSTM's time steps of H = 2): the order of (T, N, H).
  const kernels::LaneSpan<double> steps = buffer.resize(rows, np);
  Rng blocks(5);
  draw_dropout_mask(steps, n, 1, 2, 0.5, blocks);
  for (Index t = 0; t < 2; ++t)
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < 2; ++j)
        CHECK(steps.row(t * 2 + j)[i] == expected[static_cast<std::size_t>((t * n + i) * 2 + j)]);
}
