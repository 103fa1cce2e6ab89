#pragma once
// A simulated digital-soil-mapping data set shaped like the paper's, so the whole workflow runs
// without real data: a square region with 10 static covariate fields, 10 years of EVI and 11
// phenology metrics per pixel, a soil organic carbon (SOC) map that depends on both, and n
// sampling sites with their 5x5 patches, yearly series, SOC, coordinates and a train/test split.
// Every random number comes from cnnlstm::Rng, so a seed gives the same data on every platform.
//
// Region. A grid of G x G pixels, G = max(32, ceil(sqrt(50 n))) for n sites (about one site per
// 50 pixels); row 0 is the north edge. Pixel (r, c) has its centre at projected coordinates
//   x = 500000 + (c + 0.5) s,   y = 4400000 - (r + 0.5) s      (metres, s = pixel size)
// like a UTM zone. A random smooth field is a sum of cosine waves
//   S(r, c) = sum_k a_k cos(kx_k c + ky_k r + phase_k),  |k| = 2 pi / wavelength, random direction,
// phase uniform in [0, 2 pi), amplitude a_k uniform in [0.5, 1] x A / sqrt(count).
// Static covariates (all scaled to [0, 1] by their minimum and maximum over the region):
//   elevation      E = 4 waves, wavelength G/3..G (A = 1) + 8 hill waves, 8..24 px (A = 0.6)
//                      + 3 Gaussian bumps of height +-U(0.5, 1), sd U(G/10, G/4) px
//   slope          |grad E|   (central differences on the unscaled E, edges clamped)
//   northness      cos(aspect) = dE/dr / |grad E|   (0 where flat)
//   eastness       sin(aspect) = -dE/dc / |grad E|
//   curvature      laplacian(E) = E(r-1,c) + E(r+1,c) + E(r,c-1) + E(r,c+1) - 4 E(r,c)  (> 0 in hollows)
//   temperature    -elevation + 0.3 (r / G) + 0.4 S_T          (cooler uphill, warmer southwards)
//   precipitation  0.8 elevation + 0.5 S_P                      (wetter uphill)
//   radiation      -northness' slope + 0.3 S_R     (northness' = cos(aspect) in [-1, 1]; sunny
//                                                   south-facing steep slopes)
//   evapotranspiration  temperature + 0.5 radiation
//   wind_speed     0.6 elevation + 0.5 S_W
// where covariates on the right are the scaled ones and each S_* has 4 waves of wavelength G/4..G
// (A = 1). Three hidden fields drive the vegetation but are not covariates (so only the series
// reveal them): vigour V (3 waves G/6..G/2 + 6 waves 15..50 px, scaled to [0, 1]), cropping
// C (4 waves G/4..G, scaled to [0, 1]) and the greening trend
//   b(r, c) = 0.7 (2 B - 1) + 0.5 z,   B = 6 waves 15..60 px scaled to [0, 1], z ~ N(0, 1) per pixel
// (some sites green, b > 0, others brown, b < 0).
//
// Yearly series, year t = 0..Y-1, tau = t / (Y - 1) - 1/2 (0 if Y = 1). Each year has a regional
// weather anomaly shared by all pixels: warmth a_t ~ N(0, 1) and moisture m_t ~ N(0, 1). Each pixel
// and year draws its own noise z_1..z_11 ~ N(0, 1) and then u ~ U(0, 1), in that order, from
// Rng(key + (r G + c) Y + t), so any pixel and year can be computed alone (key: the region
// generator's last draw, after the fields, the per-pixel z of b in row-major order and the weather). With T, P the pixel's scaled
// temperature and precipitation and wet = P - T:
//   evi          = 0.18 + 0.25 V + 0.08 wet + 0.12 b tau + 0.02 m_t + 0.015 z_1
//   greenup      = 120 - 30 (T - 0.5) + 10 (0.5 - V) - 5 a_t + 4 z_2      (day of year)
//   midgreenup   = greenup + 14 + 2 z_3
//   maturity     = greenup + 30 + 3 z_4
//   peak         = maturity + 20 + 6 wet + 3 z_5
//   senescence   = peak + 35 + 3 z_6
//   midgreendown = senescence + 18 + 2 z_7
//   dormancy     = midgreendown + 18 + 20 (T - 0.5) + 4 a_t + 3 z_8
//   amplitude    = 0.15 + 0.30 V + 0.06 wet + 0.10 b tau + 0.02 m_t + 0.015 z_9
//   minimum      = max(0.02, evi - 0.45 amplitude + 0.01 z_10)
//   area         = (minimum + 0.6 amplitude) (dormancy - greenup) + 2 z_11
//   cycles       = 2 if u < 0.3 C T, else 1
// scaled by fixed constants (not by the data, so any subset has the same scale) and clipped to
// [0, 1]: evi / 0.7, days / 365, amplitude / 0.8, area / 150, minimum / 0.5, cycles / 2.
//
// SOC (g/kg). From the 5x5 window of scaled covariates centred on the pixel (edges clamped; 5x5
// whatever the patch size of x_cnn) and the pixel's scaled series over the Y years:
//   w = mean(precipitation) - mean(temperature) over the window            (wetness)
//   h = (E(centre) - mean(E)) / 0.02                                         (hollow < 0 < ridge)
//   g = sqrt(gx^2 + gy^2) / 0.02, gx = sum_j E(i, j) j / 50, gy = sum_i E(i, j) i / 50 over the
//       window with offsets i, j in -2..2                                    (local gradient)
//   m = mean_t evi_t,   d = least-squares slope of evi_t on tau,   p = mean_t greenup_t
//   log SOC* = 2.65 + 0.9 w - 0.35 tanh(h) - 0.35 max(0, g - 1)
//              + 2.5 (m - 0.45) + 1.8 d (1 + w) - 3 (p - 0.33)
//   SOC = max(0.5, SOC* + e),   e ~ N(0, noise_sd^2) per site.
// SOC* is soc_truth(); it is nonlinear (the exponential, the saturating hollow effect, the erosion
// threshold on steep slopes, the trend-wetness interaction) and needs both the spatial context (w,
// h, g) and the temporal dynamics (m, d, p); log is natural. The default noise_sd = 3 g/kg keeps
// the best achievable R2, var(SOC*) / (var(SOC*) + noise_sd^2), near 0.8 (0.84 at seed 314 with
// 2000 sites, 0.76..0.88 over other seeds); SOC then has a mean of 12..15 g/kg.
//
// Sites: n distinct pixels, uniformly among those at least max(2, patch / 2) pixels from the edge;
// then a random split of the site indices into round(n test_fraction) test and the rest train.
// Random streams: Rng(seed) gives first the region's seed (its first next()), then the sites, the
// SOC noise and the split, in that order. The region depends on samples, seed, years, pixel_size.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "../core/errors.hpp"
#include "../core/random.hpp"
#include "../core/tensor.hpp"

namespace cnnlstm {

struct SimulationOptions {
  Index samples = 2000;        // n sampling sites, >= 10
  std::uint64_t seed = 314;
  double noise_sd = 3.0;       // SD of the Gaussian SOC noise, g/kg
  double test_fraction = 0.2;  // in (0, 1)
  double pixel_size = 250.0;   // metres
  Index years = 10;            // Y
  Index patch = 5;             // odd window size of x_cnn
};

// Channel indices of the static covariates (x_cnn's dimension 1), in order.
struct StaticField {
  enum : Index {
    elevation, slope, northness, eastness, curvature,
    temperature, precipitation, radiation, evapotranspiration, wind_speed, count
  };
};

// Feature indices of the yearly series (x_lstm's dimension 2): EVI, then the paper's 11 metrics.
struct SeriesFeature {
  enum : Index {
    evi, greenup, midgreenup, maturity, peak, senescence, midgreendown, dormancy,
    evi_amplitude, evi_area, evi_minimum, cycles, count
  };
};

inline std::vector<std::string> simulated_static_names() {
  return {"elevation",   "slope",         "northness", "eastness",           "curvature",
          "temperature", "precipitation", "radiation", "evapotranspiration", "wind_speed"};
}

inline std::vector<std::string> simulated_series_names() {
  return {"evi",        "greenup",      "midgreenup", "maturity",      "peak",     "senescence",
          "midgreendown", "dormancy", "evi_amplitude", "evi_area", "evi_minimum", "cycles"};
}

namespace simulation_detail {

using Grid = Matrix<double>;  // (G, G), row 0 at the north edge

struct Wave {
  double kx, ky, phase, amplitude;
};

inline constexpr double two_pi = 6.283185307179586;

inline std::vector<Wave> random_waves(Rng& rng, int count, double min_wavelength,
                                      double max_wavelength, double total_amplitude) {
  std::vector<Wave> waves;
  for (int k = 0; k < count; ++k) {
    const double wavenumber = two_pi / rng.uniform(min_wavelength, max_wavelength);
    const double direction = rng.uniform(0.0, two_pi);
    const double phase = rng.uniform(0.0, two_pi);
    const double amplitude = rng.uniform(0.5, 1.0) * total_amplitude / std::sqrt(double(count));
    waves.push_back({wavenumber * std::cos(direction), wavenumber * std::sin(direction), phase,
                     amplitude});
  }
  return waves;
}

inline void add_waves(Grid& grid, const std::vector<Wave>& waves) {
  for (const Wave& w : waves)
    for (Index r = 0; r < grid.rows(); ++r)
      for (Index c = 0; c < grid.cols(); ++c)
        grid(r, c) += w.amplitude * std::cos(w.kx * double(c) + w.ky * double(r) + w.phase);
}

// Sum of `count` region-scale waves (wavelength G / max_divisor .. G / min_divisor).
inline Grid region_field(Rng& rng, Index size, int count, double min_divisor, double max_divisor) {
  Grid grid = Grid::Zero(size, size);
  const double g = double(size);
  add_waves(grid, random_waves(rng, count, g / max_divisor, g / min_divisor, 1.0));
  return grid;
}

inline void add_gaussian_bumps(Grid& grid, Rng& rng, int count) {
  const double g = double(grid.rows());
  for (int k = 0; k < count; ++k) {
    const double row = rng.uniform(0.0, g), col = rng.uniform(0.0, g);
    const double sd = rng.uniform(g / 10, g / 4);
    const double height = (rng.bernoulli(0.5) ? 1.0 : -1.0) * rng.uniform(0.5, 1.0);
    for (Index r = 0; r < grid.rows(); ++r)
      for (Index c = 0; c < grid.cols(); ++c) {
        const double d2 = (double(r) - row) * (double(r) - row) + (double(c) - col) * (double(c) - col);
        grid(r, c) += height * std::exp(-0.5 * d2 / (sd * sd));
      }
  }
}

inline Grid scaled_to_unit(const Grid& grid) {
  const double low = grid.minCoeff(), range = grid.maxCoeff() - low;
  if (range <= 0) return Grid::Zero(grid.rows(), grid.cols());
  return (grid.array() - low) / range;
}

inline double clamped(const Grid& grid, Index r, Index c) {
  return grid(std::clamp<Index>(r, 0, grid.rows() - 1), std::clamp<Index>(c, 0, grid.cols() - 1));
}

// The terrain derivatives of an elevation grid, from central differences with clamped edges.
struct Terrain {
  Grid slope, northness, eastness, curvature;  // northness, eastness in [-1, 1]
};

inline Terrain terrain_of(const Grid& e) {
  const Index n = e.rows();
  Terrain t{Grid(n, n), Grid(n, n), Grid(n, n), Grid(n, n)};
  for (Index r = 0; r < n; ++r)
    for (Index c = 0; c < n; ++c) {
      const double dr = (clamped(e, r + 1, c) - clamped(e, r - 1, c)) / 2;
      const double dc = (clamped(e, r, c + 1) - clamped(e, r, c - 1)) / 2;
      const double gradient = std::sqrt(dr * dr + dc * dc);
      t.slope(r, c) = gradient;
      t.northness(r, c) = gradient > 0 ? dr / gradient : 0.0;
      t.eastness(r, c) = gradient > 0 ? -dc / gradient : 0.0;
      t.curvature(r, c) = clamped(e, r - 1, c) + clamped(e, r + 1, c) + clamped(e, r, c - 1) +
                          clamped(e, r, c + 1) - 4 * e(r, c);
    }
  return t;
}

struct Weather {
  double warmth, moisture;  // regional anomalies of one year, N(0, 1)
};

// The raw drivers of a pixel's SOC (see the header comment for their definitions).
struct SocDrivers {
  double wetness, hollow, gradient, evi_mean, evi_trend, greenup_mean;
};

inline double soc_from_drivers(const SocDrivers& d) {
  const double log_soc = 2.65 + 0.9 * d.wetness - 0.35 * std::tanh(d.hollow) -
                         0.35 * std::max(0.0, d.gradient - 1.0) + 2.5 * (d.evi_mean - 0.45) +
                         1.8 * d.evi_trend * (1.0 + d.wetness) - 3.0 * (d.greenup_mean - 0.33);
  return std::exp(log_soc);
}

}  // namespace simulation_detail

// The simulated study region: static covariate grids, hidden vegetation fields, yearly weather.
// Series and SOC are computed on demand from them (per pixel, or as whole grids for rasters).
class SimulatedRegion {
 public:
  using Grid = simulation_detail::Grid;
  using SeriesYear = std::array<double, SeriesFeature::count>;  // one year of scaled features

  static constexpr double origin_x = 500000.0;   // x of the grid's west edge, metres
  static constexpr double origin_y = 4400000.0;  // y of the grid's north edge, metres

  // A region of size x size pixels (G) with `years` years (Y) of series, all drawn from `seed`.
  SimulatedRegion(Index size, Index years, double pixel_size, std::uint64_t seed)
      : size_(size), years_(years), pixel_size_(pixel_size) {
    if (size < 8) throw ConfigError("simulate: region size must be at least 8 pixels");
    if (years < 1) throw ConfigError("simulate: years must be at least 1");
    if (!(pixel_size > 0)) throw ConfigError("simulate: pixel size must be positive");
    Rng rng(seed);
    make_static_fields(rng);
    make_vegetation_fields(rng);
    for (Index t = 0; t < years; ++t) weather_.push_back({rng.normal(), rng.normal()});
    noise_key_ = rng.next();
  }

  Index size() const { return size_; }
  Index years() const { return years_; }
  double pixel_size() const { return pixel_size_; }

  // Projected coordinates {x, y} in metres of a pixel's centre, and the pixel {row, col} holding a point.
  std::array<double, 2> pixel_centre(Index row, Index col) const {
    return {origin_x + (double(col) + 0.5) * pixel_size_, origin_y - (double(row) + 0.5) * pixel_size_};
  }
  std::array<Index, 2> pixel_at(double x, double y) const {
    return {Index(std::floor((origin_y - y) / pixel_size_)), Index(std::floor((x - origin_x) / pixel_size_))};
  }

  // Static covariate k (StaticField) over the region, scaled to [0, 1]: (G, G).
  const Grid& static_field(Index k) const {
    if (k < 0 || k >= StaticField::count) throw ShapeError("simulate: no static field " + std::to_string(k));
    return statics_[std::size_t(k)];
  }

  // All scaled series features of one pixel in one year.
  SeriesYear series_at(Index row, Index col, Index year) const;

  // Series feature k (SeriesFeature) of one year over the region: (G, G).
  Grid series(Index feature, Index year) const {
    if (feature < 0 || feature >= SeriesFeature::count)
      throw ShapeError("simulate: no series feature " + std::to_string(feature));
    Grid grid(size_, size_);
    for (Index r = 0; r < size_; ++r)
      for (Index c = 0; c < size_; ++c) grid(r, c) = series_at(r, c, year)[std::size_t(feature)];
    return grid;
  }

  // Noise-free SOC (g/kg) of a pixel, and over the region: (G, G).
  double soc_truth_at(Index row, Index col) const {
    return simulation_detail::soc_from_drivers(soc_drivers(row, col));
  }
  Grid soc_truth() const {
    Grid grid(size_, size_);
    for (Index r = 0; r < size_; ++r)
      for (Index c = 0; c < size_; ++c) grid(r, c) = soc_truth_at(r, c);
    return grid;
  }

  // The drivers of a pixel's SOC: w, h, g from the covariate window, m, d, p from the series.
  simulation_detail::SocDrivers soc_drivers(Index row, Index col) const;

 private:
  void check_pixel(Index row, Index col, Index year) const {
    if (row < 0 || row >= size_ || col < 0 || col >= size_ || year < 0 || year >= years_)
      throw ShapeError("simulate: pixel (" + std::to_string(row) + ", " + std::to_string(col) +
                       ") in year " + std::to_string(year) + " is outside the region");
  }
  void make_static_fields(Rng& rng);
  void make_vegetation_fields(Rng& rng);
  double field(Index k, Index row, Index col) const { return statics_[std::size_t(k)](row, col); }

  Index size_, years_;
  double pixel_size_;
  std::vector<Grid> statics_;   // StaticField::count grids
  Grid vigour_, cropping_, trend_;
  std::vector<simulation_detail::Weather> weather_;  // one per year
  std::uint64_t noise_key_ = 0;  // seeds the per-pixel, per-year noise
};

inline void SimulatedRegion::make_static_fields(Rng& rng) {
  using namespace simulation_detail;
  const double g = double(size_);
  Grid raw_elevation = region_field(rng, size_, 4, 1, 3);
  add_waves(raw_elevation, random_waves(rng, 8, 8, 24, 0.6));
  add_gaussian_bumps(raw_elevation, rng, 3);
  const Terrain terrain = terrain_of(raw_elevation);
  const Grid elevation = scaled_to_unit(raw_elevation);
  const Grid slope = scaled_to_unit(terrain.slope);

  Grid latitude(size_, size_);
  for (Index r = 0; r < size_; ++r) latitude.row(r).setConstant(double(r) / g);
  const Grid temperature =
      scaled_to_unit(-elevation + 0.3 * latitude + 0.4 * region_field(rng, size_, 4, 1, 4));
  const Grid precipitation = scaled_to_unit(0.8 * elevation + 0.5 * region_field(rng, size_, 4, 1, 4));
  const Grid radiation = scaled_to_unit(
      -terrain.northness.cwiseProduct(slope) + 0.3 * region_field(rng, size_, 4, 1, 4));
  const Grid evapotranspiration = scaled_to_unit(temperature + 0.5 * radiation);
  const Grid wind_speed = scaled_to_unit(0.6 * elevation + 0.5 * region_field(rng, size_, 4, 1, 4));

  statics_ = {elevation,   slope,         scaled_to_unit(terrain.northness), scaled_to_unit(terrain.eastness),
              scaled_to_unit(terrain.curvature), temperature, precipitation, radiation,
              evapotranspiration, wind_speed};
}

inline void SimulatedRegion::make_vegetation_fields(Rng& rng) {
  using namespace simulation_detail;
  Grid vigour = region_field(rng, size_, 3, 2, 6);
  add_waves(vigour, random_waves(rng, 6, 15, 50, 1.0));
  vigour_ = scaled_to_unit(vigour);
  cropping_ = scaled_to_unit(region_field(rng, size_, 4, 1, 4));
  Grid trend = Grid::Zero(size_, size_);
  add_waves(trend, random_waves(rng, 6, 15, 60, 1.0));
  trend_ = 0.7 * (2.0 * scaled_to_unit(trend).array() - 1.0);
  for (Index r = 0; r < size_; ++r)
    for (Index c = 0; c < size_; ++c) trend_(r, c) += 0.5 * rng.normal();
}

inline SimulatedRegion::SeriesYear SimulatedRegion::series_at(Index row, Index col, Index year) const {
  check_pixel(row, col, year);
  const double temperature = field(StaticField::temperature, row, col);
  const double wet = field(StaticField::precipitation, row, col) - temperature;
  const double vigour = vigour_(row, col), trend = trend_(row, col);
  const double tau = years_ > 1 ? double(year) / double(years_ - 1) - 0.5 : 0.0;
  const simulation_detail::Weather& weather = weather_[std::size_t(year)];
  Rng noise(noise_key_ + std::uint64_t((row * size_ + col) * years_ + year));

  const double evi = 0.18 + 0.25 * vigour + 0.08 * wet + 0.12 * trend * tau + 0.02 * weather.moisture +
                     0.015 * noise.normal();
  const double greenup = 120 - 30 * (temperature - 0.5) + 10 * (0.5 - vigour) - 5 * weather.warmth +
                         4 * noise.normal();
  const double midgreenup = greenup + 14 + 2 * noise.normal();
  const double maturity = greenup + 30 + 3 * noise.normal();
  const double peak = maturity + 20 + 6 * wet + 3 * noise.normal();
  const double senescence = peak + 35 + 3 * noise.normal();
  const double midgreendown = senescence + 18 + 2 * noise.normal();
  const double dormancy = midgreendown + 18 + 20 * (temperature - 0.5) + 4 * weather.warmth +
                          3 * noise.normal();
  const double amplitude = 0.15 + 0.30 * vigour + 0.06 * wet + 0.10 * trend * tau +
                           0.02 * weather.moisture + 0.015 * noise.normal();
  const double minimum = std::max(0.02, evi - 0.45 * amplitude + 0.01 * noise.normal());
  const double area = (minimum + 0.6 * amplitude) * (dormancy - greenup) + 2 * noise.normal();
  const double cycles = noise.uniform() < 0.3 * cropping_(row, col) * temperature ? 2.0 : 1.0;

  const auto unit = [](double value, double full_scale) { return std::clamp(value / full_scale, 0.0, 1.0); };
  return {unit(evi, 0.7),          unit(greenup, 365),      unit(midgreenup, 365),
          unit(maturity, 365),     unit(peak, 365),         unit(senescence, 365),
          unit(midgreendown, 365), unit(dormancy, 365),     unit(amplitude, 0.8),
          unit(area, 150),         unit(minimum, 0.5),      unit(cycles, 2)};
}

inline simulation_detail::SocDrivers SimulatedRegion::soc_drivers(Index row, Index col) const {
  using simulation_detail::clamped;
  const Grid& elevation = statics_[StaticField::elevation];
  const Grid& precipitation = statics_[StaticField::precipitation];
  const Grid& temperature = statics_[StaticField::temperature];
  double wetness = 0, mean_elevation = 0, gx = 0, gy = 0;
  for (Index i = -2; i <= 2; ++i)
    for (Index j = -2; j <= 2; ++j) {
      const double e = clamped(elevation, row + i, col + j);
      wetness += clamped(precipitation, row + i, col + j) - clamped(temperature, row + i, col + j);
      mean_elevation += e;
      gx += e * double(j);
      gy += e * double(i);
    }
  mean_elevation /= 25;

  // tau sums to zero over the years, so the least-squares slope is sum(tau evi) / sum(tau^2)
  double evi_mean = 0, greenup_mean = 0, tau_evi = 0, tau_tau = 0;
  for (Index t = 0; t < years_; ++t) {
    const SeriesYear s = series_at(row, col, t);
    const double tau = years_ > 1 ? double(t) / double(years_ - 1) - 0.5 : 0.0;
    evi_mean += s[SeriesFeature::evi];
    greenup_mean += s[SeriesFeature::greenup];
    tau_evi += tau * s[SeriesFeature::evi];
    tau_tau += tau * tau;
  }
  return {wetness / 25,
          (elevation(row, col) - mean_elevation) / 0.02,
          std::sqrt(gx * gx + gy * gy) / 50 / 0.02,
          evi_mean / double(years_),
          tau_tau > 0 ? tau_evi / tau_tau : 0.0,
          greenup_mean / double(years_)};
}

// Options check shared by simulate_region and simulate_soil_data.
inline void check_simulation_options(const SimulationOptions& o) {
  if (o.samples < 10) throw ConfigError("simulate: samples must be at least 10");
  if (!(o.test_fraction > 0 && o.test_fraction < 1))
    throw ConfigError("simulate: test_fraction must lie in (0, 1)");
  if (o.patch < 1 || o.patch % 2 == 0) throw ConfigError("simulate: patch must be odd and positive");
  if (o.years < 1) throw ConfigError("simulate: years must be at least 1");
  if (!(o.noise_sd >= 0) || !std::isfinite(o.noise_sd))
    throw ConfigError("simulate: noise_sd must be finite and non-negative");
  if (!(o.pixel_size > 0) || !std::isfinite(o.pixel_size))
    throw ConfigError("simulate: pixel_size must be finite and positive");
}

// Side G of the region for n sites: about one site per 50 pixels, at least 32.
inline Index simulated_region_size(Index samples) {
  return std::max<Index>(32, Index(std::ceil(std::sqrt(50.0 * double(samples)))));
}

// The region of simulate_soil_data(options): depends on samples, seed, years and pixel_size only.
inline SimulatedRegion simulate_region(const SimulationOptions& options) {
  check_simulation_options(options);
  return SimulatedRegion(simulated_region_size(options.samples), options.years, options.pixel_size,
                         Rng(options.seed).next());
}

struct SimulatedData {
  Tensor<float, 4> x_cnn;          // (n, 10, patch, patch) static covariates around each site
  Tensor<float, 3> x_lstm;         // (n, years, 12) EVI and phenology per year
  Tensor<float, 1> y;              // (n) SOC, g/kg
  Tensor<double, 2> coordinates;   // (n, 2) x, y of each site in metres
  std::vector<std::int64_t> train_index, test_index;  // ascending, disjoint, together 0..n-1
  std::vector<std::string> static_names, series_names;  // x_cnn channels, x_lstm features
};

namespace simulation_detail {

// n distinct pixels {row, col} at least `margin` pixels from the region's edge, in draw order.
inline std::vector<std::array<Index, 2>> sample_sites(Rng& rng, Index size, Index margin, Index n) {
  const Index inner = size - 2 * margin;
  if (inner * inner < n) throw ConfigError("simulate: patch too large for the region");
  std::vector<bool> taken(std::size_t(inner * inner), false);
  std::vector<std::array<Index, 2>> sites;
  while (Index(sites.size()) < n) {
    const auto cell = rng.below(std::uint64_t(inner * inner));
    if (taken[cell]) continue;
    taken[cell] = true;
    sites.push_back({margin + Index(cell) / inner, margin + Index(cell) % inner});
  }
  return sites;
}

// Random split of 0..n-1: round(n * test_fraction) test indices (at least 1, at most n - 1).
inline void split_indices(Rng& rng, Index n, double test_fraction, SimulatedData& data) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  rng.shuffle(order.begin(), order.end());
  const auto test_count = std::size_t(std::clamp<Index>(Index(std::lround(double(n) * test_fraction)), 1, n - 1));
  data.test_index.assign(order.begin(), order.begin() + std::ptrdiff_t(test_count));
  data.train_index.assign(order.begin() + std::ptrdiff_t(test_count), order.end());
  std::sort(data.test_index.begin(), data.test_index.end());
  std::sort(data.train_index.begin(), data.train_index.end());
}

// Writes site i at pixel (row, col) into x_cnn, x_lstm and coordinates of `data`.
inline void copy_site_covariates(const SimulatedRegion& region, Index row, Index col, Index i,
                                 SimulatedData& data) {
  const Index patch = data.x_cnn.dimension(2), half = patch / 2;
  for (Index k = 0; k < StaticField::count; ++k) {
    const auto& field = region.static_field(k);
    for (Index a = 0; a < patch; ++a)
      for (Index b = 0; b < patch; ++b) data.x_cnn(i, k, a, b) = float(field(row - half + a, col - half + b));
  }
  for (Index t = 0; t < region.years(); ++t) {
    const auto year = region.series_at(row, col, t);
    for (Index f = 0; f < SeriesFeature::count; ++f) data.x_lstm(i, t, f) = float(year[std::size_t(f)]);
  }
  const auto centre = region.pixel_centre(row, col);
  data.coordinates(i, 0) = centre[0];
  data.coordinates(i, 1) = centre[1];
}

}  // namespace simulation_detail

// The sampled data set: n sites drawn from simulate_region(options), their covariates, and
// SOC = max(0.5, truth + N(0, noise_sd^2)). Throws ConfigError for invalid options.
inline SimulatedData simulate_soil_data(const SimulationOptions& options) {
  const SimulatedRegion region = simulate_region(options);
  Rng rng(options.seed);
  rng.next();  // the region's seed
  const Index n = options.samples, patch = options.patch;
  const auto sites = simulation_detail::sample_sites(rng, region.size(), std::max<Index>(patch / 2, 2), n);

  SimulatedData data;
  data.x_cnn.resize(n, StaticField::count, patch, patch);
  data.x_lstm.resize(n, options.years, SeriesFeature::count);
  data.y.resize(n);
  data.coordinates.resize(n, 2);
  for (Index i = 0; i < n; ++i) {
    const auto [row, col] = sites[std::size_t(i)];
    simulation_detail::copy_site_covariates(region, row, col, i, data);
    data.y(i) = float(std::max(0.5, region.soc_truth_at(row, col) + options.noise_sd * rng.normal()));
  }
  simulation_detail::split_indices(rng, n, options.test_fraction, data);
  data.static_names = simulated_static_names();
  data.series_names = simulated_series_names();
  return data;
}

}  // namespace cnnlstm
