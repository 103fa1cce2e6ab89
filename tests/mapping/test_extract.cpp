// soc extract's logic on GeoTIFFs and sample tables made here: sites in lon/lat placed on UTM
// rasters, the reasons sites are left out, and the proof that a site's arrays are the inputs soc
// map gives its pixel (the model's prediction on the extracted arrays equals the map there).
// Bad input: coordinate columns not found, a raster without a CRS, a layer that is not points,
// projected coordinates given as lon/lat.

#include "mapping_test_support.hpp"
#include "site_extraction.hpp"

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace mapping_test;

namespace {

constexpr Index rows = 17, cols = 22, years = 3, channels = 10, features = 12, patch = 5;
constexpr std::array<double, 6> geotransform{500000, 250, 0, 4400000, 0, -250};

constexpr TestGrid grid{rows, cols, geotransform};

// Static channel b: a hole of nodata at (8, 14) in channel 2.
float static_value(Index b, Index r, Index c) {
  if (b == 2 && r == 8 && c == 14) return -9999;
  return float(0.5 + 0.4 * std::sin(0.3 * double(r) + 0.7 * double(b)) * std::cos(0.2 * double(c) - 0.1 * double(b)));
}
// Series feature f in year t: NaN at (12, 5) in the EVI of year 1.
float series_value(Index f, Index t, Index r, Index c) {
  if (f == 0 && t == 1 && r == 12 && c == 5) return std::nanf("");
  return float(0.5 + 0.3 * std::cos(0.1 * double(r + c) + 0.5 * double(f) + 0.3 * double(t)));
}

struct Rasters {
  std::vector<std::string> statics, series;
};

// One file per static channel, one per series feature.
Rasters write_rasters(const TempDir& dir) {
  Rasters out;
  for (Index b = 0; b < channels; ++b) {
    out.statics.push_back(dir / ("static_" + std::to_string(b) + ".tif"));
    write_geotiff(out.statics.back(), grid, GDT_Float32, every_band(1, {-9999.0}),
                  [b](Index, Index r, Index c) { return static_value(b, r, c); });
  }
  for (Index f = 0; f < features; ++f) {
    out.series.push_back(dir / ("series_" + std::to_string(f) + ".tif"));
    write_geotiff(out.series.back(), grid, GDT_Float32, every_band(years, {-9999.0}),
                  [f](Index t, Index r, Index c) { return series_value(f, t, r, c); });
  }
  return out;
}

// The longitude and latitude of pixel (r, c)'s centre, shifted by (dx, dy) metres.
std::pair<double, double> lon_lat_of(double r, double c, double dx = 0, double dy = 0) {
  double x = geotransform[0] + (c + 0.5) * geotransform[1] + dx, y = geotransform[3] + (r + 0.5) * geotransform[5] + dy;
  OGRSpatialReferenceH utm = srs_of(32633), wgs = srs_of(4326);
  OGRCoordinateTransformationH t = OCTNewCoordinateTransformation(utm, wgs);
  REQUIRE(OCTTransform(t, 1, &x, &y, nullptr));
  OCTDestroyCoordinateTransformation(t);
  OSRDestroySpatialReference(utm);
  OSRDestroySpatialReference(wgs);
  return {x, y};
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

soc::ExtractOptions options_for(const Rasters& r, const std::string& samples) {
  soc::ExtractOptions o;
  o.samples.path = samples;
  o.samples.targets = {"soc"};
  o.statics = r.statics;
  o.series = r.series;
  o.patch = patch;
  return o;
}

// The model's predictions on the extracted arrays: (kept).
std::vector<float> predict_extracted(const std::string& model_path, const soc::Extraction& e) {
  auto loaded = cnnlstm::load_model<float>(model_path);
  cnnlstm::Tensor<float, 4> x_cnn(e.kept, e.channels, e.patch, e.patch);
  cnnlstm::Tensor<float, 3> x_lstm(e.kept, e.years, e.features);
  std::copy(e.x_cnn.begin(), e.x_cnn.end(), x_cnn.data());
  std::copy(e.x_lstm.begin(), e.x_lstm.end(), x_lstm.data());
  std::vector<float> out;
  auto& model = std::get<cnnlstm::CnnLstmModel<float>>(loaded.model);
  const auto y = model.predict({x_cnn, x_lstm});
  for (Index i = 0; i < e.kept; ++i) out.push_back(y(i, 0));
  return out;
}

}  // namespace

TEST_CASE("sites in lon/lat take the UTM pixel that holds them; a site's arrays are what soc map predicts its pixel from") {
  const TempDir dir;
  const Rasters r = write_rasters(dir);
  // every pixel, at a point off its centre (the pixel that holds it, not the nearest centre)
  std::ostringstream csv;
  csv.precision(15);
  csv << "ID,Lon,Lat,soc\n";
  for (Index row = 0; row < rows; ++row)
    for (Index col = 0; col < cols; ++col) {
      const auto [lon, lat] = lon_lat_of(double(row), double(col), 100, -100);
      csv << row * cols + col << ',' << lon << ',' << lat << ',' << double(row + col) << '\n';
    }
  write_text(dir / "samples.csv", csv.str());
  const soc::Extraction e = soc::extract_sites(options_for(r, dir / "samples.csv"));
  REQUIRE(e.sites.size() == std::size_t(rows * cols));
  CHECK(e.x_name == "Lon");
  Index misplaced = 0;
  for (Index i = 0; i < rows * cols; ++i) misplaced += e.sites[std::size_t(i)].row != i / cols || e.sites[std::size_t(i)].col != i % cols;
  CHECK(misplaced == 0);
  // interior 13 x 18 = 234, minus 25 windows touching (8, 14) and the series gap at (12, 5)
  CHECK(e.kept == 234 - 25 - 1);
  CHECK(e.summary() == "208 of 374 sites kept; 25 with nodata in their window, 1 with nodata in their series, "
                       "140 with a window crossing the raster's edge");
  CHECK(soc::to_string(e.sites[std::size_t(8 * cols + 14)].status) == "nodata in its window");
  CHECK(soc::to_string(e.sites[std::size_t(12 * cols + 5)].status) == "nodata in its series");
  CHECK(e.sites[0].status == soc::SiteStatus::edge);
  CHECK(e.channel_names[3] == "static_3");
  CHECK(e.feature_names[0] == "series_0");

  // the coordinates are the sites' own, in the rasters' CRS
  const soc::SiteOutcome& some = e.sites[std::size_t(5 * cols + 9)];
  REQUIRE(some.array_row >= 0);
  CHECK(std::abs(e.coords[std::size_t(2 * some.array_row)] - (geotransform[0] + 9.5 * 250 + 100)) < 1e-3);
  CHECK(std::abs(e.coords[std::size_t(2 * some.array_row + 1)] - (geotransform[3] - 5.5 * 250 - 100)) < 1e-3);
  CHECK(e.y[std::size_t(some.array_row)] == 14.0f);

  // the model on the extracted arrays gives the map's value at each kept site's pixel
  const std::string model = write_model(dir, "CNN-LSTM_evi_lsp", 23);
  soc::make_map(map_options({model}, r.statics, r.series, dir / "map.tif"));
  const auto map = RasterFile(dir / "map.tif").band(1);
  const auto predicted = predict_extracted(model, e);
  Index mismatches = 0, compared = 0;
  for (const soc::SiteOutcome& s : e.sites) {
    const float at_pixel = map[std::size_t(s.row * cols + s.col)];
    if (s.array_row < 0) {
      mismatches += at_pixel != float(soc::map_nodata);  // left out where the map has nodata
      continue;
    }
    const float got = predicted[std::size_t(s.array_row)];
    mismatches += std::abs(got - at_pixel) > 1e-5f * std::max(1.0f, std::abs(at_pixel));
    ++compared;
  }
  CHECK(compared == 208);
  CHECK(mismatches == 0);
}

TEST_CASE("sites outside the rasters, without coordinates or target, or with a duplicated id are reported and left out") {
  const TempDir dir;
  const Rasters r = write_rasters(dir);
  const auto [lon, lat] = lon_lat_of(6, 9);
  const auto [far_lon, far_lat] = lon_lat_of(6, 9, 0, 50000);  // 50 km north of the rasters
  std::ostringstream csv;
  csv.precision(15);
  csv << "site,x,y,soc,depth\n"
      << "a," << lon << ',' << lat << ",12,1\n"
      << "b," << far_lon << ',' << far_lat << ",12,1\n"
      << "c,," << lat << ",12,1\n"
      << "d," << lon << ',' << lat << ",NA,1\n"
      << "e," << lon << ',' << lat << ",12,\n"
      << "f," << lon << ',' << lat << ",12,1\n"
      << "f," << lon << ',' << lat << ",13,1\n";
  write_text(dir / "samples.csv", csv.str());
  auto o = options_for(r, dir / "samples.csv");
  o.samples.id_column = "site";
  o.samples.crs = "EPSG:4326";  // x and y columns: the CRS must be given
  const auto e = soc::extract_sites(o);
  CHECK(e.summary() == "2 of 7 sites kept; 1 outside the rasters, 1 without coordinates, 1 without a target, 2 with a duplicated id");
  CHECK(e.sites[1].status == soc::SiteStatus::outside);
  CHECK(e.sites[2].status == soc::SiteStatus::no_coordinates);
  CHECK(e.sites[3].status == soc::SiteStatus::missing_target);
  CHECK(e.sites[5].status == soc::SiteStatus::duplicated_id);
  CHECK(e.sites[6].status == soc::SiteStatus::duplicated_id);
  // two targets: a site lacking either is left out
  o.samples.targets = {"soc", "depth"};
  const auto two = soc::extract_sites(o);
  CHECK(two.kept == 1);
  CHECK(two.targets == 2);
  CHECK(two.y == std::vector<float>{12, 1});
  // x/y columns without --crs: an error, not a guess
  o.samples.crs.clear();
  CHECK_THROWS_WITH_AS(soc::extract_sites(o), doctest::Contains("need their CRS: give --crs EPSG:N"), cnnlstm::ConfigError);
}

TEST_CASE("bad sample tables and rasters are errors naming the problem") {
  const TempDir dir;
  const Rasters r = write_rasters(dir);
  write_text(dir / "columns.csv", "id,long,latt,soc\n1,15,39,12\n");
  CHECK_THROWS_WITH_AS(soc::extract_sites(options_for(r, dir / "columns.csv")),
                       doctest::Contains("no coordinate columns found (looked for lon/lat, longitude/latitude and x/y, in any "
                                         "case) (did you mean 'long' for 'lon'?); the columns are id, long, latt, soc"),
                       cnnlstm::DataError);
  write_text(dir / "target.csv", "lon,lat,SOC_gkg\n15,39,12\n");
  CHECK_THROWS_WITH_AS(soc::extract_sites(options_for(r, dir / "target.csv")),
                       doctest::Contains("no column named 'soc' (--target) (did you mean 'SOC_gkg'?)"), cnnlstm::DataError);
  // UTM metres in lon/lat columns
  write_text(dir / "projected.csv", "lon,lat,soc\n501100,4398900,12\n");
  CHECK_THROWS_WITH_AS(soc::extract_sites(options_for(r, dir / "projected.csv")),
                       doctest::Contains("line 2: lon 501100, lat 4.3989e+06 is not a longitude and latitude"), cnnlstm::DataError);
  // ... which --crs places correctly
  auto o = options_for(r, dir / "projected.csv");
  o.samples.crs = "EPSG:32633";
  const auto placed = soc::extract_sites(o);
  CHECK(placed.sites[0].row == 4);
  CHECK(placed.sites[0].col == 4);

  // a raster without a CRS
  Rasters no_crs = r;
  no_crs.statics[0] = dir / "no_crs.tif";
  write_geotiff(no_crs.statics[0], {rows, cols, geotransform, 0}, GDT_Float32, every_band(1, {-9999.0}),
                [](Index, Index rr, Index c) { return static_value(0, rr, c); });
  const auto [lon, lat] = lon_lat_of(6, 9);
  std::ostringstream good;
  good.precision(15);
  good << "lon,lat,soc\n" << lon << ',' << lat << ",12\n";
  write_text(dir / "good.csv", good.str());
  CHECK_THROWS_AS(soc::extract_sites(options_for(no_crs, dir / "good.csv")), cnnlstm::DataError);
  no_crs.statics = {no_crs.statics[0]};
  no_crs.series.clear();
  CHECK_THROWS_WITH_AS(soc::extract_sites(options_for(no_crs, dir / "good.csv")),
                       doctest::Contains("no_crs.tif: the raster has no coordinate reference system"), cnnlstm::DataError);
}

TEST_CASE("a GeoJSON point layer gives the sites of the same table as CSV; a polygon layer is an error") {
  const TempDir dir;
  const Rasters r = write_rasters(dir);
  const auto [lon, lat] = lon_lat_of(6, 9);
  std::ostringstream points;
  points.precision(15);
  points << R"({"type": "FeatureCollection", "features": [)"
         << R"({"type": "Feature", "properties": {"id": "p1", "soc": 12.5}, "geometry": {"type": "Point", "coordinates": [)" << lon
         << ", " << lat << "]}},"
         << R"({"type": "Feature", "properties": {"id": "p2", "soc": null}, "geometry": {"type": "Point", "coordinates": [)" << lon
         << ", " << lat << "]}}]}";
  write_text(dir / "sites.geojson", points.str());
  const auto e = soc::extract_sites(options_for(r, dir / "sites.geojson"));
  REQUIRE(e.sites.size() == 2);
  CHECK(e.sites[0].site.id == "p1");
  CHECK(e.sites[0].row == 6);
  CHECK(e.sites[0].col == 9);
  CHECK(e.y == std::vector<float>{12.5f});
  CHECK(e.sites[1].status == soc::SiteStatus::missing_target);

  write_text(dir / "fields.geojson",
             R"({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"soc": 1}, "geometry": )"
             R"({"type": "Polygon", "coordinates": [[[15, 39], [15.1, 39], [15.1, 39.1], [15, 39]]]}}]})");
  CHECK_THROWS_WITH_AS(soc::extract_sites(options_for(r, dir / "fields.geojson")), doctest::Contains("is a Polygon, not a point"),
                       cnnlstm::DataError);
}
