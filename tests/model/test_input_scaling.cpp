#include <doctest/doctest.h>

#include <cnnlstm/model.hpp>
#include <cnnlstm/check/model_probe.hpp>

#include <filesystem>
#include <string>

using namespace cnnlstm;

namespace {

template <class T, int Rank>
TensorBuffer<T, Rank> uniform(const Shape<Rank>& shape, Rng& rng, double lo, double hi) {
  TensorBuffer<T, Rank> b(shape);
  for (Index i = 0; i < b.size(); ++i) b.data()[i] = static_cast<T>(rng.uniform(lo, hi));
  return b;
}

// x_cnn (6, 10, 5, 5) with channel c around 100 c and spread c + 1; x_lstm (6, 4, 12) in [0, 1].
struct Inputs {
  TensorBuffer<double, 4> cnn;
  TensorBuffer<double, 3> lstm;
  explicit Inputs(Rng& rng) : cnn(uniform<double, 4>({6, 10, 5, 5}, rng, 0, 1)), lstm(uniform<double, 3>({6, 4, 12}, rng, 0, 1)) {
    for (Index i = 0; i < cnn.size(); ++i) {
      const Index c = (i / 25) % 10;
      cnn.data()[i] = 100.0 * static_cast<double>(c) + static_cast<double>(c + 1) * cnn.data()[i];
    }
  }
};

}  // namespace

TEST_CASE("fit_feature_scaling standardises each index of the feature axis over the rows and the other axes") {
  Rng rng(3);
  Inputs x(rng);
  const std::vector<std::int64_t> rows{0, 2, 3, 5};
  const FeatureScaling s = fit_feature_scaling<double, 4>(x.cnn, 1, rows);
  REQUIRE(s.mean.size() == 10);
  TensorBuffer<double, 4> scaled;
  apply_feature_scaling<double, 4>(x.cnn, 1, s, scaled);
  for (Index c = 0; c < 10; ++c) {
    double sum = 0, sum_sq = 0;
    for (auto r : rows)
      for (Index i = 0; i < 25; ++i) {
        const double v = scaled.data()[(r * 10 + c) * 25 + i];
        sum += v;
        sum_sq += v * v;
      }
    CHECK(sum / 100 == doctest::Approx(0).epsilon(1e-9).scale(1));
    CHECK(sum_sq / 100 == doctest::Approx(1).epsilon(1e-9));
  }
  // The series' features are its last axis; a constant feature is centred, not divided by 0.
  for (Index i = 0; i < x.lstm.size(); i += 12) x.lstm.data()[i + 5] = 0.25;
  const FeatureScaling f = fit_feature_scaling<double, 3>(x.lstm, 2, rows);
  CHECK(f.mean[5] == doctest::Approx(0.25));
  CHECK(f.scale[5] == 1.0);
}

TEST_CASE("a model with an input scaling sees scaled inputs, and its input gradients are in raw units") {
  Rng rng(5);
  Inputs x(rng);
  auto model = std::get<CnnLstmModel<double>>(build_model<double>(paper_spec("CNN-LSTM_evi_lsp")));
  model.initialize(9);
  const auto rows = std::vector<std::int64_t>{0, 1, 2, 3, 4, 5};
  const auto scaling = model.fit_input_scaling({x.cnn, x.lstm}, rows);
  CHECK(scaling[0].mean.size() == 10);
  CHECK(scaling[1].mean.size() == 12);

  // Same output as the unscaled model on inputs scaled by hand.
  TensorBuffer<double, 4> cnn_scaled;
  TensorBuffer<double, 3> lstm_scaled;
  apply_feature_scaling<double, 4>(x.cnn, 1, scaling[0], cnn_scaled);
  apply_feature_scaling<double, 3>(x.lstm, 2, scaling[1], lstm_scaled);
  const Tensor<double, 2> plain = model.predict({cnn_scaled, lstm_scaled});
  auto scaled_model = model;
  scaled_model.set_input_scaling(scaling);
  const Tensor<double, 2> scaled = scaled_model.predict({x.cnn, x.lstm});
  for (Index i = 0; i < 6; ++i) CHECK(scaled(i, 0) == doctest::Approx(plain(i, 0)).epsilon(1e-12));

  // Finite differences on the raw inputs (channels around 900 with spread 10) and parameters.
  ModelProbe<CnnLstmModel<double>> probe(scaled_model, {x.cnn, x.lstm});
  const auto report = check_gradients(probe);
  INFO(report.summary());
  CHECK(report.worst_error() < 1e-6);
}

TEST_CASE("an input scaling of the wrong width or with a zero scale is refused, naming the input") {
  auto model = std::get<CnnLstmModel<float>>(build_model<float>(paper_spec("CNN-LSTM_evi_lsp")));
  CnnLstmModel<float>::InputScaling bad{};
  bad[1] = {{0.5, 0.5}, {1.0, 1.0}};
  model.set_input_scaling(bad);  // the width is checked against the input it meets
  Rng rng(1);
  const auto cnn = uniform<float, 4>({2, 10, 5, 5}, rng, 0, 1);
  const auto lstm = uniform<float, 3>({2, 10, 12}, rng, 0, 1);
  CHECK_THROWS_WITH_AS(model.predict({cnn, lstm}), doctest::Contains("x_lstm has 2 means"), ShapeError);
  bad[1] = {std::vector<double>(12, 0.0), std::vector<double>(12, 0.0)};
  CHECK_THROWS_WITH_AS(model.set_input_scaling(bad), doctest::Contains("positive scales"), ConfigError);
}

TEST_CASE("the input scaling travels with the model file") {
  auto model = std::get<CnnLstmModel<float>>(build_model<float>(paper_spec("CNN-LSTM_evi_lsp")));
  model.initialize(2);
  Rng rng(8);
  const auto cnn = uniform<float, 4>({5, 10, 5, 5}, rng, 100, 200);
  const auto lstm = uniform<float, 3>({5, 10, 12}, rng, 0, 1);
  model.set_input_scaling(model.fit_input_scaling({cnn, lstm}, std::vector<std::int64_t>{0, 1, 2, 3, 4}));
  const std::string path = (std::filesystem::temp_directory_path() / "cnnlstm_input_scaling.safetensors").string();
  save_model(path, model);
  auto loaded = load_model<float>(path);
  auto& back = std::get<CnnLstmModel<float>>(loaded.model);
  CHECK(back.input_scaling() == model.input_scaling());
  const Tensor<float, 2> a = model.predict({cnn, lstm});
  const Tensor<float, 2> b = back.predict({cnn, lstm});
  for (Index i = 0; i < 5; ++i) CHECK(a(i, 0) == b(i, 0));
  std::filesystem::remove(path);
}

TEST_CASE("minmax scaling maps the training rows' range of each feature to [0, 1]") {
  Rng rng(4);
  Inputs x(rng);
  const std::vector<std::int64_t> rows{1, 2, 4};
  const FeatureScaling s = fit_feature_scaling<double, 4>(x.cnn, 1, rows, FeatureScalingKind::minmax);
  TensorBuffer<double, 4> scaled;
  apply_feature_scaling<double, 4>(x.cnn, 1, s, scaled);
  for (Index c = 0; c < 10; ++c) {
    double lo = 1e300, hi = -1e300;
    for (auto r : rows)
      for (Index i = 0; i < 25; ++i) {
        lo = std::min(lo, scaled.data()[(r * 10 + c) * 25 + i]);
        hi = std::max(hi, scaled.data()[(r * 10 + c) * 25 + i]);
      }
    CHECK(lo == doctest::Approx(0).scale(1));
    CHECK(hi == doctest::Approx(1));
  }
  // A constant feature is shifted to 0, not divided by 0.
  for (Index i = 0; i < x.lstm.size(); i += 12) x.lstm.data()[i + 3] = 7.5;
  const FeatureScaling f = fit_feature_scaling<double, 3>(x.lstm, 2, rows, FeatureScalingKind::minmax);
  CHECK(f.mean[3] == 7.5);
  CHECK(f.scale[3] == 1.0);
}
