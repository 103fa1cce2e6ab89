// Covariates in their own units: every raster read applies the band's GDAL scale and offset,
// reads integer rasters (Byte, Int16) as their values, and gives no value (NaN) where a pixel
// holds the nodata value or its mask band says so. An Int16 stack with a scale of 1e-4 (how MODIS
// products come) maps exactly like the Float32 stack of the same values; several single-band
// files map exactly like the stack of their bands.

#include "geotiff.hpp"
#include "mapping_test_support.hpp"
#include "static_covariates.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

using namespace mapping_test;
namespace fs = std::filesystem;

namespace {

constexpr Index rows = 21, cols = 19, channels = 10;
constexpr std::array<double, 6> geotransform{500000, 100, 0, 4400000, 0, -100};
constexpr double scale = 1e-4, offset = 0.05;

constexpr TestGrid grid{rows, cols, geotransform};

// Stored value of band b at (r, c), an Int16 in [500, 9500].
double stored_value(Index b, Index r, Index c) {
  return std::round(5000 + 4500 * std::sin(0.31 * double(r) + 0.7 * double(b)) * std::cos(0.23 * double(c) - 0.1 * double(b)));
}

std::vector<float> read_all(const std::string& path, Index bands) {
  const soc::RasterReader reader(path);
  std::vector<float> out(std::size_t(bands * rows * cols));
  reader.read({0, 0, rows, cols}, 0, bands, out.data());
  return out;
}

std::vector<float> make_map(const TempDir& dir, const std::vector<std::string>& statics, const std::string& name) {
  soc::make_map(map_options({write_model(dir, "CNN", 17)}, statics, {}, dir / name));
  return RasterFile(dir / name).band(1);
}

Index count_nodata(const std::vector<float>& band) {
  return Index(std::count(band.begin(), band.end(), float(soc::map_nodata)));
}

}  // namespace

TEST_CASE("an Int16 band with a GDAL scale and offset reads as stored * scale + offset") {
  const TempDir dir;
  write_geotiff(dir / "int16.tif", grid, GDT_Int16, every_band(2, {std::nullopt, scale, offset}), stored_value);
  const auto values = read_all(dir / "int16.tif", 2);
  Index wrong = 0;
  for (Index b = 0; b < 2; ++b)
    for (Index r = 0; r < rows; ++r)
      for (Index c = 0; c < cols; ++c)
        wrong += values[std::size_t((b * rows + r) * cols + c)] != float(stored_value(b, r, c) * scale + offset);
  CHECK(wrong == 0);
  const soc::RasterReader reader(dir / "int16.tif");
  CHECK(reader.scale(0) == scale);
  CHECK(reader.offset(1) == offset);
}

TEST_CASE("a Byte raster reads as its values 0..255") {
  const TempDir dir;
  const auto byte_value = [](Index, Index r, Index c) { return double((r * cols + c) % 256); };
  write_geotiff(dir / "byte.tif", grid, GDT_Byte, every_band(1), byte_value);
  const auto values = read_all(dir / "byte.tif", 1);
  CHECK(values[0] == 0.0f);
  CHECK(values[std::size_t(rows * cols - 1)] == float((rows * cols - 1) % 256));
  CHECK(*std::max_element(values.begin(), values.end()) == 255.0f);
}

TEST_CASE("a stored nodata value and a masked pixel have no value, whatever the scale") {
  const TempDir dir;
  const auto with_hole = [](Index b, Index r, Index c) { return r == 4 && c == 7 ? -9999.0 : stored_value(b, r, c); };
  write_geotiff(dir / "nodata.tif", grid, GDT_Int16, every_band(1, {-9999.0, scale, offset}), with_hole);
  const auto values = read_all(dir / "nodata.tif", 1);
  CHECK(std::isnan(values[std::size_t(4 * cols + 7)]));
  CHECK(values[std::size_t(4 * cols + 8)] == float(stored_value(0, 4, 8) * scale + offset));
  CHECK(std::count_if(values.begin(), values.end(), [](float v) { return std::isnan(v); }) == 1);

  // a per-dataset mask band (an internal .msk), 0 at (9, 3): no value there, in every band
  write_geotiff(dir / "masked.tif", grid, GDT_Float32, every_band(2), stored_value);
  GDALDatasetH ds = GDALOpen((dir / "masked.tif").c_str(), GA_Update);
  REQUIRE(ds != nullptr);
  REQUIRE(GDALCreateDatasetMaskBand(ds, GMF_PER_DATASET) == CE_None);
  GDALRasterBandH mask = GDALGetMaskBand(GDALGetRasterBand(ds, 1));
  std::vector<unsigned char> valid(std::size_t(rows * cols), 255);
  valid[std::size_t(9 * cols + 3)] = 0;
  REQUIRE(GDALRasterIO(mask, GF_Write, 0, 0, int(cols), int(rows), valid.data(), int(cols), int(rows), GDT_Byte, 0, 0) == CE_None);
  GDALClose(ds);
  const auto masked = read_all(dir / "masked.tif", 2);
  CHECK(std::isnan(masked[std::size_t(9 * cols + 3)]));
  CHECK(std::isnan(masked[std::size_t(rows * cols + 9 * cols + 3)]));
  CHECK(masked[std::size_t(9 * cols + 4)] == float(stored_value(0, 9, 4)));
  CHECK(std::count_if(masked.begin(), masked.end(), [](float v) { return std::isnan(v); }) == 2);
}

TEST_CASE("the map of an Int16 stack with scale 1e-4 and an offset equals the map of the same values as Float32") {
  const TempDir dir;
  write_geotiff(dir / "int16.tif", grid, GDT_Int16, every_band(channels, {-9999.0, scale, offset}), stored_value);
  const auto in_units = [](Index b, Index r, Index c) { return double(float(stored_value(b, r, c) * scale + offset)); };
  write_geotiff(dir / "float32.tif", grid, GDT_Float32, every_band(channels, {-9999.0}), in_units);
  const auto from_int16 = make_map(dir, {dir / "int16.tif"}, "int16_map.tif");
  const auto from_float = make_map(dir, {dir / "float32.tif"}, "float_map.tif");
  CHECK(from_int16 == from_float);  // bit for bit
  CHECK(count_nodata(from_float) == rows * cols - (rows - 4) * (cols - 4));  // the edges only
  const auto [low, high] = std::minmax_element(from_float.begin(), from_float.end(), [](float a, float b) {
    return (a == float(soc::map_nodata) ? 1e30f : a) < (b == float(soc::map_nodata) ? 1e30f : b);
  });
  CHECK(*low > 0.0f);      // a model fed values ~0.5, not ~5000: a plausible range,
  CHECK(*high < 100.0f);   // not the thousands an ignored scale gives
}

TEST_CASE("static covariates as one file per channel map exactly like the stack of their bands") {
  const TempDir dir;
  std::vector<std::string> files;
  std::vector<BandTags> named;
  for (Index b = 0; b < channels; ++b) named.push_back({-9999.0, 1, 0, "covariate_" + std::to_string(b)});
  write_geotiff(dir / "stack.tif", grid, GDT_Float32, named, stored_value);
  for (Index b = 0; b < channels; ++b) {
    files.push_back(dir / ("c" + std::to_string(b) + ".tif"));
    write_geotiff(files.back(), grid, GDT_Float32, every_band(1, {-9999.0}), [b](Index, Index r, Index c) { return stored_value(b, r, c); });
  }
  CHECK(make_map(dir, files, "files_map.tif") == make_map(dir, {dir / "stack.tif"}, "stack_map.tif"));

  const soc::StaticCovariates statics(files);
  CHECK(statics.bands() == channels);
  CHECK(statics.band_name(3) == "c3");  // no description: the file's name
  CHECK(soc::StaticCovariates({dir / "stack.tif"}).band_name(3) == "covariate_3");

  // a file on another grid: an error naming both files and how they differ
  write_geotiff(dir / "shifted.tif", grid, GDT_Float32, every_band(1), stored_value);
  GDALDatasetH ds = GDALOpen((dir / "shifted.tif").c_str(), GA_Update);
  std::array<double, 6> moved{500100, 100, 0, 4400000, 0, -100};
  GDALSetGeoTransform(ds, moved.data());
  GDALClose(ds);
  files[4] = dir / "shifted.tif";
  const std::string moved_message = (dir / "shifted.tif") + ": geotransform (500100", reference = "as in " + (dir / "c0.tif");
  CHECK_THROWS_WITH_AS(soc::StaticCovariates{files}, doctest::Contains(moved_message.c_str()), cnnlstm::DataError);
  CHECK_THROWS_WITH_AS(soc::StaticCovariates{files}, doctest::Contains(reference.c_str()), cnnlstm::DataError);
  // a file given twice
  std::vector<std::string> twice = files;
  twice[4] = twice[2];
  CHECK_THROWS_WITH_AS(soc::StaticCovariates{twice}, doctest::Contains("given twice as a static covariate"), cnnlstm::DataError);
  // nine files of one band for a model of ten channels
  files.erase(files.begin() + 4);
  soc::MapOptions o;
  o.models = {write_model(dir, "CNN", 17)};
  o.statics = files;
  o.out = dir / "nine.tif";
  o.progress = false;
  CHECK_THROWS_WITH_AS(soc::make_map(o), doctest::Contains("9 bands, but the models read 10 static covariates"), cnnlstm::ShapeError);
  CHECK(!fs::exists(dir / "nine.tif"));
}
