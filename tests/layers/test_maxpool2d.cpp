#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <tuple>
#include <vector>

#include <cnnlstm/check/gradcheck.hpp>
#include <cnnlstm/layers/activation.hpp>
#include <cnnlstm/layers/maxpool2d.hpp>

using namespace cnnlstm;

namespace {

// Distinct values spaced 0.1 apart in random order, centred on zero, so that no finite-difference
// step can move a window's maximum.
void fill_well_separated(double* data, Index size, Rng& rng) {
  std::vector<Index> order(static_cast<std::size_t>(size));
  std::iota(order.begin(), order.end(), Index(0));
  rng.shuffle(order.begin(), order.end());
  for (Index i = 0; i < size; ++i)
    data[i] = 0.1 * static_cast<double>(order[static_cast<std::size_t>(i)] - size / 2);
}

Tensor<double, 4> ones(Index n, Index c, Index h, Index w) {
  Tensor<double, 4> t(n, c, h, w);
  t.setConstant(1.0);
  return t;
}

}  // namespace

TEST_CASE("MaxPool2d forward picks window maxima and backward routes to them, ties to the first") {
  // Windows (2x2, stride 2) of the 4x4 plane:
  //   [1 3 | 2 2]
  //   [0 3 | 2 1]
  //   [---------]
  //   [5 4 | 7 8]
  //   [6 5 | 9 9]
  // top-left max 3 at (0,1) and (1,1): the first, (0,1), wins; top-right 2 at (0,2) first;
  // bottom-left 6 at (3,0); bottom-right 9 at (3,2) first.
  Tensor<double, 4> x(1, 1, 4, 4);
  x.setValues({{{{1, 3, 2, 2}, {0, 3, 2, 1}, {5, 4, 7, 8}, {6, 5, 9, 9}}}});
  MaxPool2d<double> pool(2);
  Rng rng(1);
  const auto y = pool.forward(x, Context::training(rng));
  REQUIRE(y.shape() == Shape<4>{1, 1, 2, 2});
  CHECK(y(0, 0, 0, 0) == 3);
  CHECK(y(0, 0, 0, 1) == 2);
  CHECK(y(0, 0, 1, 0) == 6);
  CHECK(y(0, 0, 1, 1) == 9);
  Tensor<double, 4> dy(1, 1, 2, 2);
  dy.setValues({{{{10, 20}, {30, 40}}}});
  const auto dx = pool.backward(dy);
  REQUIRE(dx.shape() == Shape<4>{1, 1, 4, 4});
  const double expected[4][4] = {{0, 10, 20, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}, {30, 0, 40, 0}};
  for (Index i = 0; i < 4; ++i)
    for (Index j = 0; j < 4; ++j) CHECK(dx(0, 0, i, j) == expected[i][j]);
}

TEST_CASE("MaxPool2d pools every plane of every sample separately") {
  Tensor<double, 4> x(2, 3, 2, 2);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<double>((i * 7) % 12);
  MaxPool2d<double> pool(2);
  const auto y = pool.forward(x, Context::evaluation());
  REQUIRE(y.shape() == Shape<4>{2, 3, 1, 1});
  for (Index n = 0; n < 2; ++n)
    for (Index c = 0; c < 3; ++c)
      CHECK(y(n, c, 0, 0) == std::max({x(n, c, 0, 0), x(n, c, 0, 1), x(n, c, 1, 0), x(n, c, 1, 1)}));
}

TEST_CASE("MaxPool2d accumulates the gradient where overlapping windows share a maximum") {
  // Kernel 2, stride 1 on a 3x3 plane with its maximum in the centre: all four windows pick it.
  Tensor<double, 4> x(1, 1, 3, 3);
  x.setValues({{{{1, 2, 3}, {4, 9, 5}, {6, 7, 8}}}});
  MaxPool2d<double> pool(2, 1);
  Rng rng(1);
  const auto y = pool.forward(x, Context::training(rng));
  REQUIRE(y.shape() == Shape<4>{1, 1, 2, 2});
  for (Index i = 0; i < y.size(); ++i) CHECK(y.data()[i] == 9);
  Tensor<double, 4> dy(1, 1, 2, 2);
  dy.setValues({{{{1, 2}, {3, 4}}}});
  const auto dx = pool.backward(dy);
  for (Index i = 0; i < dx.size(); ++i) CHECK(dx.data()[i] == (i == 4 ? 10.0 : 0.0));
}

TEST_CASE("MaxPool2d treats NaN as the maximum, as PyTorch's CPU kernel does") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  // Window 1: one NaN after a larger value; window 2: two NaNs, the later one is kept;
  // window 3: all -inf, the first is kept.
  Tensor<double, 4> x(1, 1, 2, 6);
  x.setValues({{{{7, nan, nan, 1, -inf, -inf}, {2, 3, 0, nan, -inf, -inf}}}});
  MaxPool2d<double> pool(2);
  Rng rng(1);
  const auto y = pool.forward(x, Context::training(rng));
  REQUIRE(y.shape() == Shape<4>{1, 1, 1, 3});
  CHECK(std::isnan(y(0, 0, 0, 0)));
  CHECK(std::isnan(y(0, 0, 0, 1)));
  CHECK(y(0, 0, 0, 2) == -inf);
  Tensor<double, 4> dy(1, 1, 1, 3);
  dy.setValues({{{{1, 2, 3}}}});
  const auto dx = pool.backward(dy);
  const double expected[2][6] = {{0, 1, 0, 0, 3, 0}, {0, 0, 0, 2, 0, 0}};
  for (Index i = 0; i < 2; ++i)
    for (Index j = 0; j < 6; ++j) CHECK(dx(0, 0, i, j) == expected[i][j]);
}

TEST_CASE("MaxPool2d gradients match finite differences") {
  using Case = std::tuple<Index, Index, Index, Index, Index, Index>;  // N, C, H, W, kernel, stride
  for (const auto& [n, c, h, w, k, s] :
       {Case{1, 1, 4, 4, 2, 0}, Case{3, 2, 6, 6, 2, 2}, Case{2, 3, 5, 7, 2, 0},
        Case{1, 2, 5, 5, 3, 1}, Case{2, 1, 7, 6, 3, 2}, Case{1, 3, 4, 5, 2, 1},
        Case{4, 2, 3, 3, 3, 0}, Case{2, 2, 5, 5, 1, 0}}) {
    CAPTURE(n);
    CAPTURE(h);
    CAPTURE(k);
    CAPTURE(s);
    LayerProbe<MaxPool2d<double>, 4, 4> probe(MaxPool2d<double>(k, s), ParameterLayout{},
                                              {n, c, h, w});
    Rng rng(static_cast<std::uint64_t>(n * 100 + h * 10 + k));
    fill_well_separated(probe.input().data(), probe.input().size(), rng);
    const auto report = check_gradients(probe);
    INFO(report.summary());
    CHECK(report.worst_error() < 1e-6);
    CHECK(report.entries.size() == 1);
  }
}

TEST_CASE("MaxPool2d output sizes use floor mode and a default stride equal to the kernel") {
  const MaxPool2d<float> pool(2);
  CHECK(pool.kernel() == 2);
  CHECK(pool.stride() == 2);
  CHECK(pool.output_size(6, 6) == Shape<2>{3, 3});
  CHECK(pool.output_size(4, 4) == Shape<2>{2, 2});
  CHECK(pool.output_size(5, 5) == Shape<2>{2, 2});
  CHECK(pool.output_size(2, 3) == Shape<2>{1, 1});
  const MaxPool2d<float> strided(3, 2);
  CHECK(strided.output_size(7, 8) == Shape<2>{3, 3});
  CHECK(MaxPool2d<float>(2, 1).output_size(3, 4) == Shape<2>{2, 3});
}

TEST_CASE("MaxPool2d rejects bad options and inputs smaller than its window, naming itself") {
  CHECK_THROWS_WITH_AS(MaxPool2d<double>(0), "MaxPool2d: kernel must be positive, got 0",
                       ConfigError);
  CHECK_THROWS_WITH_AS(MaxPool2d<double>(2, -1), doctest::Contains("MaxPool2d: stride"),
                       ConfigError);
  MaxPool2d<double> pool(3);
  CHECK_THROWS_WITH_AS(pool.forward(ones(1, 2, 2, 5), Context::evaluation()),
                       "MaxPool2d: input 2x5 is smaller than kernel 3", ShapeError);
  CHECK_THROWS_AS(pool.backward(ones(1, 2, 1, 1)), UsageError);
  Rng rng(1);
  pool.forward(ones(1, 2, 6, 6), Context::training(rng));
  CHECK_THROWS_WITH_AS(pool.backward(ones(1, 2, 1, 2)),
                       "MaxPool2d backward: expected gradient (1, 2, 2, 2), got (1, 2, 1, 2)",
                       ShapeError);
  CHECK_NOTHROW(pool.backward(ones(1, 2, 2, 2)));
  pool.forward(ones(1, 2, 6, 6), Context::evaluation());
  CHECK_THROWS_AS(pool.backward(ones(1, 2, 2, 2)), UsageError);
}

TEST_CASE("MaxPool2d in float agrees with double") {
  Tensor<double, 4> xd(2, 3, 5, 5);
  Rng rng(6);
  fill_well_separated(xd.data(), xd.size(), rng);
  const Tensor<float, 4> xf = xd.cast<float>();
  MaxPool2d<double> pool_d(2);
  MaxPool2d<float> pool_f(2);
  const auto yd = pool_d.forward(xd, Context::training(rng));
  const auto yf = pool_f.forward(xf, Context::training(rng));
  REQUIRE(yd.shape() == yf.shape());
  for (Index i = 0; i < yd.size(); ++i) CHECK(yf.data()[i] == static_cast<float>(yd.data()[i]));
  const Tensor<double, 4> dyd = yd.map();
  const Tensor<float, 4> dyf = dyd.cast<float>();
  const auto dxd = pool_d.backward(dyd);
  const auto dxf = pool_f.backward(dyf);
  for (Index i = 0; i < dxd.size(); ++i) CHECK(dxf.data()[i] == static_cast<float>(dxd.data()[i]));
}

TEST_CASE("MaxPool2d reuses its buffers for a smaller batch") {
  MaxPool2d<float> pool(2);
  Tensor<float, 4> big(8, 6, 6, 6), small(3, 6, 6, 6), dy_big(8, 6, 3, 3), dy_small(3, 6, 3, 3);
  big.setRandom();
  small.setRandom();
  dy_big.setRandom();
  dy_small.setRandom();
  Rng rng(1);
  const float* y = pool.forward(big, Context::training(rng)).data();
  const float* dx = pool.backward(dy_big).data();
  CHECK(pool.forward(small, Context::training(rng)).data() == y);
  CHECK(pool.backward(dy_small).data() == dx);
  CHECK(pool.forward(small, Context::evaluation()).data() == y);
}

TEST_CASE("ReluMaxPool2d gives the values and gradients of ReLU then MaxPool2d, NaN included") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const Index n : {Index{1}, Index{19}}) {
    Tensor<double, 4> x(n, 3, 6, 5);
    Rng rng(static_cast<std::uint64_t>(n));
    for (Index i = 0; i < x.size(); ++i) x.data()[i] = rng.uniform(-1.0, 1.0);
    x(0, 0, 0, 0) = nan;                          // a NaN beside positive values
    for (Index i = 0; i < 2; ++i)
      for (Index j = 0; j < 2; ++j) x(0, 1, i, j) = -0.5;  // a window with nothing above 0
    x(0, 2, 2, 2) = x(0, 2, 2, 3) = 0.75;         // a tie: the first one wins
    ReLU<double, 4> relu;
    MaxPool2d<double> pool(2);
    ReluMaxPool2d<double> fused(2);
    Rng train(1);
    const auto expected = pool.forward(relu.forward(x, Context::training(train)), Context::training(train));
    const auto got = fused.forward(x, Context::training(train));
    REQUIRE(got.shape() == expected.shape());
    const auto same = [](double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); };
    CHECK(std::isnan(got(0, 0, 0, 0)));  // ReLU keeps the NaN, and max pooling picks it
    for (Index i = 0; i < got.size(); ++i) CHECK(same(got.data()[i], expected.data()[i]));
    Tensor<double, 4> dy(got.shape());
    for (Index i = 0; i < dy.size(); ++i) dy.data()[i] = static_cast<double>(i + 1);
    const auto dx_expected = relu.backward(pool.backward(dy));
    const auto dx = fused.backward(dy);
    for (Index i = 0; i < dx.size(); ++i) {
      INFO("n " << n << " i " << i);
      CHECK(dx.data()[i] == dx_expected.data()[i]);
    }
    const auto eval = fused.forward(x, Context::evaluation());
    for (Index i = 0; i < eval.size(); ++i) CHECK(same(eval.data()[i], expected.data()[i]));
  }
}
