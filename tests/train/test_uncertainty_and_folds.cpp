#include <doctest/doctest.h>

#include <cnnlstm/train/folds.hpp>
#include <cnnlstm/soilmap/importance.hpp>
#include <cnnlstm/soilmap/simulate.hpp>
#include <cnnlstm/train/trainer.hpp>
#include <cnnlstm/train/uncertainty.hpp>

#include <algorithm>
#include <cmath>
#include <set>

using namespace cnnlstm;

TEST_CASE("conformal intervals cover about 90% of new sites") {
  // Members = truth + shared error + member noise; the error scale varies by site.
  Rng rng(4);
  const auto draw_site = [&](std::vector<double>& members) {
    const double truth = 12 + 3 * rng.normal(), scale = 0.5 + 2 * rng.uniform();
    const double observed = truth + scale * rng.normal();
    members.clear();
    for (int k = 0; k < 5; ++k) members.push_back(truth + 0.5 * scale * rng.normal());
    return observed;
  };
  std::vector<std::vector<double>> calibration_members;
  std::vector<double> calibration_y;
  std::vector<double> members;
  for (int i = 0; i < 400; ++i) {
    calibration_y.push_back(draw_site(members));
    calibration_members.push_back(members);
  }
  const auto c = calibrate_conformal(calibration_members, calibration_y, 0.1);
  CHECK(c.n == 400);
  std::vector<PredictionBands> bands;
  std::vector<double> observed;
  for (int i = 0; i < 20000; ++i) {
    observed.push_back(draw_site(members));
    bands.push_back(prediction_bands(members, c));
  }
  const double picp = interval_coverage(bands, observed);
  CHECK(picp == doctest::Approx(0.9).epsilon(0.03));
  CHECK(bands[0].q05 < bands[0].mean);
  CHECK(bands[0].mean < bands[0].q95);
  CHECK_THROWS_AS(calibrate_conformal(calibration_members, calibration_y, 1.5), ConfigError);
  CHECK_THROWS_WITH_AS(calibrate_conformal({{1.0}, {2.0}}, {1.0, 2.0}, 0.1), doctest::Contains("at least 9 calibration sites"),
                       DataError);
}

TEST_CASE("a lower limit cuts the calibrated interval without losing coverage") {
  // SOC-like sites near zero: the plain interval reaches below 0, the cut one does not.
  Rng rng(11);
  const auto draw_site = [&](std::vector<double>& members) {
    const double truth = 0.3 + std::abs(2 * rng.normal());
    members.clear();
    for (int k = 0; k < 5; ++k) members.push_back(truth + 0.3 * rng.normal());
    return std::max(0.0, truth + rng.normal());
  };
  std::vector<std::vector<double>> calibration_members;
  std::vector<double> calibration_y, members;
  for (int i = 0; i < 400; ++i) {
    calibration_y.push_back(draw_site(members));
    calibration_members.push_back(members);
  }
  const auto plain = calibrate_conformal(calibration_members, calibration_y, 0.1);
  const auto cut = calibrate_conformal(calibration_members, calibration_y, 0.1, 0.0);
  CHECK(cut.q == plain.q);
  std::vector<PredictionBands> plain_bands, cut_bands;
  std::vector<double> observed;
  for (int i = 0; i < 5000; ++i) {
    observed.push_back(draw_site(members));
    plain_bands.push_back(prediction_bands(members, plain));
    cut_bands.push_back(prediction_bands(members, cut));
  }
  const auto below_zero = std::count_if(plain_bands.begin(), plain_bands.end(), [](const auto& b) { return b.q05 < 0; });
  CHECK(below_zero > 500);  // the case the limit exists for
  for (std::size_t i = 0; i < cut_bands.size(); ++i) {
    CHECK(cut_bands[i].q05 == std::max(0.0, plain_bands[i].q05));
    CHECK(cut_bands[i].q95 == std::max(0.0, plain_bands[i].q95));
    CHECK(cut_bands[i].mean == std::max(0.0, plain_bands[i].mean));  // the point prediction is cut too
    CHECK(cut_bands[i].q05 <= cut_bands[i].mean);
    CHECK(cut_bands[i].mean <= cut_bands[i].q95);
  }
  CHECK(interval_coverage(cut_bands, observed) == interval_coverage(plain_bands, observed));

  // The limit travels with the calibration in the model files, and a wrong one is refused.
  CHECK(conformal_from_json(to_json(cut), "model.safetensors").lower_limit == 0.0);
  CHECK_FALSE(conformal_from_json(to_json(plain), "model.safetensors").lower_limit.has_value());
  calibration_y[17] = -0.5;
  CHECK_THROWS_WITH_AS(calibrate_conformal(calibration_members, calibration_y, 0.1, 0.0),
                       doctest::Contains("above calibration site 17's observation -0.5"), DataError);
  auto bad = to_json(cut);
  bad["lower_limit"] = "zero";
  CHECK_THROWS_WITH_AS(conformal_from_json(bad, "m.safetensors"), doctest::Contains("m.safetensors"), FormatError);
}

TEST_CASE("without calibration the bands are the members' quantiles; one member gives its value") {
  const auto b = prediction_bands({4, 1, 3, 2, 5}, std::nullopt);
  CHECK(b.mean == 3.0);
  CHECK(b.q50 == 3.0);
  CHECK(b.q05 == doctest::Approx(1.2));
  CHECK(b.q95 == doctest::Approx(4.8));
  const auto single = prediction_bands({7.5}, ConformalCalibration{0.1, 2.0, 0.5, 10, std::nullopt});
  CHECK(single.q05 == 6.5);
  CHECK(single.q95 == 8.5);
}

TEST_CASE("random folds partition the rows; spatial folds keep each block in one fold") {
  const auto folds = random_folds(4, 22, 1);
  REQUIRE(folds.size() == 4);
  std::multiset<std::int64_t> tested;
  for (const auto& f : folds) {
    tested.insert(f.test.begin(), f.test.end());
    CHECK(f.train.size() + f.test.size() == 22);
  }
  CHECK(tested.size() == 22);
  CHECK(std::set<std::int64_t>(tested.begin(), tested.end()).size() == 22);

  const auto data = simulate_soil_data({.samples = 400, .seed = 2});
  const double block = 2000;  // 8 x 8 pixels of 250 m
  const auto spatial = spatial_block_folds(data.coordinates, block, 5, 7);
  std::map<std::pair<long, long>, std::size_t> fold_of_block;
  std::size_t covered = 0;
  for (std::size_t f = 0; f < spatial.size(); ++f) {
    covered += spatial[f].test.size();
    for (auto r : spatial[f].test) {
      const std::pair<long, long> key{static_cast<long>(std::floor(data.coordinates(r, 0) / block)),
                                      static_cast<long>(std::floor(data.coordinates(r, 1) / block))};
      const auto [it, fresh] = fold_of_block.emplace(key, f);
      CHECK(it->second == f);  // a block never straddles two folds
    }
    CHECK(spatial[f].test.size() > 400 / 5 / 2);  // roughly balanced
  }
  CHECK(covered == 400);
  CHECK_THROWS_WITH_AS(spatial_block_folds(data.coordinates, 1e9, 5, 7), doctest::Contains("blocks of"), ConfigError);
  CHECK_THROWS_AS(random_folds(1, 10, 1), ConfigError);
}

TEST_CASE("permutation importance: a constant channel scores zero, informative inputs score above it") {
  auto data = simulate_soil_data({.samples = 300, .seed = 8});
  for (Index i = 0; i < 300; ++i)
    for (Index k = 0; k < 25; ++k) data.x_cnn.data()[i * 250 + 9 * 25 + k] = 0.5f;  // channel 9 constant
  SoilData<float> soil;
  soil.x_cnn = data.x_cnn;
  soil.x_lstm = data.x_lstm;
  soil.y = data.y.reshape(Shape<2>{300, 1});
  soil.rows = 300;
  CnnLstmModel<float> model({{CnnBranchOptions{}, LstmBranchOptions{}}, DenseHeadOptions{}});
  model.initialize(1);
  TrainerOptions o;
  o.epochs = 40;
  o.adam.lr = 3e-3;
  Trainer<CnnLstmModel<float>> trainer(model, o);
  trainer.fit({{*soil.x_cnn, *soil.x_lstm}, *soil.y}, data.train_index, {});
  const auto test = select_rows(soil, data.test_index);
  CHECK(test.rows == static_cast<Index>(data.test_index.size()));
  const auto importance = permutation_importance(model, test, 3, 5, data.static_names, data.series_names);
  REQUIRE(importance.size() == 10 + 12 + 10);
  CHECK(importance[9].name == "wind_speed");
  CHECK(importance[9].rmse_increase == 0.0);
  double best = 0;
  for (const auto& i : importance) best = std::max(best, i.rmse_increase);
  CHECK(best > 0.2);
}
