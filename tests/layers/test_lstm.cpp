#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include <cnnlstm/check/gradcheck.hpp>
#include <cnnlstm/layers/lstm.hpp>

using namespace cnnlstm;

namespace {

template <class T>
void set_parameter(Parameters<T>& p, const std::string& name, const std::vector<T>& values) {
  const ParamSlot slot = p.spec(name).slot;
  REQUIRE(static_cast<Index>(values.size()) == slot.size);
  std::copy(values.begin(), values.end(), p.value(slot));
}

// Copies the tensor `from` of one parameter set into the tensor `to` of another.
template <class From, class To>
void copy_parameter(const Parameters<From>& src, const std::string& from, Parameters<To>& dst,
                    const std::string& to) {
  const ParamSlot a = src.spec(from).slot, b = dst.spec(to).slot;
  REQUIRE(a.size == b.size);
  for (Index i = 0; i < a.size; ++i) dst.value(b)[i] = static_cast<To>(src.value(a)[i]);
}

Tensor<double, 3> random_sequence(Index n, Index steps, Index features, std::uint64_t seed) {
  Tensor<double, 3> x(n, steps, features);
  Rng rng(seed);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = rng.uniform(-1.0, 1.0);
  return x;
}

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

}  // namespace

TEST_CASE("LSTM forward follows the gate equations on a hand-computed case") {
  // H = 1, F = 1, N = 1, T = 2; gates stacked i, f, g, o
  ParameterLayout layout;
  LSTM<double> lstm(layout, "lstm", {1, 1});
  Parameters<double> p(layout);
  const std::vector<double> w_ih{0.5, -0.3, 0.8, 0.1}, w_hh{0.2, 0.4, -0.6, 0.7};
  const std::vector<double> b_ih{0.1, 0.2, -0.1, 0.05}, b_hh{0.0, 0.1, 0.2, -0.05};
  set_parameter(p, "lstm.weight_ih_l0", w_ih);
  set_parameter(p, "lstm.weight_hh_l0", w_hh);
  set_parameter(p, "lstm.bias_ih_l0", b_ih);
  set_parameter(p, "lstm.bias_hh_l0", b_hh);
  Tensor<double, 3> x(1, 2, 1);
  x.setValues({{{1.5}, {-0.5}}});

  double h = 0.0, c = 0.0;
  std::vector<double> expected;
  for (double xt : {1.5, -0.5}) {
    const auto z = [&](int k) { return w_ih[k] * xt + b_ih[k] + w_hh[k] * h + b_hh[k]; };
    const double i = sigmoid(z(0)), f = sigmoid(z(1)), g = std::tanh(z(2)), o = sigmoid(z(3));
    c = f * c + i * g;
    h = o * std::tanh(c);
    expected.push_back(h);
  }

  const auto y = lstm.forward(p, x, Context::evaluation());
  CHECK(y.shape() == Shape<3>{1, 2, 1});
  CHECK(y(0, 0, 0) == doctest::Approx(expected[0]).epsilon(1e-14));
  CHECK(y(0, 1, 0) == doctest::Approx(expected[1]).epsilon(1e-14));
  CHECK(lstm.final_hidden()(0, 0, 0) == doctest::Approx(h).epsilon(1e-14));
  CHECK(lstm.final_cell()(0, 0, 0) == doctest::Approx(c).epsilon(1e-14));
}

TEST_CASE("LSTM gradients match finite differences") {
  // layers, T, N, F, H, dropout
  const std::vector<std::tuple<Index, Index, Index, Index, Index, double>> cases{
      {1, 1, 1, 1, 1, 0.0},  {1, 2, 1, 3, 2, 0.0}, {1, 7, 3, 12, 8, 0.0}, {2, 1, 2, 3, 4, 0.0},
      {2, 7, 3, 12, 8, 0.0}, {3, 2, 2, 1, 5, 0.0}, {3, 7, 1, 3, 3, 0.0},  {2, 1, 1, 1, 1, 0.3},
      {2, 7, 3, 12, 8, 0.3}, {3, 2, 4, 3, 4, 0.3}, {3, 7, 2, 1, 6, 0.3}};
  for (const auto& [layers, steps, n, f, h, dropout] : cases) {
    CAPTURE(layers);
    CAPTURE(steps);
    CAPTURE(n);
    CAPTURE(f);
    CAPTURE(h);
    CAPTURE(dropout);
    ParameterLayout layout;
    LSTM<double> lstm(layout, "lstm", {f, h, layers, dropout});
    LayerProbe<LSTM<double>, 3, 3> probe(lstm, layout, {n, steps, f});
    const auto report = check_gradients(probe);
    INFO(report.summary());
    CHECK(report.worst_error() < 1e-6);
    CHECK(report.entries.size() == static_cast<std::size_t>(4 * layers + 1));
  }
}

TEST_CASE("LSTM declares PyTorch's parameter names, shapes and order") {
  ParameterLayout layout;
  LSTM<float> lstm(layout, "lstm", {12, 8, 2, 0.2});
  const std::vector<std::pair<std::string, std::vector<Index>>> expected{
      {"lstm.weight_ih_l0", {32, 12}}, {"lstm.weight_hh_l0", {32, 8}},
      {"lstm.bias_ih_l0", {32}},       {"lstm.bias_hh_l0", {32}},
      {"lstm.weight_ih_l1", {32, 8}},  {"lstm.weight_hh_l1", {32, 8}},
      {"lstm.bias_ih_l1", {32}},       {"lstm.bias_hh_l1", {32}}};
  REQUIRE(layout.specs().size() == expected.size());
  Index offset = 0;
  for (std::size_t k = 0; k < expected.size(); ++k) {
    const ParameterSpec& spec = layout.specs()[k];
    CHECK(spec.name == expected[k].first);
    CHECK(spec.shape == expected[k].second);
    CHECK(spec.slot.offset == offset);
    offset += spec.slot.size;
  }
  CHECK(layout.size() == 32 * 12 + 32 * 8 * 3 + 32 * 4);
  CHECK(lstm.name() == "lstm");
  CHECK(lstm.options().num_layers == 2);
  CHECK(lstm.options().dropout == 0.2);
}

TEST_CASE("LSTM initialisation follows PyTorch's bound 1/sqrt(H)") {
  ParameterLayout layout;
  LSTM<double> lstm(layout, "lstm", {3, 4, 2});
  Parameters<double> p(layout);
  Rng rng(7);
  lstm.initialize(p, rng);
  double max_abs = 0.0;
  for (double v : p.values()) max_abs = std::max(max_abs, std::abs(v));
  CHECK(max_abs <= 0.5);
  CHECK(max_abs > 0.45);
}

TEST_CASE("LSTM stacks layers: each layer reads the output sequence of the one below") {
  ParameterLayout layout, layout_a, layout_b;
  LSTM<double> stacked(layout, "lstm", {3, 4, 2});
  LSTM<double> bottom(layout_a, "a", {3, 4});
  LSTM<double> top(layout_b, "b", {4, 4});
  Parameters<double> p(layout), pa(layout_a), pb(layout_b);
  Rng rng(11);
  stacked.initialize(p, rng);
  for (const char* tensor : {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}) {
    copy_parameter(p, "lstm." + std::string(tensor) + "_l0", pa,
                   "a." + std::string(tensor) + "_l0");
    copy_parameter(p, "lstm." + std::string(tensor) + "_l1", pb,
                   "b." + std::string(tensor) + "_l0");
  }
  const auto x = random_sequence(3, 5, 3, 12);
  const auto y = stacked.forward(p, x, Context::evaluation());
  const auto y_top =
      top.forward(pb, bottom.forward(pa, x, Context::evaluation()), Context::evaluation());
  REQUIRE(y.shape() == y_top.shape());
  for (Index i = 0; i < y.size(); ++i) CHECK(y.data()[i] == doctest::Approx(y_top.data()[i]));
  CHECK(stacked.final_hidden().shape() == Shape<3>{2, 3, 4});
  CHECK(stacked.final_cell().shape() == Shape<3>{2, 3, 4});
  for (Index n = 0; n < 3; ++n)
    for (Index j = 0; j < 4; ++j) {
      CHECK(stacked.final_hidden()(0, n, j) == doctest::Approx(bottom.final_hidden()(0, n, j)));
      CHECK(stacked.final_hidden()(1, n, j) == doctest::Approx(top.final_hidden()(0, n, j)));
      CHECK(stacked.final_cell()(0, n, j) == doctest::Approx(bottom.final_cell()(0, n, j)));
      CHECK(stacked.final_cell()(1, n, j) == doctest::Approx(top.final_cell()(0, n, j)));
    }
}

TEST_CASE("LSTM final_hidden of the top layer is the last step of the output") {
  ParameterLayout layout;
  LSTM<double> lstm(layout, "lstm", {2, 5, 3, 0.5});
  Parameters<double> p(layout);
  Rng rng(13);
  lstm.initialize(p, rng);
  const auto x = random_sequence(4, 6, 2, 14);
  const auto y = lstm.forward(p, x, Context::training(rng));
  for (Index n = 0; n < 4; ++n)
    for (Index j = 0; j < 5; ++j) CHECK(lstm.final_hidden()(2, n, j) == y(n, 5, j));
}

TEST_CASE("LSTM evaluation mode equals training mode without dropout") {
  ParameterLayout layout;
  LSTM<double> lstm(layout, "lstm", {3, 4, 2});
  Parameters<double> p(layout);
  Rng rng(17);
  lstm.initialize(p, rng);
  const auto x = random_sequence(2, 4, 3, 18);
  const Tensor<double, 3> eval = lstm.forward(p, x, Context::evaluation()).map();
  const Tensor<double, 3> eval_h_n = lstm.final_hidden().map();
  const auto train = lstm.forward(p, x, Context::training(rng));
  for (Index i = 0; i < eval.size(); ++i) CHECK(train.data()[i] == eval.data()[i]);
  for (Index i = 0; i < eval_h_n.size(); ++i)
    CHECK(lstm.final_hidden().data()[i] == eval_h_n.data()[i]);
}

TEST_CASE("LSTM dropout applies between layers in training only, after h_n is taken") {
  ParameterLayout layout;
  LSTM<double> lstm(layout, "lstm", {3, 6, 2, 0.5});
  Parameters<double> p(layout);
  Rng init(19);
  lstm.initialize(p, init);
  const auto x = random_sequence(3, 5, 3, 20);
  const Tensor<double, 3> eval = lstm.forward(p, x, Context::evaluation()).map();
  const Tensor<double, 3> eval_h_n = lstm.final_hidden().map();

  Rng rng(21);
  const Tensor<double, 3> train = lstm.forward(p, x, Context::training(rng)).map();
  double difference = 0.0;
  for (Index i = 0; i < eval.size(); ++i) difference += std::abs(train.data()[i] - eval.data()[i]);
  CHECK(difference > 1e-3);
  for (Index i = 0; i < 3 * 6; ++i) CHECK(lstm.final_hidden().data()[i] == eval_h_n.data()[i]);

  Rng same(21);
  const auto again = lstm.forward(p, x, Context::training(same));
  for (Index i = 0; i < train.size(); ++i) CHECK(again.data()[i] == train.data()[i]);
}

TEST_CASE("LSTM accumulates parameter gradients across backward calls") {
  ParameterLayout layout;
  LSTM<double> lstm(layout, "lstm", {3, 4, 2, 0.3});
  Parameters<double> p(layout);
  Rng rng(23);
  lstm.initialize(p, rng);
  const auto x = random_sequence(2, 3, 3, 24);
  const auto dy = random_sequence(2, 3, 4, 25);
  lstm.forward(p, x, Context::training(rng));
  lstm.backward(p, dy);
  const std::vector<double> once(p.grads().begin(), p.grads().end());
  lstm.backward(p, dy);
  for (std::size_t i = 0; i < once.size(); ++i) CHECK(p.grads()[i] == doctest::Approx(2 * once[i]));
}

TEST_CASE("LSTM rejects bad options, wrong shapes and backward without a training forward") {
  ParameterLayout layout;
  CHECK_THROWS_WITH_AS(LSTM<double>(layout, "lstm", {12, 0}),
                       "LSTM 'lstm': hidden_size must be positive, got 0", ConfigError);
  CHECK_THROWS_AS(LSTM<double>(layout, "lstm", {0, 8}), ConfigError);
  CHECK_THROWS_AS(LSTM<double>(layout, "lstm", {12, 8, 0}), ConfigError);
  CHECK_THROWS_WITH_AS(LSTM<double>(layout, "lstm", {12, 8, 2, 1.0}),
                       "LSTM 'lstm': dropout must be in [0, 1), got 1.000000", ConfigError);
  CHECK_THROWS_AS(LSTM<double>(layout, "lstm", {12, 8, 2, -0.1}), ConfigError);
  CHECK(layout.size() == 0);

  LSTM<float> lstm(layout, "lstm", {12, 8, 2});
  Parameters<float> p(layout);
  Tensor<float, 3> dy(4, 10, 8);
  dy.setZero();
  CHECK_THROWS_AS(lstm.backward(p, dy), UsageError);
  Tensor<float, 3> x(4, 10, 11), empty(4, 0, 12), good(4, 10, 12);
  x.setZero();
  good.setZero();
  CHECK_THROWS_WITH_AS(lstm.forward(p, x, Context::evaluation()),
                       "LSTM 'lstm': expected input (N, T, 12), got (4, 10, 11)", ShapeError);
  CHECK_THROWS_AS(lstm.forward(p, empty, Context::evaluation()), ShapeError);
  lstm.forward(p, good, Context::evaluation());
  CHECK_THROWS_AS(lstm.backward(p, dy), UsageError);
  Rng rng(1);
  lstm.forward(p, good, Context::training(rng));
  Tensor<float, 3> wrong(4, 9, 8);
  wrong.setZero();
  CHECK_THROWS_AS(lstm.backward(p, wrong), ShapeError);
  CHECK_NOTHROW(lstm.backward(p, dy));
}

TEST_CASE("LSTM reuses its buffers for a smaller batch") {
  ParameterLayout layout;
  LSTM<double> lstm(layout, "lstm", {3, 4, 2, 0.3});
  Parameters<double> p(layout);
  Rng rng(29);
  lstm.initialize(p, rng);
  const auto big = random_sequence(8, 5, 3, 30), small = random_sequence(3, 5, 3, 31);
  const auto dy_big = random_sequence(8, 5, 4, 32), dy_small = random_sequence(3, 5, 4, 33);
  const double* y = lstm.forward(p, big, Context::training(rng)).data();
  const double* h_n = lstm.final_hidden().data();
  const double* dx = lstm.backward(p, dy_big).data();
  CHECK(lstm.forward(p, small, Context::training(rng)).data() == y);
  CHECK(lstm.final_hidden().data() == h_n);
  CHECK(lstm.backward(p, dy_small).data() == dx);
  CHECK(lstm.forward(p, small, Context::evaluation()).shape() == Shape<3>{3, 5, 4});
}

TEST_CASE("LSTM in float agrees with double") {
  ParameterLayout layout;
  ParameterLayout layout_f;
  LSTM<double> lstm(layout, "lstm", {12, 8, 2});
  LSTM<float> single(layout_f, "lstm", {12, 8, 2});
  Parameters<double> p(layout);
  Parameters<float> pf(layout_f);
  Rng rng(37);
  lstm.initialize(p, rng);
  for (const ParameterSpec& spec : layout_f.specs()) copy_parameter(p, spec.name, pf, spec.name);
  const auto x = random_sequence(4, 10, 12, 38);
  const Tensor<float, 3> xf = x.cast<float>();
  const auto y = lstm.forward(p, x, Context::evaluation());
  const auto yf = single.forward(pf, xf, Context::evaluation());
  for (Index i = 0; i < y.size(); ++i)
    CHECK(yf.data()[i] == doctest::Approx(y.data()[i]).epsilon(1e-5));

  const auto dy = random_sequence(4, 10, 8, 39);
  const Tensor<float, 3> dyf = dy.cast<float>();
  lstm.forward(p, x, Context::training(rng));
  single.forward(pf, xf, Context::training(rng));
  const auto dx = lstm.backward(p, dy);
  const auto dxf = single.backward(pf, dyf);
  for (Index i = 0; i < dx.size(); ++i) CHECK(std::abs(dxf.data()[i] - dx.data()[i]) < 1e-5);
  for (const ParameterSpec& spec : layout_f.specs()) {
    const ParamSlot s = p.spec(spec.name).slot;
    for (Index i = 0; i < s.size; ++i) CHECK(std::abs(pf.grad(spec.slot)[i] - p.grad(s)[i]) < 1e-5);
  }
}
