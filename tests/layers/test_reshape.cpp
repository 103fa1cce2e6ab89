#include <doctest/doctest.h>

#include <cnnlstm/check/gradcheck.hpp>
#include <cnnlstm/layers/reshape.hpp>

using namespace cnnlstm;

TEST_CASE("Flatten is a view in PyTorch's order and its backward restores the shape") {
  Tensor<double, 4> x(2, 3, 2, 2);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<double>(i);
  Flatten<double> flatten;
  const auto y = flatten.forward(x, Context::evaluation());
  CHECK(y.shape() == Shape<2>{2, 12});
  CHECK(y(1, 5) == x(1, 1, 0, 1));
  const auto dx = flatten.backward(y);
  CHECK(dx.shape() == Shape<4>{2, 3, 2, 2});
  CHECK(dx(1, 2, 1, 0) == x(1, 2, 1, 0));
}

TEST_CASE("LastTimeStep picks out[:, -1, :] and its gradient check passes") {
  Tensor<double, 3> x(2, 3, 2);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<double>(i);
  LastTimeStep<double> last;
  const auto y = last.forward(x, Context::evaluation());
  CHECK(y.shape() == Shape<2>{2, 2});
  CHECK(y(0, 0) == 4.0);
  CHECK(y(1, 1) == 11.0);
  LayerProbe<LastTimeStep<double>, 3, 2> probe(LastTimeStep<double>{}, ParameterLayout{}, {3, 4, 5});
  const auto report = check_gradients(probe);
  CHECK(report.worst_error() < 1e-6);
}

TEST_CASE("Concat joins along features, splits gradients back, and checks row counts") {
  Tensor<double, 2> a(2, 1), b(2, 2);
  a.setValues({{1}, {2}});
  b.setValues({{3, 4}, {5, 6}});
  Concat<double, 2> concat;
  const auto y = concat.forward({a, b}, Context::evaluation());
  CHECK(y.shape() == Shape<2>{2, 3});
  CHECK(y(1, 0) == 2.0);
  CHECK(y(1, 2) == 6.0);
  const auto [da, db] = concat.backward(y);
  CHECK(da(1, 0) == 2.0);
  CHECK(db(0, 1) == 4.0);
  Tensor<double, 2> c(3, 2);
  c.setZero();
  CHECK_THROWS_AS(concat.forward({a, c}, Context::evaluation()), ShapeError);
}
