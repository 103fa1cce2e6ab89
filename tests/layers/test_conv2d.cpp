#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <tuple>
#include <vector>

#include <cnnlstm/check/gradcheck.hpp>
#include <cnnlstm/layers/conv2d.hpp>
#include <cnnlstm/layers/maxpool2d.hpp>

using namespace cnnlstm;

namespace {

// The definition of a PyTorch convolution (cross-correlation), one output element at a time:
// y[n, o, a, b] = bias[o] + sum_{c, i, j} W[o, c, i, j] x[n, c, a*s - p + i, b*s - p + j],
// with x = 0 outside the image.
Tensor<double, 4> direct_conv2d(TensorRef<double, 4> x, const double* weight, const double* bias,
                                const Conv2dOptions& o) {
  const Index n = x.dimension(0), h = x.dimension(2), w = x.dimension(3), k = o.kernel;
  const Index ho = (h + 2 * o.padding - k) / o.stride + 1, wo = (w + 2 * o.padding - k) / o.stride + 1;
  Tensor<double, 4> y(n, o.out_channels, ho, wo);
  for (Index s = 0; s < n; ++s)
    for (Index out = 0; out < o.out_channels; ++out)
      for (Index a = 0; a < ho; ++a)
        for (Index b = 0; b < wo; ++b) {
          double sum = bias[out];
          for (Index c = 0; c < o.in_channels; ++c)
            for (Index i = 0; i < k; ++i)
              for (Index j = 0; j < k; ++j) {
                const Index row = a * o.stride - o.padding + i, col = b * o.stride - o.padding + j;
                if (row < 0 || row >= h || col < 0 || col >= w) continue;
                sum += weight[((out * o.in_channels + c) * k + i) * k + j] * x(s, c, row, col);
              }
          y(s, out, a, b) = sum;
        }
  return y;
}

template <class T>
Tensor<T, 4> random_tensor(Index n, Index c, Index h, Index w, Rng& rng) {
  Tensor<T, 4> t(n, c, h, w);
  for (Index i = 0; i < t.size(); ++i) t.data()[i] = static_cast<T>(rng.uniform(-1.0, 1.0));
  return t;
}

}  // namespace

TEST_CASE("Conv2d declares weight (O, C, k, k) and bias (O) under its name") {
  ParameterLayout layout;
  const Conv2d<float> conv(layout, "conv1", {10, 6, 2, 1, 1});
  REQUIRE(layout.specs().size() == 2);
  CHECK(layout.specs()[0].name == "conv1.weight");
  CHECK(layout.specs()[0].shape == std::vector<Index>{6, 10, 2, 2});
  CHECK(layout.specs()[1].name == "conv1.bias");
  CHECK(layout.specs()[1].shape == std::vector<Index>{6});
  CHECK(conv.name() == "conv1");
  CHECK(conv.options().padding == 1);
}

TEST_CASE("Conv2d forward matches a 2x2 convolution with padding 1 computed by hand") {
  ParameterLayout layout;
  Conv2d<double> conv(layout, "conv", {1, 1, 2, 1, 1});
  Parameters<double> p(layout);
  // weight [[1, 2], [3, 4]], bias 0.5; the padded input is
  //   0 0 0 0
  //   0 1 2 0
  //   0 3 4 0
  //   0 0 0 0
  // and y[a][b] = 0.5 + 1 x[a][b] + 2 x[a][b+1] + 3 x[a+1][b] + 4 x[a+1][b+1] (no kernel flip).
  const double w[] = {1, 2, 3, 4};
  std::copy_n(w, 4, p.value(p.spec("conv.weight").slot));
  p.value(p.spec("conv.bias").slot)[0] = 0.5;
  Tensor<double, 4> x(1, 1, 2, 2);
  x.setValues({{{{1, 2}, {3, 4}}}});
  const auto y = conv.forward(p, x, Context::evaluation());
  REQUIRE(y.shape() == Shape<4>{1, 1, 3, 3});
  const double expected[3][3] = {{4, 11, 6}, {14, 30, 14}, {6, 11, 4}};
  for (Index a = 0; a < 3; ++a)
    for (Index b = 0; b < 3; ++b) CHECK(y(0, 0, a, b) == expected[a][b] + 0.5);
}

TEST_CASE("Conv2d forward equals the direct definition over channels, strides and paddings") {
  using Case = std::tuple<Index, Conv2dOptions, Index, Index>;  // batch, options, H, W
  for (const auto& [n, o, h, w] : {Case{2, {3, 4, 3, 2, 1}, 7, 6}, Case{1, {2, 3, 1, 1, 0}, 4, 5},
                                   Case{3, {10, 6, 2, 1, 1}, 5, 5}, Case{2, {1, 2, 3, 1, 2}, 3, 3},
                                   Case{1, {2, 2, 2, 3, 0}, 8, 7}}) {
    ParameterLayout layout;
    Conv2d<double> conv(layout, "conv", o);
    Parameters<double> p(layout);
    Rng rng(11);
    conv.initialize(p, rng);
    const auto x = random_tensor<double>(n, o.in_channels, h, w, rng);
    const auto expected = direct_conv2d(x, p.value(p.spec("conv.weight").slot),
                                        p.value(p.spec("conv.bias").slot), o);
    for (const Context& ctx : {Context::evaluation(), Context::training(rng)}) {
      const auto y = conv.forward(p, x, ctx);
      REQUIRE(y.shape() == Shape<4>(expected.dimensions()));
      for (Index i = 0; i < y.size(); ++i)
        CHECK(y.data()[i] == doctest::Approx(expected.data()[i]).epsilon(1e-12));
    }
  }
}

TEST_CASE("Conv2d gradients match finite differences") {
  using Case = std::tuple<Index, Conv2dOptions, Index, Index>;  // batch, options, H, W
  for (const auto& [n, o, h, w] :
       {Case{1, {1, 1, 1, 1, 0}, 3, 3}, Case{2, {3, 2, 2, 1, 1}, 5, 5},
        Case{3, {2, 4, 3, 2, 2}, 7, 6}, Case{1, {2, 3, 3, 1, 2}, 6, 7},
        Case{2, {1, 2, 2, 2, 0}, 5, 4}, Case{4, {3, 2, 3, 2, 1}, 5, 5},
        Case{1, {4, 1, 1, 2, 0}, 9, 9}, Case{2, {2, 2, 1, 1, 2}, 3, 5}}) {
    CAPTURE(n);
    CAPTURE(h);
    CAPTURE(w);
    ParameterLayout layout;
    Conv2d<double> conv(layout, "conv", o);
    LayerProbe<Conv2d<double>, 4, 4> probe(conv, layout, {n, o.in_channels, h, w});
    const auto report = check_gradients(probe);
    INFO(report.summary());
    CHECK(report.worst_error() < 1e-6);
    CHECK(report.entries.size() == 3);
  }
}

TEST_CASE("Conv2d accumulates parameter gradients across backward calls") {
  ParameterLayout layout;
  Conv2d<double> conv(layout, "conv", {2, 3, 2, 1, 1});
  Parameters<double> p(layout);
  Rng rng(3);
  conv.initialize(p, rng);
  const auto x = random_tensor<double>(2, 2, 4, 4, rng);
  const auto dy = random_tensor<double>(2, 3, 5, 5, rng);
  conv.forward(p, x, Context::training(rng));
  conv.backward(p, dy);
  const std::vector<double> once(p.grads().begin(), p.grads().end());
  conv.backward(p, dy);
  for (std::size_t i = 0; i < once.size(); ++i) CHECK(p.grads()[i] == doctest::Approx(2 * once[i]));
}

TEST_CASE("Conv2d and MaxPool2d output sizes follow the paper's CNN branch") {
  ParameterLayout layout;
  Conv2d<float> conv1(layout, "conv1", {10, 6, 2, 1, 1});
  Conv2d<float> conv2(layout, "conv2", {6, 16, 2, 1, 1});
  MaxPool2d<float> pool1(2), pool2(2);
  Parameters<float> p(layout);
  Rng rng(7);
  conv1.initialize(p, rng);
  conv2.initialize(p, rng);
  const auto x = random_tensor<float>(4, 10, 5, 5, rng);
  const auto ctx = Context::evaluation();
  const auto a = conv1.forward(p, x, ctx);
  CHECK(a.shape() == Shape<4>{4, 6, 6, 6});
  const auto b = pool1.forward(a, ctx);
  CHECK(b.shape() == Shape<4>{4, 6, 3, 3});
  const auto c = conv2.forward(p, b, ctx);
  CHECK(c.shape() == Shape<4>{4, 16, 4, 4});
  const auto d = pool2.forward(c, ctx);
  CHECK(d.shape() == Shape<4>{4, 16, 2, 2});

  ParameterLayout other;
  const Conv2d<float> strided(other, "strided", {1, 1, 3, 2, 1});
  CHECK(strided.output_size(7, 8) == Shape<2>{4, 4});  // floor((7 + 2 - 3) / 2) + 1, floor(7 / 2) + 1
  CHECK(strided.output_size(1, 1) == Shape<2>{1, 1});
  CHECK_THROWS_WITH_AS(
      Conv2d<float>(other, "conv3", {1, 1, 3}).output_size(2, 5),
      "Conv2d 'conv3': input 2x5 is smaller than kernel 3 with padding 0", ShapeError);
}

TEST_CASE("Conv2d rejects wrong shapes and backward without a training forward, naming itself") {
  ParameterLayout layout;
  Conv2d<float> conv(layout, "conv1", {10, 6, 2, 1, 1});
  Parameters<float> p(layout);
  Rng rng(2);
  const auto wrong = random_tensor<float>(4, 12, 5, 5, rng);
  CHECK_THROWS_WITH_AS(conv.forward(p, wrong, Context::evaluation()),
                       "Conv2d 'conv1': expected input (N, 10, H, W), got (4, 12, 5, 5)",
                       ShapeError);
  ParameterLayout small_layout;
  Conv2d<float> big_kernel(small_layout, "conv2", {10, 6, 3});
  Parameters<float> q(small_layout);
  const auto tiny = random_tensor<float>(1, 10, 2, 2, rng);
  CHECK_THROWS_WITH_AS(big_kernel.forward(q, tiny, Context::evaluation()),
                       doctest::Contains("Conv2d 'conv2'"), ShapeError);

  const auto x = random_tensor<float>(4, 10, 5, 5, rng);
  const auto dy = random_tensor<float>(4, 6, 6, 6, rng);
  CHECK_THROWS_AS(conv.backward(p, dy), UsageError);
  conv.forward(p, x, Context::training(rng));
  const auto bad_dy = random_tensor<float>(4, 6, 5, 5, rng);
  CHECK_THROWS_WITH_AS(conv.backward(p, bad_dy),
                       "Conv2d 'conv1' backward: expected gradient (4, 6, 6, 6), got (4, 6, 5, 5)",
                       ShapeError);
  CHECK_NOTHROW(conv.backward(p, dy));
  conv.forward(p, x, Context::evaluation());
  CHECK_THROWS_AS(conv.backward(p, dy), UsageError);
}

TEST_CASE("Conv2d rejects bad options, naming itself") {
  for (const Conv2dOptions& bad : {Conv2dOptions{0, 6, 2}, Conv2dOptions{10, 0, 2},
                                   Conv2dOptions{10, 6, 0}, Conv2dOptions{10, 6, 2, 0},
                                   Conv2dOptions{10, 6, 2, -1}, Conv2dOptions{10, 6, 2, 1, -1}}) {
    ParameterLayout layout;
    CHECK_THROWS_WITH_AS(Conv2d<double>(layout, "bad", bad), doctest::Contains("Conv2d 'bad': "),
                         ConfigError);
    CHECK(layout.size() == 0);
  }
  ParameterLayout layout;
  CHECK_THROWS_WITH_AS(Conv2d<double>(layout, "conv1", {10, 6, 2, 1, -1}),
                       "Conv2d 'conv1': padding must be >= 0, got -1", ConfigError);
}

TEST_CASE("Conv2d initialisation follows PyTorch's bounds, fan_in = C * k * k") {
  ParameterLayout layout;
  const Conv2d<double> conv(layout, "conv1", {10, 6, 2, 1, 1});
  Parameters<double> p(layout);
  Rng rng(5);
  conv.initialize(p, rng);
  const double bound = 1.0 / std::sqrt(40.0);
  for (const char* name : {"conv1.weight", "conv1.bias"}) {
    const ParamSlot slot = p.spec(name).slot;
    double max_abs = 0.0;
    for (Index i = 0; i < slot.size; ++i) max_abs = std::max(max_abs, std::abs(p.value(slot)[i]));
    CHECK(max_abs <= bound);
    CHECK(max_abs > 0.5 * bound);
  }
}

TEST_CASE("Conv2d in float agrees with double") {
  const Conv2dOptions o{3, 4, 3, 2, 1};
  ParameterLayout layout_d, layout_f;
  Conv2d<double> conv_d(layout_d, "conv", o);
  Conv2d<float> conv_f(layout_f, "conv", o);
  Parameters<double> pd(layout_d);
  Parameters<float> pf(layout_f);
  Rng rng(9);
  conv_d.initialize(pd, rng);
  for (Index i = 0; i < pd.size(); ++i)
    pf.values()[static_cast<std::size_t>(i)] = static_cast<float>(pd.values()[static_cast<std::size_t>(i)]);
  const auto xd = random_tensor<double>(2, 3, 6, 5, rng);
  const Tensor<float, 4> xf = xd.cast<float>();
  const auto yd = conv_d.forward(pd, xd, Context::training(rng));
  const auto yf = conv_f.forward(pf, xf, Context::training(rng));
  REQUIRE(yd.shape() == yf.shape());
  for (Index i = 0; i < yd.size(); ++i) CHECK(yf.data()[i] == doctest::Approx(yd.data()[i]).epsilon(1e-5));
  const Tensor<double, 4> dyd = yd.map();
  const Tensor<float, 4> dyf = dyd.cast<float>();
  const auto dxd = conv_d.backward(pd, dyd);
  const auto dxf = conv_f.backward(pf, dyf);
  for (Index i = 0; i < dxd.size(); ++i) CHECK(dxf.data()[i] == doctest::Approx(dxd.data()[i]).epsilon(1e-5));
}

TEST_CASE("Conv2d reuses its buffers for a smaller batch") {
  ParameterLayout layout;
  Conv2d<float> conv(layout, "conv1", {10, 6, 2, 1, 1});
  Parameters<float> p(layout);
  Rng rng(4);
  conv.initialize(p, rng);
  const auto big = random_tensor<float>(8, 10, 5, 5, rng);
  const auto small = random_tensor<float>(3, 10, 5, 5, rng);
  const auto dy_big = random_tensor<float>(8, 6, 6, 6, rng);
  const auto dy_small = random_tensor<float>(3, 6, 6, 6, rng);
  const float* y = conv.forward(p, big, Context::training(rng)).data();
  const float* dx = conv.backward(p, dy_big).data();
  CHECK(conv.forward(p, small, Context::training(rng)).data() == y);
  CHECK(conv.backward(p, dy_small).data() == dx);
  CHECK(conv.forward(p, small, Context::evaluation()).data() == y);
  CHECK(conv.forward(p, big, Context::evaluation()).data() == y);
}
