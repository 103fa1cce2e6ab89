#include <doctest/doctest.h>

#include <cnnlstm/train/metrics.hpp>

using namespace cnnlstm;

TEST_CASE("metrics on a case computed by hand") {
  // y = 1, 2, 3, 4; p = 2, 2, 2, 6: errors 1, 0, -1, 2
  const auto m = compute_metrics({1, 2, 3, 4}, {2, 2, 2, 6});
  CHECK(m.n == 4);
  CHECK(m.rmse == doctest::Approx(std::sqrt(6.0 / 4)));
  CHECK(m.mae == doctest::Approx(1.0));
  CHECK(m.me == doctest::Approx(0.5));
  CHECK(m.r2 == doctest::Approx(1.0 - 6.0 / 5.0));
  // mean y 2.5, mean p 3; var y 1.25, var p 3, cov (-1.5*-1 + -.5*-1 + .5*-1 + 1.5*3) / 4 = 1.5
  CHECK(m.ccc == doctest::Approx(2 * 1.5 / (1.25 + 3 + 0.25)));
  // quartiles of 1..4 by interpolation: 1.75 and 3.25
  CHECK(m.rpiq == doctest::Approx(1.5 / std::sqrt(1.5)));
}

TEST_CASE("perfect predictions give R2 = CCC = 1 and zero errors; mismatches are errors") {
  const auto m = compute_metrics({3, 1, 2}, {3, 1, 2});
  CHECK(m.rmse == 0.0);
  CHECK(m.r2 == 1.0);
  CHECK(m.ccc == doctest::Approx(1.0));
  CHECK_THROWS_AS(compute_metrics({1, 2}, {1}), ShapeError);
  CHECK_THROWS_AS(compute_metrics({}, {}), DataError);
  CHECK(to_json(m)["rpiq"].is_null());  // infinite RPIQ is written as null
}
