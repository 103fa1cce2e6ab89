#include <doctest/doctest.h>

#include <cnnlstm/model.hpp>
#include <cnnlstm/check/model_probe.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

using namespace cnnlstm;

namespace {

template <int Rank>
TensorBuffer<double, Rank> random_input(const Shape<Rank>& shape, Rng& rng) {
  TensorBuffer<double, Rank> b(shape);
  for (Index i = 0; i < b.size(); ++i) b.data()[i] = rng.uniform(0.0, 1.0);
  return b;
}

std::vector<std::pair<std::string, std::vector<Index>>> names_and_shapes(const ParameterLayout& l) {
  std::vector<std::pair<std::string, std::vector<Index>>> out;
  for (const auto& s : l.specs()) out.emplace_back(s.name, s.shape);
  return out;
}

// Gradient check of a standard model built from a spec, on a small random batch.
void check_spec_gradients(const ModelSpec& spec, Index batch, Index years) {
  std::visit(
      [&](auto model) {
        using Model = decltype(model);
        model.initialize(7);
        Rng rng(11);
        typename ModelProbe<Model>::Buffers inputs;
        if constexpr (std::is_same_v<Model, CnnModel<double>>) {
          inputs = {random_input<4>({batch, spec.cnn->in_channels, spec.cnn->patch, spec.cnn->patch}, rng)};
        } else if constexpr (std::is_same_v<Model, LstmModel<double>>) {
          inputs = {random_input<3>({batch, years, spec.lstm->input_size}, rng)};
        } else {
          inputs = {random_input<4>({batch, spec.cnn->in_channels, spec.cnn->patch, spec.cnn->patch}, rng),
                    random_input<3>({batch, years, spec.lstm->input_size}, rng)};
        }
        ModelProbe<Model> probe(std::move(model), std::move(inputs));
        const auto report = check_gradients(probe);
        INFO(spec.variant_name() << "\n" << report.summary());
        CHECK(report.worst_error() < 1e-6);
      },
      build_model<double>(spec));
}

// backward_parameters() must give backward()'s parameter gradients, bit for bit: the same
// training forward (same dropout draws), then each backward from zeroed gradients.
template <class Model>
void check_parameter_only_backward(Model& model, const typename Model::Inputs& inputs) {
  const auto gradients = [&](bool with_inputs) {
    Rng dropout(21);
    model.zero_grad();
    const auto y = model.forward(inputs, Context::training(dropout));
    TensorBuffer<float, 2> dy(y.shape());
    for (Index i = 0; i < dy.size(); ++i) dy.data()[i] = 0.1f * static_cast<float>(i % 7) - 0.3f;
    if (with_inputs)
      model.backward(dy);
    else
      model.backward_parameters(dy);
    return model.parameters().grads();
  };
  const auto full = gradients(true);
  const auto parameters_only = gradients(false);
  CHECK(full.size() == parameters_only.size());
  CHECK(full == parameters_only);
  CHECK(std::any_of(full.begin(), full.end(), [](float g) { return g != 0; }));
}

template <int Rank>
TensorBuffer<float, Rank> uniform_input(const Shape<Rank>& shape, std::uint64_t seed) {
  Rng rng(seed);
  TensorBuffer<float, Rank> b(shape);
  for (Index i = 0; i < b.size(); ++i) b.data()[i] = static_cast<float>(rng.uniform(-1.0, 1.0));
  return b;
}

}  // namespace

TEST_CASE("backward_parameters gives backward's parameter gradients without the inputs' gradients") {
  ModelSpec spec = paper_spec("CNN-LSTM_evi_lsp");
  spec.lstm->num_layers = 2;
  spec.lstm->dropout = 0.3;
  auto model = std::get<CnnLstmModel<float>>(build_model<float>(spec));
  model.initialize(5);
  for (const Index n : {1, 7, 32}) {
    INFO("batch " << n);
    const auto x_cnn = uniform_input<4>({n, 10, 5, 5}, 1);
    const auto x_lstm = uniform_input<3>({n, 10, 12}, 2);
    check_parameter_only_backward(model, {x_cnn.view(), x_lstm.view()});
  }
  auto lstm_only = std::get<LstmModel<float>>(build_model<float>(paper_spec("LSTM_evi")));
  lstm_only.initialize(6);
  const auto series = uniform_input<3>({9, 10, 1}, 3);
  check_parameter_only_backward(lstm_only, {series.view()});
}

TEST_CASE("a NaN in a sample's covariates gives that sample a NaN prediction, never a number") {
  auto model = std::get<CnnLstmModel<float>>(build_model<float>(paper_spec("CNN-LSTM_evi_lsp")));
  model.initialize(8);
  for (const Index n : {1, 5, 70}) {  // one sample, one vector of lanes, chunks
    INFO("batch " << n);
    auto x_cnn = uniform_input<4>({n, 10, 5, 5}, 4);
    auto x_lstm = uniform_input<3>({n, 10, 12}, 5);
    x_cnn(n - 1, 3, 2, 2) = std::numeric_limits<float>::quiet_NaN();
    x_lstm(0, 4, 7) = std::numeric_limits<float>::quiet_NaN();
    const auto y = model.predict({x_cnn.view(), x_lstm.view()});
    CHECK(std::isnan(y(n - 1, 0)));
    CHECK(std::isnan(y(0, 0)));
    for (Index i = 1; i + 1 < n; ++i) CHECK(std::isfinite(y(i, 0)));
  }
}

TEST_CASE("CNN-LSTM_evi_lsp has the paper's tensors with PyTorch's names, shapes and order") {
  const auto model = std::get<CnnLstmModel<float>>(build_model<float>(paper_spec("CNN-LSTM_evi_lsp")));
  const std::vector<std::pair<std::string, std::vector<Index>>> expected{
      {"conv1.weight", {6, 10, 2, 2}},   {"conv1.bias", {6}},
      {"conv2.weight", {16, 6, 2, 2}},   {"conv2.bias", {16}},
      {"fc_cnn_1.weight", {16, 64}},     {"fc_cnn_1.bias", {16}},
      {"lstm.weight_ih_l0", {32, 12}},   {"lstm.weight_hh_l0", {32, 8}},
      {"lstm.bias_ih_l0", {32}},         {"lstm.bias_hh_l0", {32}},
      {"lstm.weight_ih_l1", {32, 8}},    {"lstm.weight_hh_l1", {32, 8}},
      {"lstm.bias_ih_l1", {32}},         {"lstm.bias_hh_l1", {32}},
      {"fc_lstm_1.weight", {16, 8}},     {"fc_lstm_1.bias", {16}},
      {"fc_final.weight", {1, 32}},      {"fc_final.bias", {1}}};
  CHECK(names_and_shapes(model.parameters().layout()) == expected);
  CHECK(model.branch<0>().flattened_features() == 64);
}

TEST_CASE("the CNN and LSTM variants use the paper's module names") {
  const auto cnn = std::get<CnnModel<float>>(build_model<float>(paper_spec("CNN")));
  const std::vector<std::pair<std::string, std::vector<Index>>> cnn_expected{
      {"conv1.weight", {16, 10, 2, 2}}, {"conv1.bias", {16}}, {"conv2.weight", {16, 16, 2, 2}},
      {"conv2.bias", {16}},             {"fc1.weight", {16, 64}}, {"fc1.bias", {16}},
      {"fc2.weight", {1, 16}},          {"fc2.bias", {1}}};
  CHECK(names_and_shapes(cnn.parameters().layout()) == cnn_expected);
  const auto lstm = std::get<LstmModel<float>>(build_model<float>(paper_spec("LSTM_evi")));
  const auto& specs = lstm.parameters().layout().specs();
  REQUIRE(specs.size() == 12);
  CHECK(specs[0].name == "lstm.weight_ih_l0");
  CHECK(specs[0].shape == std::vector<Index>{32, 1});
  CHECK(specs[8].name == "fc_1.weight");
  CHECK(specs[10].name == "fc_2.weight");
  CHECK(specs[10].shape == std::vector<Index>{1, 16});
  CHECK(paper_spec("LSTM_lsp").lstm->input_size == 11);
  CHECK(paper_spec("CNN-LSTM_evi").lstm->input_size == 1);
  for (const auto& name : paper_variant_names()) CHECK(paper_spec(name).variant_name() == name);
}

TEST_CASE("every paper variant passes the finite-difference gradient check") {
  for (const auto& name : paper_variant_names()) check_spec_gradients(paper_spec(name), 3, 4);
}

TEST_CASE("gradient check with LSTM dropout, a bigger patch, three conv blocks, a hidden head and two outputs") {
  ModelSpec spec = paper_spec("CNN-LSTM_evi_lsp");
  spec.lstm->dropout = 0.3;
  spec.lstm->num_layers = 3;
  spec.cnn->patch = 9;
  spec.cnn->in_channels = 3;
  spec.cnn->conv_channels = {4, 5, 6};
  spec.head.hidden = {7};
  spec.head.outputs = 2;
  check_spec_gradients(spec, 2, 3);
  // 9 -> conv 10 -> pool 5 -> conv 6 -> pool 3 -> conv 4 -> pool 2: 6 * 2 * 2 = 24
  const auto model = std::get<CnnLstmModel<double>>(build_model<double>(spec));
  CHECK(model.branch<0>().flattened_features() == 24);
}

TEST_CASE("a patch too small for the conv blocks is rejected at construction, naming the sizes") {
  ModelSpec spec = paper_spec("CNN");
  spec.cnn->patch = 4;  // kernel 3, no padding: 4 -> conv 2 -> pool 1 -> conv block 2 cannot fit
  spec.cnn->kernel = 3;
  spec.cnn->padding = 0;
  CHECK_THROWS_WITH_AS(build_model<float>(spec),
                       doctest::Contains("a 4x4 patch is too small for conv block 2"), ConfigError);
  CHECK_THROWS_WITH_AS(paper_spec("CNN-LSTM_evi-lsp"), doctest::Contains("did you mean \"CNN-LSTM_evi_lsp\""),
                       ConfigError);
}

TEST_CASE("predict returns a result of its own: a second call leaves the first as it was") {
  auto model = std::get<CnnLstmModel<float>>(build_model<float>(paper_spec("CNN-LSTM_evi_lsp")));
  model.initialize(21);
  const auto first_cnn = uniform_input<4>({3, 10, 5, 5}, 1), second_cnn = uniform_input<4>({3, 10, 5, 5}, 2);
  const auto first_lstm = uniform_input<3>({3, 10, 12}, 3), second_lstm = uniform_input<3>({3, 10, 12}, 4);
  // Without target scaling predict() read the network's output buffer, with it its own buffer.
  for (const bool scaled : {false, true}) {
    INFO("target scaling " << scaled);
    if (scaled) model.set_target_scaling({{12.0}, {3.0}});
    const Tensor<float, 2> first = model.predict({first_cnn.view(), first_lstm.view()});
    const std::vector<float> kept(first.data(), first.data() + first.size());
    const Tensor<float, 2> second = model.predict({second_cnn.view(), second_lstm.view()});
    CHECK(second(0, 0) != kept[0]);
    CHECK(std::equal(kept.begin(), kept.end(), first.data()));
    // predict_view() gives the same values without allocating, valid until the next call.
    const TensorRef<float, 2> view = model.predict_view({first_cnn.view(), first_lstm.view()});
    CHECK(std::equal(kept.begin(), kept.end(), view.data()));
  }
}

TEST_CASE("SocModel forward shapes, batch checks, determinism, copies and target scaling") {
  auto model = std::get<CnnLstmModel<float>>(build_model<float>(paper_spec("CNN-LSTM_evi_lsp")));
  model.initialize(314);
  Tensor<float, 4> x_cnn(5, 10, 5, 5);
  Tensor<float, 3> x_lstm(5, 10, 12);
  x_cnn.setConstant(0.5f);
  x_lstm.setConstant(0.25f);
  const auto y = model.predict({x_cnn, x_lstm});
  CHECK(y.dimension(0) == 5);
  CHECK(y.dimension(1) == 1);
  const float first = y(0, 0);
  CHECK(y(4, 0) == first);  // identical inputs, identical outputs

  auto same = std::get<CnnLstmModel<float>>(build_model<float>(paper_spec("CNN-LSTM_evi_lsp")));
  same.initialize(314);
  CHECK(same.parameters().values() == model.parameters().values());
  same.initialize(315);
  CHECK(same.parameters().values() != model.parameters().values());

  auto copy = model;
  copy.parameters().values()[0] += 1.0f;
  CHECK(model.predict({x_cnn, x_lstm})(0, 0) == first);

  model.set_target_scaling({{12.0}, {3.0}});
  CHECK(model.predict({x_cnn, x_lstm})(0, 0) == doctest::Approx(first * 3.0 + 12.0));
  CHECK_THROWS_AS(model.set_target_scaling({{1.0, 2.0}, {1.0, 1.0}}), ConfigError);

  Tensor<float, 3> short_batch(4, 10, 12);
  short_batch.setZero();
  CHECK_THROWS_WITH_AS(model.predict({x_cnn, short_batch}),
                       "SocModel: input x_lstm has 4 samples but x_cnn has 5", ShapeError);
  Tensor<float, 3> wrong_features(5, 10, 11);
  wrong_features.setZero();
  CHECK_THROWS_WITH_AS(model.predict({x_cnn, wrong_features}), doctest::Contains("LSTM 'lstm'"), ShapeError);
}

TEST_CASE("model specs round-trip through JSON and unknown keys are named") {
  ModelSpec spec = paper_spec("CNN-LSTM_lsp");
  spec.head.hidden = {8};
  const auto back = model_spec_from_json(to_json(spec), "model.json");
  CHECK(back == spec);
  nlohmann::json j = to_json(spec);
  j["lstm"]["hiden_size"] = 4;
  CHECK_THROWS_WITH_AS(model_spec_from_json(j, "model.json"),
                       "model.json: key \"lstm.hiden_size\" is not known (did you mean \"hidden_size\"?)",
                       ConfigError);
  nlohmann::json k = to_json(spec);
  k["lstm"]["dropout"] = 1.0;
  CHECK_THROWS_WITH_AS(model_spec_from_json(k, "model.json"),
                       "model.json: key \"lstm.dropout\" must be in [0, 1), got 1", ConfigError);
  nlohmann::json v = to_json(spec);
  v["variant"] = "CNN-LSTM_evi";
  CHECK_THROWS_WITH_AS(model_spec_from_json(v, "m"), doctest::Contains("describe CNN-LSTM_lsp"), ConfigError);
}
