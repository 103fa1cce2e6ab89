// soc map's pipeline on GeoTIFFs made here with GDAL: georeferencing and format of the map, where
// nodata goes (edges, a nodata hole, NaN, a gap in a series), every predicted pixel against the
// model's predict() on a window built by hand, ensembles, reflect edges, and inputs that disagree.

#include "geotiff.hpp"
#include "mapping_test_support.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

using namespace mapping_test;
namespace fs = std::filesystem;

namespace {

constexpr Index rows = 23, cols = 31, years = 4, channels = 10, features = 12, patch = 5;
constexpr std::array<double, 6> geotransform{500000, 250, 0, 4400000, 0, -250};
const float not_a_number = std::numeric_limits<float>::quiet_NaN();

constexpr TestGrid grid{rows, cols, geotransform};

// The inputs: static band b and series feature f in year t at (r, c), with their nodata.
float static_value(Index b, Index r, Index c) {
  if (b == 3 && r == 10 && c == 12) return -9999;  // band 3's nodata value
  if (b == 7 && r == 1 && c == 25) return not_a_number;
  return float(0.5 + 0.4 * std::sin(0.3 * double(r) + 0.7 * double(b)) * std::cos(0.2 * double(c) - 0.1 * double(b)));
}
float series_value(Index f, Index t, Index r, Index c) {
  if (f == 6 && t == 2 && r == 15 && c == 20) return -9999;  // feature 6's nodata value in year 2
  if (f == 0 && t == 0 && r == 18 && c == 5) return not_a_number;
  return float(0.5 + 0.3 * std::cos(0.1 * double(r + c) + 0.5 * double(f) + 0.3 * double(t)));
}
bool static_bad(Index r, Index c) { return (r == 10 && c == 12) || (r == 1 && c == 25); }
bool series_bad(Index r, Index c) { return (r == 15 && c == 20) || (r == 18 && c == 5); }

struct Inputs {
  std::string statics;
  std::vector<std::string> series;
};

Inputs write_inputs(const TempDir& dir) {
  Inputs in{dir / "static.tif", {}};
  std::vector<BandTags> static_bands = every_band(channels, {-9999.0});
  static_bands[7].nodata = std::nullopt;  // NaN is nodata without being declared
  write_geotiff(in.statics, grid, GDT_Float32, static_bands, static_value);
  for (Index f = 0; f < features; ++f) {
    in.series.push_back(dir / ("series_" + std::to_string(f) + ".tif"));
    write_geotiff(in.series.back(), grid, GDT_Float32, every_band(years, {-9999.0}),
                  [f](Index t, Index r, Index c) { return series_value(f, t, r, c); });
  }
  return in;
}

// Position along an axis of n pixels, mirrored like numpy's 'reflect'.
Index reflect(Index i, Index n) {
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

// Whether (r, c) gets a prediction, by the documented rule.
bool expected_valid(Index r, Index c, cnnlstm::EdgeMode edge) {
  const Index h = patch / 2;
  if (edge == cnnlstm::EdgeMode::nodata && (r < h || c < h || r >= rows - h || c >= cols - h)) return false;
  for (Index a = -h; a <= h; ++a)
    for (Index b = -h; b <= h; ++b)
      if (static_bad(reflect(r + a, rows), reflect(c + b, cols))) return false;
  return !series_bad(r, c);
}

// The model's predictions for the given pixels, from windows built here: (pixels).
std::vector<double> predict_by_hand(const std::string& model_path, const std::vector<std::pair<Index, Index>>& pixels,
                                    Index output = 0) {
  auto loaded = cnnlstm::load_model<float>(model_path);
  const auto n = Index(pixels.size());
  cnnlstm::Tensor<float, 4> x_cnn(n, channels, patch, patch);
  const Index wanted = loaded.spec.lstm ? loaded.spec.lstm->input_size : features;
  const Index first = wanted == features ? 0 : wanted == 1 ? 0 : 1;
  cnnlstm::Tensor<float, 3> x_lstm(n, years, wanted);
  for (Index i = 0; i < n; ++i) {
    const auto [r, c] = pixels[std::size_t(i)];
    for (Index k = 0; k < channels; ++k)
      for (Index a = 0; a < patch; ++a)
        for (Index b = 0; b < patch; ++b)
          x_cnn(i, k, a, b) = static_value(k, reflect(r - patch / 2 + a, rows), reflect(c - patch / 2 + b, cols));
    for (Index t = 0; t < years; ++t)
      for (Index f = 0; f < wanted; ++f) x_lstm(i, t, f) = series_value(first + f, t, r, c);
  }
  std::vector<double> out;
  std::visit(
      [&](auto& model) {
        using Model = std::decay_t<decltype(model)>;
        typename Model::Inputs inputs;
        if constexpr (std::is_same_v<Model, cnnlstm::CnnModel<float>>) inputs = {x_cnn};
        else if constexpr (std::is_same_v<Model, cnnlstm::LstmModel<float>>) inputs = {x_lstm};
        else inputs = {x_cnn, x_lstm};
        const auto y = model.predict(inputs);
        for (Index i = 0; i < n; ++i) out.push_back(y(i, output));
      },
      loaded.model);
  return out;
}

bool close(double got, double expected) { return std::abs(got - expected) <= 1e-5 * std::max(1.0, std::abs(expected)); }

soc::MapOptions options_for(const Inputs& in, std::vector<std::string> models, const std::string& out) {
  return map_options(std::move(models), {in.statics}, in.series, out);
}

// Checks every pixel of band 1 against the rule and the model; returns the number predicted.
Index check_pixels(const std::vector<float>& band, const std::string& model, cnnlstm::EdgeMode edge, Index output = 0) {
  std::vector<std::pair<Index, Index>> valid;
  Index wrong_nodata = 0;
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < cols; ++c) {
      const float v = band[std::size_t(r * cols + c)];
      if (expected_valid(r, c, edge)) valid.emplace_back(r, c);
      else wrong_nodata += v != float(soc::map_nodata);
    }
  CHECK(wrong_nodata == 0);
  const auto expected = predict_by_hand(model, valid, output);
  Index mismatches = 0;
  for (std::size_t i = 0; i < valid.size(); ++i)
    mismatches += !close(band[std::size_t(valid[i].first * cols + valid[i].second)], expected[i]);
  CHECK(mismatches == 0);
  return Index(valid.size());
}

std::size_t files_in(const fs::path& dir) {
  return std::size_t(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}));
}

}  // namespace

TEST_CASE("a map has the inputs' georeferencing, a tiled DEFLATE Float32 layout and nodata -9999") {
  const TempDir dir;
  const Inputs in = write_inputs(dir);
  const std::string model = write_model(dir, "CNN-LSTM_evi_lsp", 7);
  const auto summary = soc::make_map(options_for(in, {model}, dir / "map.tif"));
  CHECK(summary.pixels == rows * cols);
  const RasterFile map(dir / "map.tif");
  CHECK(GDALGetRasterXSize(map.ds) == cols);
  CHECK(GDALGetRasterYSize(map.ds) == rows);
  std::array<double, 6> g{};
  REQUIRE(GDALGetGeoTransform(map.ds, g.data()) == CE_None);
  for (std::size_t i = 0; i < 6; ++i) CHECK(g[i] == geotransform[i]);
  OGRSpatialReferenceH got = OSRNewSpatialReference(GDALGetProjectionRef(map.ds));
  OGRSpatialReferenceH want = OSRNewSpatialReference(wkt_of(32633).c_str());
  CHECK(OSRIsSame(got, want));
  OSRDestroySpatialReference(got);
  OSRDestroySpatialReference(want);
  REQUIRE(map.bands() == 1);
  GDALRasterBandH band = GDALGetRasterBand(map.ds, 1);
  CHECK(GDALGetRasterDataType(band) == GDT_Float32);
  int has_nodata = 0;
  CHECK(GDALGetRasterNoDataValue(band, &has_nodata) == -9999.0);
  CHECK(has_nodata);
  CHECK(map.description(1) == "prediction");
  const char* compression = GDALGetMetadataItem(map.ds, "COMPRESSION", "IMAGE_STRUCTURE");
  REQUIRE(compression != nullptr);
  CHECK(std::string(compression) == "DEFLATE");
  int block_x = 0, block_y = 0;
  GDALGetBlockSize(band, &block_x, &block_y);
  CHECK(block_x == 16);  // the tiles are the blocks
  CHECK(block_y == 16);
  CHECK(files_in(dir.path) == 1 + features + 2);  // inputs, model, map: no temporary left behind
}

TEST_CASE("edge mode nodata: edges, windows touching a nodata value or NaN, and series gaps are nodata; "
          "every other pixel equals predict() on its window") {
  const TempDir dir;
  const Inputs in = write_inputs(dir);
  const std::string model = write_model(dir, "CNN-LSTM_evi_lsp", 11);
  const auto summary = soc::make_map(options_for(in, {model}, dir / "map.tif"));
  const auto band = RasterFile(dir / "map.tif").band(1);
  const Index predicted = check_pixels(band, model, cnnlstm::EdgeMode::nodata);
  // interior 19 x 27 = 513, minus the 25 windows touching (10, 12), the 10 interior ones touching
  // (1, 25) (rows 2..3, columns 23..27) and the 2 series gaps
  CHECK(predicted == 513 - 25 - 10 - 2);
  CHECK(summary.predicted == predicted);
  CHECK(band[std::size_t(0)] == float(soc::map_nodata));
  CHECK(band[std::size_t(10 * cols + 12)] == float(soc::map_nodata));
  CHECK(band[std::size_t(15 * cols + 20)] == float(soc::map_nodata));
  CHECK(band[std::size_t(15 * cols + 21)] != float(soc::map_nodata));
}

TEST_CASE("edge mode reflect predicts edge pixels from mirrored windows") {
  const TempDir dir;
  const Inputs in = write_inputs(dir);
  const std::string model = write_model(dir, "CNN-LSTM_evi_lsp", 3);
  auto o = options_for(in, {model}, dir / "map.tif");
  o.edge = cnnlstm::EdgeMode::reflect;
  o.block = 17;
  CHECK_THROWS_WITH_AS(soc::make_map(o), doctest::Contains("--block must be a multiple of 16"), cnnlstm::ConfigError);
  o.block = 32;  // one block
  soc::make_map(o);
  const auto band = RasterFile(dir / "map.tif").band(1);
  const Index predicted = check_pixels(band, model, cnnlstm::EdgeMode::reflect);
  CHECK(band[0] != float(soc::map_nodata));
  CHECK(predicted == rows * cols - 25 - 20 - 2);  // (1, 25) is touched from rows 0..3: 20 pixels
}

TEST_CASE("several models give the mean and the 5%, 50% and 95% quantiles across them") {
  const TempDir dir;
  const Inputs in = write_inputs(dir);
  const std::vector<std::string> models{write_model(dir, "CNN-LSTM_evi_lsp", 1), write_model(dir, "CNN-LSTM_evi_lsp", 2),
                                        write_model(dir, "CNN-LSTM_evi_lsp", 3)};
  const auto summary = soc::make_map(options_for(in, models, dir / "ensemble.tif"));
  CHECK(summary.bands == std::vector<std::string>{"mean", "Q0.05", "Q0.5", "Q0.95"});
  const RasterFile map(dir / "ensemble.tif");
  REQUIRE(map.bands() == 4);
  CHECK(map.description(2) == "Q0.05");
  CHECK(map.description(4) == "Q0.95");
  const std::vector<std::pair<Index, Index>> pixels{{2, 2}, {11, 17}, {20, 28}};
  std::vector<std::vector<double>> members;
  for (const auto& m : models) members.push_back(predict_by_hand(m, pixels));
  const auto mean = map.band(1), q05 = map.band(2), q50 = map.band(3), q95 = map.band(4);
  for (std::size_t i = 0; i < pixels.size(); ++i) {
    std::vector<double> p{members[0][i], members[1][i], members[2][i]};
    std::sort(p.begin(), p.end());
    const std::size_t at = std::size_t(pixels[i].first * cols + pixels[i].second);
    CHECK(close(mean[at], (p[0] + p[1] + p[2]) / 3));
    CHECK(close(q05[at], p[0] + 0.1 * (p[1] - p[0])));  // position 0.05 * (3 - 1)
    CHECK(close(q50[at], p[1]));
    CHECK(close(q95[at], p[1] + 0.9 * (p[2] - p[1])));
  }
  CHECK(q05[0] == float(soc::map_nodata));
  CHECK(q95[0] == float(soc::map_nodata));
}

TEST_CASE("an ensemble calibrated by soc train --ensemble widens Q0.05 and Q0.95 to its conformal interval") {
  const TempDir dir;
  const Inputs in = write_inputs(dir);
  // the two member files of an older soc train --ensemble run: each says its run's size, its
  // member number and the run's calibration
  const auto member = [](int k) {
    return std::map<std::string, std::string>{
        {"ensemble", R"({"size": 2, "member": )" + std::to_string(k) +
                         R"(, "conformal": {"alpha": 0.1, "q": 1.5, "delta": 0.25, "n": 40}})"}};
  };
  const std::vector<std::string> models{write_model(dir, "CNN-LSTM_evi_lsp", 1, member(1)),
                                        write_model(dir, "CNN-LSTM_evi_lsp", 2, member(2))};
  soc::make_map(options_for(in, models, dir / "calibrated.tif"));
  const RasterFile map(dir / "calibrated.tif");
  const std::vector<std::pair<Index, Index>> pixels{{5, 5}, {12, 20}};
  const auto a = predict_by_hand(models[0], pixels), b = predict_by_hand(models[1], pixels);
  const auto mean = map.band(1), q05 = map.band(2), q95 = map.band(4);
  for (std::size_t i = 0; i < pixels.size(); ++i) {
    const double m = (a[i] + b[i]) / 2, sd = std::abs(a[i] - b[i]) / std::sqrt(2.0);
    const std::size_t at = std::size_t(pixels[i].first * cols + pixels[i].second);
    CHECK(close(mean[at], m));
    CHECK(close(q05[at], m - 1.5 * (sd + 0.25)));
    CHECK(close(q95[at], m + 1.5 * (sd + 0.25)));
  }
  // members of different architectures are not one ensemble
  auto o = options_for(in, {models[0], write_model(dir, "CNN-LSTM_evi", 3)}, dir / "mixed.tif");
  CHECK_THROWS_AS(soc::make_map(o), cnnlstm::ShapeError);
}

TEST_CASE("an LSTM_evi model reads the EVI file of twelve; its map needs no static stack") {
  const TempDir dir;
  const Inputs in = write_inputs(dir);
  const std::string model = write_model(dir, "LSTM_evi", 5);
  auto o = options_for(in, {model}, dir / "evi.tif");
  o.statics.clear();
  soc::make_map(o);
  const auto band = RasterFile(dir / "evi.tif").band(1);
  std::vector<std::pair<Index, Index>> valid;
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < cols; ++c)
      if (!series_bad(r, c)) valid.emplace_back(r, c);
  const auto expected = predict_by_hand(model, valid);
  Index mismatches = 0;
  for (std::size_t i = 0; i < valid.size(); ++i) mismatches += !close(band[std::size_t(valid[i].first * cols + valid[i].second)], expected[i]);
  CHECK(mismatches == 0);
  CHECK(band[std::size_t(18 * cols + 5)] == float(soc::map_nodata));
}

TEST_CASE("inputs that disagree in size, geotransform, projection or band count are errors naming the file") {
  const TempDir dir;
  const Inputs in = write_inputs(dir);
  const std::string model = write_model(dir, "CNN-LSTM_evi_lsp", 7);
  const auto series_value_0 = [](Index t, Index r, Index c) { return series_value(0, t, r, c); };
  const std::vector<BandTags> undeclared = every_band(years);  // no nodata value
  const auto fails_with = [&](const std::string& file, const std::string& fragment) {
    auto o = options_for(in, {model}, dir / "bad.tif");
    o.series[3] = file;
    try {
      soc::make_map(o);
      FAIL("no error for " << file);
    } catch (const cnnlstm::Error& e) {
      const std::string what = e.what();
      CHECK_MESSAGE(what.find(file) != std::string::npos, what);
      CHECK_MESSAGE(what.find(fragment) != std::string::npos, what);
    }
    CHECK(!fs::exists(dir / "bad.tif"));
  };
  write_geotiff(dir / "short.tif", {rows - 1, cols, geotransform}, GDT_Float32, undeclared, series_value_0);
  fails_with(dir / "short.tif", "size 31 x 22 (columns x rows) instead of 31 x 23");
  write_geotiff(dir / "shifted.tif", {rows, cols, {500250, 250, 0, 4400000, 0, -250}}, GDT_Float32, undeclared, series_value_0);
  fails_with(dir / "shifted.tif", "geotransform (500250, 250");
  write_geotiff(dir / "zone34.tif", {rows, cols, geotransform, 32634}, GDT_Float32, undeclared, series_value_0);
  fails_with(dir / "zone34.tif", "projection WGS 84 / UTM zone 34N instead of WGS 84 / UTM zone 33N");
  write_geotiff(dir / "three_years.tif", grid, GDT_Float32, every_band(3), series_value_0);
  fails_with(dir / "three_years.tif", "3 bands (years)");

  auto o = options_for(in, {model}, dir / "bad.tif");
  o.statics = {in.series[0]};  // 4 bands, not 10
  CHECK_THROWS_WITH_AS(soc::make_map(o), doctest::Contains("4 bands, but the models read 10 static covariates"),
                       cnnlstm::ShapeError);
  o = options_for(in, {model}, dir / "bad.tif");
  o.series.pop_back();
  CHECK_THROWS_WITH_AS(soc::make_map(o), doctest::Contains("reads 12 series features per year, 11 series files"),
                       cnnlstm::ShapeError);
  o = options_for(in, {model}, dir / "bad.tif");
  o.statics.clear();
  CHECK_THROWS_AS(soc::make_map(o), cnnlstm::ConfigError);
  CHECK(!fs::exists(dir / "bad.tif"));
}

TEST_CASE("a GeoTIFF never committed leaves nothing behind; a quick-look PNG is written") {
  const TempDir dir;
  {
    soc::GeoTiffWriter writer(dir / "unfinished.tif", {{rows, cols}, geotransform, wkt_of(32633)}, {"a"}, -9999.0);
    std::vector<float> values(std::size_t(rows * cols), 1.0f);
    writer.write({0, 0, rows, cols}, values.data());
  }
  CHECK(files_in(dir.path) == 0);

  const Inputs in = write_inputs(dir);
  const std::string model = write_model(dir, "CNN-LSTM_evi_lsp", 7);
  auto o = options_for(in, {model}, dir / "map.tif");
  o.quicklook = dir / "map.png";
  soc::make_map(o);
  std::ifstream png(dir / "map.png", std::ios::binary);
  std::string signature(8, '\0');
  png.read(signature.data(), 8);
  CHECK(signature == "\x89PNG\r\n\x1a\n");
  CHECK(!fs::exists(dir / "map.png.aux.xml"));
}

TEST_CASE("a GeoTIFF whose rename fails leaves no temporary; a killed run's temporary is removed by the next writer") {
  const TempDir dir;
  const soc::GeoGrid grid{{rows, cols}, geotransform, wkt_of(32633)};
  std::vector<float> values(std::size_t(rows * cols), 1.0f);
  {
    soc::GeoTiffWriter writer(dir / "map.tif", grid, {"a"}, -9999.0);
    writer.write({0, 0, rows, cols}, values.data());
    fs::create_directories(dir / "map.tif/inside");  // appears while the map is written: the rename fails
    CHECK_THROWS_WITH_AS(writer.commit(), doctest::Contains("cannot rename"), cnnlstm::IoError);
  }
  CHECK(files_in(dir.path) == 1);  // the folder only
  fs::remove_all(dir / "map.tif");

  CHECK_THROWS_WITH_AS(soc::GeoTiffWriter(dir / "", grid, {"a"}, -9999.0), doctest::Contains("folder"), cnnlstm::IoError);
  std::ofstream(dir / ".map.tif.tmp-999999999-1.tif") << "left by a killed run";  // no such process id
  std::ofstream(dir / ".map.tif.tmp-1-1.tif") << "process 1 still runs";
  soc::GeoTiffWriter writer(dir / "map.tif", grid, {"a"}, -9999.0);
  writer.write({0, 0, rows, cols}, values.data());
  writer.commit();
  CHECK(!fs::exists(dir / ".map.tif.tmp-999999999-1.tif"));
  CHECK(fs::exists(dir / ".map.tif.tmp-1-1.tif"));
  CHECK(fs::exists(dir / "map.tif"));
}

TEST_CASE("--output K maps output K of a model with several outputs; an output it lacks is an error") {
  const TempDir dir;
  const Inputs in = write_inputs(dir);
  cnnlstm::ModelSpec spec = cnnlstm::paper_spec("CNN-LSTM_evi_lsp");
  spec.head.outputs = 2;
  const std::string model = dir / "two_outputs.safetensors";
  save_seeded_model(model, spec, 5, {{15.0, 40.0}, {4.0, 9.0}});
  auto o = options_for(in, {model}, dir / "k1.tif");
  o.output = 1;
  soc::make_map(o);
  const auto second = RasterFile(dir / "k1.tif").band(1);
  CHECK(check_pixels(second, model, cnnlstm::EdgeMode::nodata, 1) > 0);
  o.output = 0;
  o.out = dir / "k0.tif";
  soc::make_map(o);
  CHECK(RasterFile(dir / "k0.tif").band(1) != second);
  o.output = 2;
  o.out = dir / "k2.tif";
  CHECK_THROWS_WITH_AS(soc::make_map(o), doctest::Contains(("--output 2: " + model + " has 2 outputs (0..1)").c_str()), cnnlstm::ConfigError);
  CHECK(!fs::exists(dir / "k2.tif"));
}
