#include <doctest/doctest.h>

#include <cnnlstm/layers/loss.hpp>
#include <cnnlstm/optim/adam.hpp>
#include <cnnlstm/optim/sgd.hpp>

#include <cmath>

using namespace cnnlstm;

namespace {

// One parameter tensor "w" of the given values.
Parameters<double> single_tensor(std::vector<double> values) {
  ParameterLayout layout;
  layout.add("w", {static_cast<Index>(values.size())});
  Parameters<double> p(layout);
  std::copy(values.begin(), values.end(), p.values().begin());
  return p;
}

}  // namespace

TEST_CASE("MSELoss is the mean over samples and outputs, with gradient 2 (p - y) / count") {
  Tensor<double, 2> p(2, 2), y(2, 2);
  p.setValues({{1, 2}, {3, 4}});
  y.setValues({{1, 0}, {0, 4}});
  MSELoss<double> loss;
  CHECK(loss.forward(p, y) == doctest::Approx((0 + 4 + 9 + 0) / 4.0));
  const auto g = loss.backward();
  CHECK(g(0, 1) == doctest::Approx(2 * 2 / 4.0));
  CHECK(g(1, 0) == doctest::Approx(2 * 3 / 4.0));
  CHECK(g(1, 1) == 0.0);
  Tensor<double, 2> wrong(2, 1);
  wrong.setZero();
  CHECK_THROWS_AS(loss.forward(p, wrong), ShapeError);
}

TEST_CASE("Adam's first steps with a constant gradient move each weight by lr against its sign") {
  // With g constant, m_hat = g and v_hat = g^2 exactly, so each step is lr * g / (|g| + eps).
  auto p = single_tensor({1.0, -2.0, 0.5});
  Adam<double> adam(3, AdamOptions{.lr = 0.1});
  const double g[] = {0.3, -4.0, 1e-3};
  for (int step = 1; step <= 3; ++step) {
    std::copy_n(g, 3, p.grads().begin());
    adam.step(p);
    CHECK(p.values()[0] == doctest::Approx(1.0 - 0.1 * step * 0.3 / (0.3 + 1e-8)).epsilon(1e-12));
    CHECK(p.values()[1] == doctest::Approx(-2.0 + 0.1 * step * 4.0 / (4.0 + 1e-8)).epsilon(1e-12));
    CHECK(p.values()[2] == doctest::Approx(0.5 - 0.1 * step * 1e-3 / (1e-3 + 1e-8)).epsilon(1e-12));
  }
  CHECK(adam.steps_taken() == 3);
}

TEST_CASE("Adam, Adam with L2 and AdamW follow PyTorch's formulas over several steps") {
  const double grads[] = {0.5, -0.25, 2.0, 0.0, -1.0};
  for (const bool decoupled : {false, true}) {
    for (const double decay : {0.0, 0.1}) {
      const AdamOptions o{.lr = 0.01, .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-6,
                          .weight_decay = decay, .decoupled_weight_decay = decoupled};
      auto p = single_tensor({0.7});
      Adam<double> adam(1, o);
      // The update written out by hand, step by step (t starts at 1).
      double w = 0.7, m = 0.0, v = 0.0;
      for (int t = 1; t <= 5; ++t) {
        double g = grads[t - 1];
        p.grads()[0] = g;
        adam.step(p);
        if (decoupled) w *= 1.0 - o.lr * decay;
        else g += decay * w;
        m = o.beta1 * m + (1 - o.beta1) * g;
        v = o.beta2 * v + (1 - o.beta2) * g * g;
        const double m_hat = m / (1 - std::pow(o.beta1, t));
        const double v_hat = v / (1 - std::pow(o.beta2, t));
        w -= o.lr * m_hat / (std::sqrt(v_hat) + o.eps);
        CHECK(p.values()[0] == doctest::Approx(w).epsilon(1e-12));
      }
    }
  }
}

TEST_CASE("Adam restores its state and rejects invalid options") {
  auto p = single_tensor({1.0, 2.0});
  Adam<double> adam(2, {});
  p.grads() = {0.1, 0.2};
  adam.step(p);
  Adam<double> copy(2, {});
  copy.restore(adam.steps_taken(), adam.first_moment(), adam.second_moment());
  auto q = p;
  adam.step(p);
  copy.step(q);
  CHECK(p.values() == q.values());
  CHECK_THROWS_AS(Adam<double>(2, AdamOptions{.lr = 0.0}), ConfigError);
  CHECK_THROWS_AS(Adam<double>(2, AdamOptions{.beta2 = 1.0}), ConfigError);
  auto smaller = single_tensor({1.0});
  CHECK_THROWS_AS(adam.step(smaller), ShapeError);
}

TEST_CASE("SGD with momentum, dampening, Nesterov and weight decay follows PyTorch") {
  const double grads[] = {1.0, -0.5, 0.25, 2.0};
  for (const SgdOptions o : {SgdOptions{.lr = 0.1},
                             SgdOptions{.lr = 0.1, .momentum = 0.9},
                             SgdOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.3, .weight_decay = 0.01},
                             SgdOptions{.lr = 0.05, .momentum = 0.5, .weight_decay = 0.1, .nesterov = true}}) {
    auto p = single_tensor({2.0});
    SGD<double> sgd(1, o);
    double w = 2.0, b = 0.0;
    for (int t = 0; t < 4; ++t) {
      p.grads()[0] = grads[t];
      sgd.step(p);
      double g = grads[t] + o.weight_decay * w;
      if (o.momentum != 0.0) {
        b = t == 0 ? g : o.momentum * b + (1 - o.dampening) * g;
        g = o.nesterov ? g + o.momentum * b : b;
      }
      w -= o.lr * g;
      CHECK(p.values()[0] == doctest::Approx(w).epsilon(1e-12));
    }
  }
  // Plain SGD on paper: w = 2 - 0.1 * 1 = 1.9.
  auto p = single_tensor({2.0});
  SGD<double> plain(1, SgdOptions{.lr = 0.1});
  p.grads()[0] = 1.0;
  plain.step(p);
  CHECK(p.values()[0] == doctest::Approx(1.9));
  CHECK_THROWS_AS(SGD<double>(1, SgdOptions{.lr = 0.1, .nesterov = true}), ConfigError);
}
