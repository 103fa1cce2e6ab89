#pragma once
// Rasters through GDAL for the soc program: reading any raster GDAL knows (band blocks as float),
// and writing tiled, DEFLATE-compressed Float32 GeoTIFFs that appear complete or not at all
// (GDAL writes a temporary file in the destination's folder; commit() renames it into place).
// GDAL's messages are collected, not printed: failures are cnnlstm errors naming the file.

#include <cnnlstm/io/temporary_files.hpp>
#include <cnnlstm/soilmap/raster_window.hpp>

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace soc {

using cnnlstm::Index;
using cnnlstm::PixelRect;
using cnnlstm::RasterSize;

// Where a raster's pixels lie on the ground.
struct GeoGrid {
  RasterSize size;
  std::array<double, 6> geotransform{0, 1, 0, 0, 0, 1};  // GDAL's: x0, dx, rx, y0, ry, dy
  std::string projection;                                // WKT, empty if none
};

// How `grid` differs from `reference` in size, geotransform or projection ("" if it does not).
std::string grid_difference(const GeoGrid& grid, const GeoGrid& reference);

// The WKT of an EPSG code ("EPSG:32633" -> 32633).
std::string projection_of_epsg(int code);

// Points (x, y) in EPSG:`code` transformed in place to longitude, latitude (EPSG:4326, degrees).
void to_longitude_latitude(int code, std::vector<double>& x, std::vector<double>& y);

// A raster opened for reading. read() gives every pixel in its band's units: GDAL converts the
// stored values (Byte, Int16, UInt16, Int32, Float32, ...) to numbers, then the band's scale and
// offset are applied (value = stored * scale + offset, as GDALGetRasterScale/Offset say; 1 and 0
// when the file sets none). A pixel with no value is NaN: its stored value equals the band's
// nodata value, or the band's mask (GDALGetMaskBand: a per-dataset mask, an alpha band) is 0.
class RasterReader {
 public:
  explicit RasterReader(const std::string& path);  // IoError if missing, FormatError if not a raster
  RasterReader(RasterReader&& other) noexcept;
  RasterReader& operator=(RasterReader&& other) noexcept;
  RasterReader(const RasterReader&) = delete;
  RasterReader& operator=(const RasterReader&) = delete;
  ~RasterReader();

  const std::string& path() const { return path_; }
  const GeoGrid& grid() const { return grid_; }
  Index bands() const { return bands_; }
  std::optional<double> nodata(Index band) const;  // band from 0; the stored value, before scale and offset
  std::string description(Index band) const;
  double scale(Index band) const;   // 1 when the file sets none
  double offset(Index band) const;  // 0 when the file sets none

  // Bands [first, first + count) over rect into out (count, rect.rows, rect.cols): values in
  // their units, NaN where a pixel has none.
  void read(const PixelRect& rect, Index first, Index count, float* out) const;
  // Band `band` over the whole raster resampled (nearest) to out (rows, cols), as stored (for
  // the quick-look of a map soc wrote itself).
  void read_overview(Index band, Index rows, Index cols, float* out) const;

 private:
  void read_band(const PixelRect& rect, Index band, float* out) const;  // out (rect.rows, rect.cols)

  std::string path_;
  void* dataset_ = nullptr;  // GDALDatasetH
  GeoGrid grid_;
  Index bands_ = 0;
};

// How a GeoTIFF is laid out: square tiles (a multiple of 16 pixels), DEFLATE, with or without
// the floating-point predictor (smaller files; slower to read back, so off for inputs read often).
struct GeoTiffLayout {
  Index tile = 256;
  bool float_predictor = true;
};

// A Float32 GeoTIFF being written: tiled, DEFLATE-compressed, one band after the other
// (INTERLEAVE=BAND), one band per name (band descriptions set), every band with the same nodata.
class GeoTiffWriter {
 public:
  GeoTiffWriter(std::string path, const GeoGrid& grid, const std::vector<std::string>& band_names,
                std::optional<double> nodata, GeoTiffLayout layout = {});
  GeoTiffWriter(const GeoTiffWriter&) = delete;
  GeoTiffWriter& operator=(const GeoTiffWriter&) = delete;
  ~GeoTiffWriter();  // without commit(): closes and removes the temporary file

  Index bands() const { return bands_; }
  // values (bands, rect.rows, rect.cols) for every band over rect.
  void write(const PixelRect& rect, const float* values);
  // values (rect.rows, rect.cols) for one band (from 0).
  void write_band(Index band, const PixelRect& rect, const float* values);
  // Closes the file, flushes it to disk and renames it to the destination.
  void commit();

 private:
  std::string path_, temporary_;
  cnnlstm::TemporaryRegistration registration_;  // removed on SIGINT, SIGTERM, SIGHUP until committed
  void* dataset_ = nullptr;  // GDALDatasetH
  Index bands_ = 0;
};

// A PNG (8-bit RGB) from pixels (rows, cols, 3), written to a temporary file and renamed.
void write_png(const std::string& path, Index rows, Index cols, const std::vector<unsigned char>& rgb);

}  // namespace soc
