#include <doctest/doctest.h>

#include <Eigen/QR>

#include <set>

#include <cnnlstm/soilmap/simulate.hpp>

using namespace cnnlstm;

namespace {

SimulationOptions small_options(std::uint64_t seed = 314) {
  SimulationOptions options;
  options.samples = 300;
  options.seed = seed;
  return options;
}

bool same_floats(const float* a, const float* b, Index count) {
  return std::equal(a, a + count, b);
}

// Pearson correlation of two equally long vectors.
double correlation(const std::vector<double>& a, const std::vector<double>& b) {
  const Eigen::Map<const Eigen::ArrayXd> x(a.data(), Index(a.size())), y(b.data(), Index(b.size()));
  const Eigen::ArrayXd dx = x - x.mean(), dy = y - y.mean();
  return (dx * dy).sum() / std::sqrt((dx * dx).sum() * (dy * dy).sum());
}

// Hand-made features of one site's patch: per channel the window mean and the centre minus the
// mean, and the least-squares plane gradient (gx, gy, |g|) of each channel.
std::vector<double> static_features(const SimulatedData& d, Index i) {
  const Index p = d.x_cnn.dimension(2), half = p / 2;
  std::vector<double> features;
  for (Index k = 0; k < d.x_cnn.dimension(1); ++k) {
    double mean = 0, gx = 0, gy = 0;
    for (Index a = 0; a < p; ++a)
      for (Index b = 0; b < p; ++b) {
        mean += d.x_cnn(i, k, a, b);
        gx += d.x_cnn(i, k, a, b) * double(b - half);
        gy += d.x_cnn(i, k, a, b) * double(a - half);
      }
    mean /= double(p * p);
    features.insert(features.end(), {mean, d.x_cnn(i, k, half, half) - mean, gx, gy, std::hypot(gx, gy)});
  }
  return features;
}

// Hand-made features of one site's series: per feature the mean over years and the change from
// the first half of the years to the second.
std::vector<double> series_features(const SimulatedData& d, Index i) {
  const Index years = d.x_lstm.dimension(1);
  std::vector<double> features;
  for (Index f = 0; f < d.x_lstm.dimension(2); ++f) {
    double first = 0, second = 0;
    for (Index t = 0; t < years; ++t) (2 * t < years ? first : second) += d.x_lstm(i, t, f);
    features.insert(features.end(), {(first + second) / double(years),
                                     second / double(years - years / 2) - first / double(years / 2)});
  }
  return features;
}

enum class Covariates { static_only, series_only, both };

// In-sample R2 of the ordinary least-squares fit of y on an intercept and the chosen features.
double ols_r2(const SimulatedData& d, Covariates which) {
  const Index n = d.y.dimension(0);
  std::vector<std::vector<double>> rows;
  for (Index i = 0; i < n; ++i) {
    std::vector<double> row{1.0};
    if (which != Covariates::series_only) {
      const auto s = static_features(d, i);
      row.insert(row.end(), s.begin(), s.end());
    }
    if (which != Covariates::static_only) {
      const auto s = series_features(d, i);
      row.insert(row.end(), s.begin(), s.end());
    }
    rows.push_back(row);
  }
  Eigen::MatrixXd x(n, Index(rows[0].size()));
  Eigen::VectorXd y(n);
  for (Index i = 0; i < n; ++i) {
    x.row(i) = Eigen::Map<const Eigen::RowVectorXd>(rows[std::size_t(i)].data(), x.cols());
    y(i) = d.y(i);
  }
  const Eigen::VectorXd beta = x.colPivHouseholderQr().solve(y);
  const double residual = (y - x * beta).squaredNorm();
  return 1.0 - residual / (y.array() - y.mean()).square().sum();
}

}  // namespace

TEST_CASE("simulated data have the paper's shapes and names") {
  const SimulatedData d = simulate_soil_data(small_options());
  CHECK(d.x_cnn.dimensions() == Tensor<float, 4>::Dimensions(300, 10, 5, 5));
  CHECK(d.x_lstm.dimensions() == Tensor<float, 3>::Dimensions(300, 10, 12));
  CHECK(d.y.dimension(0) == 300);
  CHECK(d.coordinates.dimensions() == Tensor<double, 2>::Dimensions(300, 2));
  CHECK(d.static_names.size() == 10);
  REQUIRE(d.series_names.size() == 12);
  CHECK(d.series_names.front() == "evi");
  CHECK(d.series_names.back() == "cycles");

  SimulationOptions other = small_options();
  other.patch = 7;
  other.years = 4;
  const SimulatedData e = simulate_soil_data(other);
  CHECK(e.x_cnn.dimensions() == Tensor<float, 4>::Dimensions(300, 10, 7, 7));
  CHECK(e.x_lstm.dimensions() == Tensor<float, 3>::Dimensions(300, 4, 12));
}

TEST_CASE("covariates lie in [0, 1] and SOC is plausible") {
  const SimulatedData d = simulate_soil_data(SimulationOptions{});
  const Tensor<float, 0> cnn_min = d.x_cnn.minimum(), cnn_max = d.x_cnn.maximum();
  const Tensor<float, 0> lstm_min = d.x_lstm.minimum(), lstm_max = d.x_lstm.maximum();
  CHECK(cnn_min() >= 0.0f);
  CHECK(cnn_max() <= 1.0f);
  CHECK(lstm_min() >= 0.0f);
  CHECK(lstm_max() <= 1.0f);

  std::vector<float> y(d.y.data(), d.y.data() + d.y.size());
  CHECK(std::all_of(y.begin(), y.end(), [](float v) { return std::isfinite(v) && v > 0 && v < 150; }));
  const double mean = std::accumulate(y.begin(), y.end(), 0.0) / double(y.size());
  CHECK(mean > 8);
  CHECK(mean < 20);
  std::sort(y.begin(), y.end());
  CHECK(y[y.size() / 10] > 3);        // 10 % quantile
  CHECK(y[y.size() * 9 / 10] < 40);   // 90 % quantile

  // number of cycles: 1 or 2 (scaled 0.5 or 1), mostly 1
  Index single = 0, double_cycles = 0;
  for (Index i = 0; i < d.x_lstm.dimension(0); ++i)
    for (Index t = 0; t < d.x_lstm.dimension(1); ++t) {
      single += d.x_lstm(i, t, SeriesFeature::cycles) == 0.5f;
      double_cycles += d.x_lstm(i, t, SeriesFeature::cycles) == 1.0f;
    }
  CHECK(single + double_cycles == d.x_lstm.dimension(0) * d.x_lstm.dimension(1));
  CHECK(double_cycles > 0);
  CHECK(double_cycles < single / 4);
}

TEST_CASE("the same seed gives the same data, another seed other data") {
  const SimulatedData a = simulate_soil_data(small_options(7));
  const SimulatedData b = simulate_soil_data(small_options(7));
  const SimulatedData c = simulate_soil_data(small_options(8));
  CHECK(same_floats(a.x_cnn.data(), b.x_cnn.data(), a.x_cnn.size()));
  CHECK(same_floats(a.x_lstm.data(), b.x_lstm.data(), a.x_lstm.size()));
  CHECK(same_floats(a.y.data(), b.y.data(), a.y.size()));
  CHECK(a.train_index == b.train_index);
  CHECK_FALSE(same_floats(a.x_cnn.data(), c.x_cnn.data(), a.x_cnn.size()));
  CHECK_FALSE(same_floats(a.x_lstm.data(), c.x_lstm.data(), a.x_lstm.size()));
  CHECK_FALSE(same_floats(a.y.data(), c.y.data(), a.y.size()));
  CHECK(a.train_index != c.train_index);
}

TEST_CASE("train and test indices partition the sites by the test fraction") {
  SimulationOptions options = small_options();
  for (const double fraction : {0.2, 0.5, 0.9}) {
    options.test_fraction = fraction;
    const SimulatedData d = simulate_soil_data(options);
    CHECK(d.test_index.size() == std::size_t(std::lround(300 * fraction)));
    std::set<std::int64_t> all(d.train_index.begin(), d.train_index.end());
    all.insert(d.test_index.begin(), d.test_index.end());
    CHECK(all.size() == 300);  // disjoint, as the sizes add up to 300
    CHECK(d.train_index.size() + d.test_index.size() == 300);
    CHECK(*all.begin() == 0);
    CHECK(*all.rbegin() == 299);
  }
}

TEST_CASE("invalid options are configuration errors") {
  const auto with = [](auto change) {
    SimulationOptions options;
    change(options);
    return options;
  };
  CHECK_THROWS_AS(simulate_soil_data(with([](auto& o) { o.samples = 9; })), ConfigError);
  CHECK_THROWS_AS(simulate_soil_data(with([](auto& o) { o.test_fraction = 0; })), ConfigError);
  CHECK_THROWS_AS(simulate_soil_data(with([](auto& o) { o.test_fraction = 1; })), ConfigError);
  CHECK_THROWS_AS(simulate_soil_data(with([](auto& o) { o.patch = 4; })), ConfigError);
  CHECK_THROWS_AS(simulate_soil_data(with([](auto& o) { o.patch = 0; })), ConfigError);
  CHECK_THROWS_AS(simulate_soil_data(with([](auto& o) { o.years = 0; })), ConfigError);
  CHECK_THROWS_AS(simulate_soil_data(with([](auto& o) { o.noise_sd = -1; })), ConfigError);
  CHECK_THROWS_AS(simulate_soil_data(with([](auto& o) { o.pixel_size = 0; })), ConfigError);
  CHECK_THROWS_AS(simulate_soil_data(with([](auto& o) { o.samples = 10; o.patch = 31; })), ConfigError);
  CHECK_NOTHROW(simulate_soil_data(with([](auto& o) { o.samples = 10; o.years = 1; o.patch = 1; })));
  const SimulatedRegion region = simulate_region(SimulationOptions{});
  CHECK_THROWS_AS(region.static_field(10), ShapeError);
  CHECK_THROWS_AS(region.series_at(0, region.size(), 0), ShapeError);
  CHECK_THROWS_AS(region.series_at(0, 0, 10), ShapeError);
}

TEST_CASE("sites lie in the region; patches and series are the region's at the site") {
  const SimulationOptions options = small_options();
  const SimulatedData d = simulate_soil_data(options);
  const SimulatedRegion region = simulate_region(options);
  const SimulatedRegion::Grid greenup_year_3 = region.series(SeriesFeature::greenup, 3);
  std::vector<double> residuals;
  for (Index i = 0; i < d.y.dimension(0); ++i) {
    const auto [row, col] = region.pixel_at(d.coordinates(i, 0), d.coordinates(i, 1));
    REQUIRE(row >= 2);
    REQUIRE(col >= 2);
    REQUIRE(row < region.size() - 2);
    REQUIRE(col < region.size() - 2);
    CHECK(region.pixel_centre(row, col) == std::array{d.coordinates(i, 0), d.coordinates(i, 1)});
    for (Index k = 0; k < StaticField::count; ++k) {
      CHECK(d.x_cnn(i, k, 2, 2) == float(region.static_field(k)(row, col)));
      CHECK(d.x_cnn(i, k, 0, 4) == float(region.static_field(k)(row - 2, col + 2)));
    }
    CHECK(d.x_lstm(i, 3, SeriesFeature::greenup) == float(greenup_year_3(row, col)));
    residuals.push_back(d.y(i) - region.soc_truth_at(row, col));
  }
  // SOC = truth + N(0, noise_sd^2): the residuals' mean and SD match (300 draws).
  const double mean = std::accumulate(residuals.begin(), residuals.end(), 0.0) / 300;
  double square = 0;
  for (double r : residuals) square += (r - mean) * (r - mean);
  CHECK(std::abs(mean) < 4 * options.noise_sd / std::sqrt(300.0));
  CHECK(std::sqrt(square / 299) == doctest::Approx(options.noise_sd).epsilon(0.15));
  // coordinates: metres in a projected grid, 250 m pixels
  CHECK(std::fmod(d.coordinates(0, 0) - SimulatedRegion::origin_x - 125.0, 250.0) == 0.0);
}

TEST_CASE("covariate fields are spatially smooth") {
  const SimulatedRegion region = simulate_region(SimulationOptions{});
  const Index g = region.size();
  for (Index k = 0; k < StaticField::count; ++k) {
    const auto& field = region.static_field(k);
    std::vector<double> here, neighbour, distant;
    for (Index r = 0; r + 40 < g; r += 3)
      for (Index c = 0; c + 40 < g; c += 3) {
        here.push_back(field(r, c));
        neighbour.push_back(field(r, c + 1));
        distant.push_back(field(r + 40, c + 40));
      }
    INFO("field ", simulated_static_names()[std::size_t(k)]);
    const double near = correlation(here, neighbour), far = correlation(here, distant);
    CHECK(near > 0.6);
    CHECK(near > far + 0.2);
  }
  // the series inherit the smoothness of the climate and vegetation fields
  const auto evi = region.series(SeriesFeature::evi, 0);
  std::vector<double> here, neighbour, distant;
  for (Index r = 0; r + 40 < g; r += 3)
    for (Index c = 0; c + 40 < g; c += 3) {
      here.push_back(evi(r, c));
      neighbour.push_back(evi(r + 1, c));
      distant.push_back(evi(r + 40, c + 40));
    }
  CHECK(correlation(here, neighbour) > correlation(here, distant) + 0.2);
}

TEST_CASE("SOC needs both the spatial context and the series") {
  for (const std::uint64_t seed : {314u, 1u, 2u}) {
    SimulationOptions options;
    options.samples = 3000;
    options.seed = seed;
    const SimulatedData d = simulate_soil_data(options);
    const double r2_static = ols_r2(d, Covariates::static_only);
    const double r2_series = ols_r2(d, Covariates::series_only);
    const double r2_both = ols_r2(d, Covariates::both);
    MESSAGE("seed ", seed, ": R2 static ", r2_static, ", series ", r2_series, ", both ", r2_both);
    CHECK(r2_both > r2_static + 0.05);
    CHECK(r2_both > r2_series + 0.05);
  }
}
