// The simulated region as GeoTIFFs (simulated_rasters.hpp), in DIR:
//   static.tif                 10 bands, the static covariates in x_cnn's channel order
//   static_00_elevation.tif .. the same covariates one per file, in channel order (band
//   static_09_wind_speed.tif   descriptions set), as users have them: dem.tif slope.tif ...
//   series_00_evi.tif ...      one file per series feature in x_lstm's feature order (EVI first,
//   series_11_cycles.tif       then the 11 phenology metrics), one band per year
//   soc_truth.tif              the noise-free SOC (g/kg)
//   rasters.json               the file lists, band names and where the nodata lies
//   samples.csv                the sampled sites: id, lon, lat (EPSG:4326), soc, the table soc
//                              extract starts from (the sites of soc simulate's arrays, same order)
// All in EPSG:32633 (UTM zone 33N), north up, with the region's origin and pixel size; Float32,
// nodata -9999, tiled 256 x 256, DEFLATE without a predictor (quicker to read back). A lake (a disc of nodata pixels in every file) and a cloud gap (NaN in the EVI of
// one year) give the mapping something to leave out. The sample table of soc simulate comes from
// the same region; the lake is painted onto the rasters only, so a few sites may lie in it.

#include "simulated_rasters.hpp"

#include "geotiff.hpp"
#include "output_files.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

namespace soc {
namespace {

using Grid = cnnlstm::SimulatedRegion::Grid;
constexpr double nodata = -9999.0;
constexpr int epsg = 32633;
constexpr GeoTiffLayout input_layout{256, false};  // inputs are read often: no predictor to undo

struct Disc {
  double row, col, radius;  // in pixels
  bool contains(Index r, Index c) const {
    const double dr = double(r) - row, dc = double(c) - col;
    return dr * dr + dc * dc <= radius * radius;
  }
  nlohmann::json json() const { return {{"row", row}, {"col", col}, {"radius", radius}}; }
};

Disc lake_of(Index g) { return {0.68 * double(g), 0.3 * double(g), std::max(2.0, 0.07 * double(g))}; }
Disc cloud_of(Index g) { return {0.25 * double(g), 0.72 * double(g), std::max(1.0, 0.03 * double(g))}; }

// A grid as float (rows, cols), with `fill` inside the disc.
std::vector<float> as_float(const Grid& grid, const Disc& hole, float fill) {
  std::vector<float> out(std::size_t(grid.size()));
  for (Index r = 0; r < grid.rows(); ++r)
    for (Index c = 0; c < grid.cols(); ++c) out[std::size_t(r * grid.cols() + c)] = hole.contains(r, c) ? fill : float(grid(r, c));
  return out;
}

GeoGrid region_grid(const cnnlstm::SimulatedRegion& region) {
  const double s = region.pixel_size();
  return {{region.size(), region.size()},
          {cnnlstm::SimulatedRegion::origin_x, s, 0, cnnlstm::SimulatedRegion::origin_y, 0, -s},
          projection_of_epsg(epsg)};
}

// static.tif (every channel) and one file per channel.
std::vector<std::string> write_statics(const cnnlstm::SimulatedRegion& region, const GeoGrid& grid, const OwnedFolder& dir) {
  const auto names = cnnlstm::simulated_static_names();
  GeoTiffWriter stack(dir.path("static.tif"), grid, names, nodata, input_layout);
  const PixelRect all{0, 0, region.size(), region.size()};
  std::vector<std::string> files;
  for (Index k = 0; k < cnnlstm::StaticField::count; ++k) {
    const auto band = as_float(region.static_field(k), lake_of(region.size()), float(nodata));
    stack.write_band(k, all, band.data());
    files.push_back(simulated_static_file(std::size_t(k), names[std::size_t(k)]));
    GeoTiffWriter single(dir.path(files.back()), grid, {names[std::size_t(k)]}, nodata, input_layout);
    single.write_band(0, all, band.data());
    single.commit();
    dir.wrote(files.back());
  }
  stack.commit();
  dir.wrote("static.tif");
  return files;
}

// samples.csv: the sites' id, lon, lat (EPSG:4326, from the region's UTM coordinates) and SOC.
void write_samples(const cnnlstm::SimulatedData& sites, const OwnedFolder& dir) {
  const Index n = sites.coordinates.dimension(0);
  std::vector<double> x(static_cast<std::size_t>(n)), y(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) x[std::size_t(i)] = sites.coordinates(i, 0), y[std::size_t(i)] = sites.coordinates(i, 1);
  to_longitude_latitude(epsg, x, y);
  std::ostringstream csv;
  csv.precision(12);
  csv << "id,lon,lat,soc\n";
  for (Index i = 0; i < n; ++i) csv << i << ',' << x[std::size_t(i)] << ',' << y[std::size_t(i)] << ',' << sites.y(i) << '\n';
  write_text_file(dir.path("samples.csv"), csv.str());
  dir.wrote("samples.csv");
}

// Year t of every feature: (features, G, G).
std::vector<float> series_year(const cnnlstm::SimulatedRegion& region, Index t) {
  const Index g = region.size(), features = cnnlstm::SeriesFeature::count;
  std::vector<float> out(std::size_t(features * g * g));
#pragma omp parallel for schedule(dynamic)
  for (Index r = 0; r < g; ++r)
    for (Index c = 0; c < g; ++c) {
      const auto year = region.series_at(r, c, t);
      for (Index f = 0; f < features; ++f) out[std::size_t((f * g + r) * g + c)] = float(year[std::size_t(f)]);
    }
  return out;
}

std::vector<std::string> write_series(const cnnlstm::SimulatedRegion& region, const GeoGrid& grid, const OwnedFolder& dir) {
  const auto names = cnnlstm::simulated_series_names();
  std::vector<std::string> years, files;
  for (Index t = 0; t < region.years(); ++t) years.push_back("year " + std::to_string(t + 1));
  std::vector<std::unique_ptr<GeoTiffWriter>> writers;
  for (std::size_t f = 0; f < names.size(); ++f) {
    files.push_back(simulated_series_file(f, names[f]));
    writers.push_back(std::make_unique<GeoTiffWriter>(dir.path(files.back()), grid, years, nodata, input_layout));
  }
  const Index g = region.size(), gap_year = std::min<Index>(3, region.years() - 1);
  const Disc lake = lake_of(g), cloud = cloud_of(g);
  const PixelRect all{0, 0, g, g};
  for (Index t = 0; t < region.years(); ++t) {
    auto values = series_year(region, t);
    for (std::size_t f = 0; f < names.size(); ++f) {
      float* band = values.data() + f * std::size_t(g * g);
      for (Index r = 0; r < g; ++r)
        for (Index c = 0; c < g; ++c) {
          if (lake.contains(r, c)) band[r * g + c] = float(nodata);
          else if (f == cnnlstm::SeriesFeature::evi && t == gap_year && cloud.contains(r, c)) band[r * g + c] = std::nanf("");
        }
      writers[f]->write_band(t, all, band);
    }
  }
  for (std::size_t f = 0; f < files.size(); ++f) {
    writers[f]->commit();
    dir.wrote(files[f]);
  }
  return files;
}

void write_truth(const cnnlstm::SimulatedRegion& region, const GeoGrid& grid, const OwnedFolder& dir) {
  const Index g = region.size();
  Grid truth(g, g);
#pragma omp parallel for schedule(dynamic)
  for (Index r = 0; r < g; ++r)
    for (Index c = 0; c < g; ++c) truth(r, c) = region.soc_truth_at(r, c);
  GeoTiffWriter file(dir.path("soc_truth.tif"), grid, {"soc_truth (g/kg)"}, nodata, input_layout);
  file.write_band(0, {0, 0, g, g}, as_float(truth, lake_of(g), float(nodata)).data());
  file.commit();
  dir.wrote("soc_truth.tif");
}

}  // namespace

void write_simulated_rasters(const cnnlstm::SimulatedRegion& region, const cnnlstm::SimulatedData& sites, const OwnedFolder& dir) {
  const GeoGrid grid = region_grid(region);
  const auto static_files = write_statics(region, grid, dir);
  const auto series = write_series(region, grid, dir);
  write_truth(region, grid, dir);
  const nlohmann::json description{
      {"crs", "EPSG:" + std::to_string(epsg)},
      {"geotransform", grid.geotransform},
      {"size", {region.size(), region.size()}},
      {"nodata", nodata},
      {"static", "static.tif"},
      {"static_bands", cnnlstm::simulated_static_names()},
      {"static_files", static_files},
      {"samples", "samples.csv"},
      {"samples_crs", "EPSG:4326"},
      {"series", series},
      {"years", region.years()},
      {"truth", "soc_truth.tif"},
      {"lake", lake_of(region.size()).json()},
      {"cloud_gap", {{"feature", "evi"}, {"year", std::min<Index>(3, region.years() - 1) + 1}, {"disc", cloud_of(region.size()).json()}}}};
  write_text_file(dir.path("rasters.json"), description.dump(2) + "\n");
  dir.wrote("rasters.json");
  write_samples(sites, dir);
  std::cerr << "soc simulate: rasters of " << region.size() << " x " << region.size() << " pixels (static.tif and "
            << static_files.size() << " single-band static files, " << series.size()
            << " series files, soc_truth.tif) and samples.csv in lon/lat -> " << dir.folder() << "\n";
}

}  // namespace soc
