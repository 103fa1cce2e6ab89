#include <doctest/doctest.h>

#include <cnnlstm/core/parameters.hpp>
#include <cnnlstm/core/random.hpp>
#include <cnnlstm/core/tensor.hpp>

#include <algorithm>
#include <numeric>
#include <vector>

using namespace cnnlstm;

TEST_CASE("TensorRef views Eigen tensors, maps and buffers in row-major order") {
  Tensor<float, 3> t(2, 3, 4);
  for (Index i = 0; i < t.size(); ++i) t.data()[i] = static_cast<float>(i);
  const TensorRef<float, 3> ref = t;
  CHECK(ref.shape() == Shape<3>{2, 3, 4});
  CHECK(ref(1, 2, 3) == t(1, 2, 3));
  CHECK(ref(1, 0, 2) == 14.0f);
  CHECK(ref.map()(0, 1, 1) == 5.0f);
  CHECK(ref.matrix(6, 4)(3, 1) == 13.0f);
}

TEST_CASE("TensorBuffer only grows: shrinking keeps the allocation") {
  TensorBuffer<double, 2> b({32, 8});
  const double* first = b.data();
  b.resize({23, 8});
  CHECK(b.data() == first);
  CHECK(b.size() == 23 * 8);
  b.resize({32, 8});
  CHECK(b.data() == first);
  b(31, 7) = 2.5;
  CHECK(b.view()(31, 7) == 2.5);
}

TEST_CASE("require_shape names the layer, the expectation and the shape it got") {
  try {
    require_shape(false, "Linear 'fc'", "(N, 32)", Shape<2>{4, 31});
    FAIL("no exception");
  } catch (const ShapeError& e) {
    CHECK(std::string(e.what()) == "Linear 'fc': expected input (N, 32), got (4, 31)");
  }
}

TEST_CASE("ParameterLayout keeps declaration order, offsets and rejects duplicates") {
  ParameterLayout layout;
  const auto w = layout.add("fc.weight", {3, 2});
  const auto b = layout.add("fc.bias", {3});
  CHECK(w.offset == 0);
  CHECK(w.size == 6);
  CHECK(b.offset == 6);
  CHECK(layout.size() == 9);
  CHECK(layout.specs()[1].name == "fc.bias");
  CHECK_THROWS_AS(layout.add("fc.bias", {3}), ConfigError);
  CHECK_THROWS_AS(layout.add("bad", {0, 3}), ConfigError);
  Parameters<float> p(layout);
  CHECK(p.values().size() == 9);
  CHECK(p.spec("fc.weight").shape == std::vector<Index>{3, 2});
  CHECK_THROWS_WITH_AS(p.spec("fc.nothing"), "the model has no parameter named 'fc.nothing'",
                       ConfigError);
}

TEST_CASE("Rng is reproducible, uniform in range, and unbiased enough") {
  Rng a(314), b(314), c(315);
  for (int i = 0; i < 10; ++i) CHECK(a.next() == b.next());
  CHECK(a.next() != c.next());
  Rng r(1);
  double sum = 0.0, sum_sq = 0.0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double u = r.uniform();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    sum += u;
    sum_sq += u * u;
  }
  CHECK(sum / n == doctest::Approx(0.5).epsilon(0.01));
  CHECK(sum_sq / n - (sum / n) * (sum / n) == doctest::Approx(1.0 / 12).epsilon(0.02));
  double nsum = 0.0, nsq = 0.0;
  for (int i = 0; i < n; ++i) {
    const double z = r.normal();
    nsum += z;
    nsq += z * z;
  }
  CHECK(std::abs(nsum / n) < 0.01);
  CHECK(nsq / n == doctest::Approx(1.0).epsilon(0.02));
}

TEST_CASE("Rng state round-trips and shuffle is a permutation") {
  Rng r(9);
  r.next();
  const auto saved = r.state();
  const auto x = r.next();
  r.set_state(saved);
  CHECK(r.next() == x);
  std::vector<int> v(100);
  std::iota(v.begin(), v.end(), 0);
  r.shuffle(v.begin(), v.end());
  CHECK_FALSE(std::is_sorted(v.begin(), v.end()));
  std::sort(v.begin(), v.end());
  for (int i = 0; i < 100; ++i) CHECK(v[static_cast<std::size_t>(i)] == i);
  std::vector<int> counts(3, 0);
  for (int i = 0; i < 30000; ++i) ++counts[r.below(3)];
  for (int c : counts) CHECK(c == doctest::Approx(10000).epsilon(0.05));
}

TEST_CASE("ParameterLayout refuses sizes that would overflow") {
  ParameterLayout layout;
  CHECK_THROWS_WITH_AS(layout.add("fc.weight", {1000000, 100000000}), doctest::Contains("makes the model larger than"),
                       ConfigError);
  layout.add("a", {1 << 20, 1 << 19});
  CHECK_THROWS_AS(layout.add("b", {1 << 20, 1 << 20}), ConfigError);
  CHECK(layout.find("b") == nullptr);
}
