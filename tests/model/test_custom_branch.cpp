// A branch defined outside the library (examples/custom_branch.hpp) works through SocModel.
#include <doctest/doctest.h>

#include <cnnlstm/model.hpp>
#include <cnnlstm/check/model_probe.hpp>

#include "../../examples/custom_branch.hpp"

using namespace cnnlstm;

static_assert(Branch<SiteBranch<double>, double>);
static_assert(!Branch<Linear<double>, double>);
// The example states every optional trait of the concept (model/branch.hpp).
static_assert(!SiteBranch<double>::draws_random_numbers);
static_assert(SiteBranch<double>::feature_axis == 0);
static_assert(!LaneBranch<SiteBranch<double>, double>);

TEST_CASE("the example branch's feature_axis 0 keeps its attributes as they are") {
  using Model = SocModel<double, SiteBranch<double>>;
  Model model({{SiteBranchOptions{.attributes = 3, .features = 2}}, DenseHeadOptions{}});
  TensorBuffer<double, 2> x({4, 3});
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<double>(i % 3) * 10.0 + static_cast<double>(i / 3);
  const std::vector<std::int64_t> rows{0, 1, 2, 3};
  const auto scaling = model.fit_input_scaling({x.view()}, rows);
  CHECK(scaling[0].empty());  // no scaling is fitted, and none is accepted
  CHECK_THROWS_WITH_AS(model.set_input_scaling({FeatureScaling{{1.0, 2.0, 3.0}, {1.0, 1.0, 1.0}}}),
                       "input x_site has no feature axis, so it cannot be scaled", ConfigError);
}

TEST_CASE("a user-defined third branch passes the gradient check inside SocModel") {
  using Model = SocModel<double, CnnBranch<double>, LstmBranch<double>, SiteBranch<double>>;
  CnnBranchOptions cnn;
  cnn.in_channels = 3;
  LstmBranchOptions lstm;
  lstm.input_size = 2;
  lstm.num_layers = 1;
  Model model({{cnn, lstm, SiteBranchOptions{.attributes = 3, .features = 4}}, DenseHeadOptions{.hidden = {6}}});
  model.initialize(9);
  const auto& specs = model.parameters().layout().specs();
  CHECK(specs[specs.size() - 6].name == "fc_site.weight");
  CHECK(specs.back().name == "fc_final.bias");
  Rng rng(2);
  const auto random = [&](auto buffer) {
    for (Index i = 0; i < buffer.size(); ++i) buffer.data()[i] = rng.uniform(-1.0, 1.0);
    return buffer;
  };
  const auto x_cnn = random(TensorBuffer<double, 4>({2, 3, 5, 5}));
  const auto x_lstm = random(TensorBuffer<double, 3>({2, 4, 2}));
  const auto x_site = random(TensorBuffer<double, 2>({2, 3}));
  ModelProbe<Model> probe(model, {x_cnn, x_lstm, x_site});
  const auto report = check_gradients(probe);
  INFO(report.summary());
  CHECK(report.worst_error() < 1e-6);
  CHECK(report.entries.back().name == "input x_site");

  // backward_parameters reaches a branch without backward_parameters_lanes through its backward.
  const auto gradients = [&](bool with_inputs) {
    model.zero_grad();
    Rng unused(1);
    const auto y = model.forward({x_cnn.view(), x_lstm.view(), x_site.view()}, Context::training(unused));
    TensorBuffer<double, 2> dy(y.shape());
    for (Index i = 0; i < dy.size(); ++i) dy.data()[i] = 0.5 - 0.1 * static_cast<double>(i);
    if (with_inputs)
      model.backward(dy);
    else
      model.backward_parameters(dy);
    return model.parameters().grads();
  };
  CHECK(gradients(true) == gradients(false));
}
