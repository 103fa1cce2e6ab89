#include <doctest/doctest.h>

#include <cnnlstm/check/gradcheck.hpp>
#include <cnnlstm/layers/activation.hpp>
#include <cnnlstm/layers/dropout.hpp>

#include <cmath>
#include <limits>

using namespace cnnlstm;

TEST_CASE("activations compute PyTorch's values; ReLU passes no gradient at 0") {
  Tensor<double, 1> x(4);
  x.setValues({-1.0, 0.0, 0.5, 2.0});
  ReLU<double, 1> relu;
  Tanh<double, 1> tanh_layer;
  Sigmoid<double, 1> sigmoid;
  Rng rng(1);
  const auto ctx = Context::training(rng);
  const auto r = relu.forward(x, ctx);
  CHECK(r(0) == 0.0);
  CHECK(r(1) == 0.0);
  CHECK(r(3) == 2.0);
  Tensor<double, 1> nan_input(1);
  nan_input.setConstant(std::numeric_limits<double>::quiet_NaN());
  CHECK(std::isnan(ReLU<double, 1>{}.forward(nan_input, ctx)(0)));  // torch.relu(nan) is nan
  Tensor<double, 1> ones(4);
  ones.setConstant(1.0);
  const auto dr = relu.backward(ones);
  CHECK(dr(0) == 0.0);
  CHECK(dr(1) == 0.0);
  CHECK(dr(2) == 1.0);
  CHECK(tanh_layer.forward(x, ctx)(2) == doctest::Approx(std::tanh(0.5)));
  CHECK(sigmoid.forward(x, ctx)(1) == 0.5);
  CHECK(sigmoid.backward(ones)(1) == 0.25);
}

TEST_CASE_TEMPLATE("activation gradients match finite differences", Layer, ReLU<double, 3>,
                   Tanh<double, 3>, Sigmoid<double, 3>) {
  LayerProbe<Layer, 3, 3> probe(Layer{}, ParameterLayout{}, {2, 3, 5});
  const auto report = check_gradients(probe);
  INFO(report.summary());
  CHECK(report.worst_error() < 1e-6);
}

TEST_CASE("Dropout is inverted, seeded, and the identity in evaluation") {
  Dropout<double, 2> dropout(0.25);
  Tensor<double, 2> x(100, 100);
  x.setConstant(1.0);
  Rng a(11), b(11);
  const auto y = dropout.forward(x, Context::training(a));
  Index zeros = 0;
  double sum = 0.0;
  for (Index i = 0; i < y.size(); ++i) {
    zeros += y.data()[i] == 0.0;
    sum += y.data()[i];
    if (y.data()[i] != 0.0) CHECK(y.data()[i] == doctest::Approx(1.0 / 0.75));
  }
  CHECK(static_cast<double>(zeros) / 10000.0 == doctest::Approx(0.25).epsilon(0.08));
  CHECK(sum / 10000.0 == doctest::Approx(1.0).epsilon(0.05));
  const std::vector<double> first(y.data(), y.data() + y.size());
  const auto again = dropout.forward(x, Context::training(b));
  CHECK(std::equal(first.begin(), first.end(), again.data()));
  const auto eval = dropout.forward(x, Context::evaluation());
  for (Index i = 0; i < eval.size(); ++i) REQUIRE(eval.data()[i] == 1.0);
  CHECK_THROWS_AS((Dropout<double, 2>(1.0)), ConfigError);
  CHECK_THROWS_AS((Dropout<double, 2>(-0.1)), ConfigError);
}

TEST_CASE("Dropout gradient matches finite differences with its mask fixed by the seed") {
  LayerProbe<Dropout<double, 2>, 2, 2> probe(Dropout<double, 2>(0.4), ParameterLayout{}, {3, 7});
  const auto report = check_gradients(probe);
  INFO(report.summary());
  CHECK(report.worst_error() < 1e-6);
}
