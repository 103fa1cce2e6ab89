// What the GDAL tests of soc's mapping (tests/mapping/*.cpp) share, written once: a scratch folder,
// an EPSG code's spatial reference and WKT, a GeoTIFF writer (any data type; per band a nodata
// value, GDAL scale and offset, a description), a read-only raster and its whole bands, seeded
// models saved to a file, and soc map's options for a small test run.
#pragma once

#include <doctest/doctest.h>

#include "raster_map.hpp"

#include <cnnlstm/io/model_file.hpp>

#include <cpl_conv.h>
#include <gdal.h>
#include <ogr_srs_api.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace mapping_test {

using cnnlstm::Index;

// A folder of its own under the system's temporary folder, removed with all it holds at the end.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::random_device random;
    path = std::filesystem::temp_directory_path() / ("cnnlstm_mapping_test_" + std::to_string(random()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // The path of `name` inside the folder.
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

// EPSG:`epsg`, its axes in GIS order (x = longitude or easting, y = latitude or northing); the
// caller destroys it (OSRDestroySpatialReference).
inline OGRSpatialReferenceH srs_of(int epsg) {
  OGRSpatialReferenceH srs = OSRNewSpatialReference(nullptr);
  OSRImportFromEPSG(srs, epsg);
  OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
  return srs;
}

// The WKT of EPSG:`epsg`, as GDALSetProjection takes it.
inline std::string wkt_of(int epsg) {
  OGRSpatialReferenceH srs = srs_of(epsg);
  char* wkt = nullptr;
  OSRExportToWkt(srs, &wkt);
  std::string out = wkt;
  CPLFree(wkt);
  OSRDestroySpatialReference(srs);
  return out;
}

// Where a test raster lies: rows x cols pixels, GDAL's geotransform (x0, dx, rx, y0, ry, dy; metres
// for a projected CRS) and the EPSG code of its CRS (0: the raster has none).
struct TestGrid {
  Index rows = 0, cols = 0;
  std::array<double, 6> geotransform{};
  int epsg = 32633;  // WGS 84 / UTM zone 33N
};

// What a band declares of its values: a nodata value (none: only NaN is missing), GDAL's scale and
// offset (value = stored * scale + offset; not written when 1 and 0) and a description ("": none).
struct BandTags {
  std::optional<double> nodata;
  double scale = 1, offset = 0;
  std::string description{};
};

// `count` bands that all declare `tags`.
inline std::vector<BandTags> every_band(Index count, const BandTags& tags = {}) {
  return std::vector<BandTags>(std::size_t(count), tags);
}

// The stored value of band `band` (from 0) at row r, column c.
using BandValues = std::function<double(Index band, Index r, Index c)>;

// A plain (striped, uncompressed) GeoTIFF of `type` on `grid`, one band per entry of `bands`,
// declaring what that entry says; the values go to GDAL as doubles, which it converts to `type`.
inline void write_geotiff(const std::string& path, const TestGrid& grid, GDALDataType type, const std::vector<BandTags>& bands,
                          const BandValues& value) {
  GDALAllRegister();
  GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path.c_str(), int(grid.cols), int(grid.rows), int(bands.size()),
                               type, nullptr);
  REQUIRE(ds != nullptr);
  std::array<double, 6> transform = grid.geotransform;
  GDALSetGeoTransform(ds, transform.data());
  if (grid.epsg != 0) GDALSetProjection(ds, wkt_of(grid.epsg).c_str());
  std::vector<double> pixels(std::size_t(grid.rows * grid.cols));  // (rows, cols)
  for (Index b = 0; b < Index(bands.size()); ++b) {
    for (Index r = 0; r < grid.rows; ++r)
      for (Index c = 0; c < grid.cols; ++c) pixels[std::size_t(r * grid.cols + c)] = value(b, r, c);
    GDALRasterBandH h = GDALGetRasterBand(ds, int(b + 1));
    REQUIRE(GDALRasterIO(h, GF_Write, 0, 0, int(grid.cols), int(grid.rows), pixels.data(), int(grid.cols), int(grid.rows),
                         GDT_Float64, 0, 0) == CE_None);
    const BandTags& tags = bands[std::size_t(b)];
    if (tags.nodata) GDALSetRasterNoDataValue(h, *tags.nodata);
    if (tags.scale != 1) GDALSetRasterScale(h, tags.scale);
    if (tags.offset != 0) GDALSetRasterOffset(h, tags.offset);
    if (!tags.description.empty()) GDALSetDescription(h, tags.description.c_str());
  }
  GDALClose(ds);
}

// A raster opened read-only with GDAL, closed at the end.
struct RasterFile {
  GDALDatasetH ds = nullptr;
  explicit RasterFile(const std::string& path) {
    GDALAllRegister();
    ds = GDALOpen(path.c_str(), GA_ReadOnly);
    REQUIRE(ds != nullptr);
  }
  ~RasterFile() { GDALClose(ds); }
  RasterFile(const RasterFile&) = delete;
  RasterFile& operator=(const RasterFile&) = delete;
  int bands() const { return GDALGetRasterCount(ds); }
  // Band b (from 1), all of it, as stored (no scale or offset applied): (rows, cols), row-major.
  std::vector<float> band(int b) const {
    const int cols = GDALGetRasterXSize(ds), rows = GDALGetRasterYSize(ds);
    std::vector<float> v(std::size_t(rows) * std::size_t(cols));
    REQUIRE(GDALRasterIO(GDALGetRasterBand(ds, b), GF_Read, 0, 0, cols, rows, v.data(), cols, rows, GDT_Float32, 0, 0) == CE_None);
    return v;
  }
  std::string description(int b) const { return GDALGetDescription(GDALGetRasterBand(ds, b)); }
};

// Saves at `path` a model of `spec` with the weights `seed` draws and target scaling `scaling`
// (prediction = output * scale + mean, per output), with `metadata` among the file's entries.
inline void save_seeded_model(const std::string& path, const cnnlstm::ModelSpec& spec, std::uint64_t seed,
                              const cnnlstm::TargetScaling& scaling = {{15.0}, {4.0}},
                              const std::map<std::string, std::string>& metadata = {}) {
  auto model = cnnlstm::build_model<float>(spec);
  std::visit(
      [&](auto& m) {
        m.initialize(seed);
        m.set_target_scaling(scaling);
        cnnlstm::save_model(path, m, metadata);
      },
      model);
}

// The paper's model `variant` ("CNN", "LSTM_evi", "CNN-LSTM_evi_lsp", ...) from `seed`, target
// scaling mean 15, scale 4, saved as dir / "<variant>_<seed>.safetensors"; returns that path.
inline std::string write_model(const TempDir& dir, const std::string& variant, std::uint64_t seed,
                               const std::map<std::string, std::string>& metadata = {}) {
  const std::string path = dir / (variant + "_" + std::to_string(seed) + ".safetensors");
  save_seeded_model(path, cnnlstm::paper_spec(variant), seed, {{15.0}, {4.0}}, metadata);
  return path;
}

// soc map's options for a test run: `models` on the `statics` and `series` files, written to
// `out`, in blocks of 16 pixels (several on a test grid, with halos crossing between them) and
// without progress lines.
inline soc::MapOptions map_options(std::vector<std::string> models, std::vector<std::string> statics,
                                   std::vector<std::string> series, const std::string& out) {
  soc::MapOptions o;
  o.models = std::move(models);
  o.statics = std::move(statics);
  o.series = std::move(series);
  o.out = out;
  o.block = 16;
  o.progress = false;
  return o;
}

}  // namespace mapping_test
