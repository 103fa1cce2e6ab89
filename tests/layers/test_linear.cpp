#include <doctest/doctest.h>

#include <cnnlstm/check/gradcheck.hpp>
#include <cnnlstm/layers/linear.hpp>

using namespace cnnlstm;

TEST_CASE("Linear forward computes x W^T + b on a hand-checked case") {
  ParameterLayout layout;
  Linear<double> fc(layout, "fc", 2, 3);
  Parameters<double> p(layout);
  // weight (3, 2) = [[1, 2], [3, 4], [5, 6]], bias = [0.5, -1, 0]
  const double w[] = {1, 2, 3, 4, 5, 6}, b[] = {0.5, -1, 0};
  std::copy_n(w, 6, p.value(p.spec("fc.weight").slot));
  std::copy_n(b, 3, p.value(p.spec("fc.bias").slot));
  Tensor<double, 2> x(2, 2);
  x.setValues({{1, 1}, {2, -1}});
  const auto y = fc.forward(p, x, Context::evaluation());
  CHECK(y.shape() == Shape<2>{2, 3});
  CHECK(y(0, 0) == 3.5);
  CHECK(y(0, 1) == 6.0);
  CHECK(y(0, 2) == 11.0);
  CHECK(y(1, 0) == 0.5);
  CHECK(y(1, 1) == 1.0);
  CHECK(y(1, 2) == 4.0);
}

TEST_CASE("Linear gradients match finite differences") {
  for (auto [n, in, out] : {std::tuple{1, 1, 1}, {3, 5, 4}, {7, 8, 16}, {2, 64, 3}}) {
    ParameterLayout layout;
    Linear<double> fc(layout, "fc", in, out);
    LayerProbe<Linear<double>, 2, 2> probe(fc, layout, {n, in});
    const auto report = check_gradients(probe);
    INFO(report.summary());
    CHECK(report.worst_error() < 1e-6);
    CHECK(report.entries.size() == 3);
  }
}

TEST_CASE("Linear accumulates parameter gradients across backward calls") {
  ParameterLayout layout;
  Linear<double> fc(layout, "fc", 3, 2);
  Parameters<double> p(layout);
  Rng rng(3);
  fc.initialize(p, rng);
  Tensor<double, 2> x(4, 3), dy(4, 2);
  x.setRandom();
  dy.setRandom();
  fc.forward(p, x, Context::training(rng));
  fc.backward(p, dy);
  const std::vector<double> once(p.grads().begin(), p.grads().end());
  fc.backward(p, dy);
  for (std::size_t i = 0; i < once.size(); ++i) CHECK(p.grads()[i] == doctest::Approx(2 * once[i]));
}

TEST_CASE("Linear rejects wrong input shapes and backward without a training forward") {
  ParameterLayout layout;
  Linear<float> fc(layout, "fc_final", 32, 1);
  Parameters<float> p(layout);
  Tensor<float, 2> x(4, 31);
  x.setZero();
  CHECK_THROWS_WITH_AS(fc.forward(p, x, Context::evaluation()),
                       "Linear 'fc_final': expected input (N, 32), got (4, 31)", ShapeError);
  Tensor<float, 2> good(4, 32), dy(4, 1);
  good.setZero();
  dy.setZero();
  fc.forward(p, good, Context::evaluation());
  CHECK_THROWS_AS(fc.backward(p, dy), UsageError);
}

TEST_CASE("Linear initialisation follows PyTorch's bounds") {
  ParameterLayout layout;
  Linear<double> fc(layout, "fc", 64, 16);
  Parameters<double> p(layout);
  Rng rng(5);
  fc.initialize(p, rng);
  const double bound = 1.0 / 8.0;
  double max_abs = 0.0;
  for (double v : p.values()) max_abs = std::max(max_abs, std::abs(v));
  CHECK(max_abs <= bound);
  CHECK(max_abs > 0.9 * bound);
  fc.initialize_xavier(p, rng, 0.01);
  const double xavier = std::sqrt(6.0 / 80.0);
  const auto& w = p.spec("fc.weight").slot;
  double wmax = 0.0;
  for (Index i = 0; i < w.size; ++i) wmax = std::max(wmax, std::abs(p.value(w)[i]));
  CHECK(wmax <= xavier);
  CHECK(wmax > 0.9 * xavier);
  CHECK(p.value(p.spec("fc.bias").slot)[0] == 0.01);
}
