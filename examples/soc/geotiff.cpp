// GDAL readers and writers for the soc program (see geotiff.hpp).

#include "geotiff.hpp"

#include <cnnlstm/core/errors.hpp>
#include <cnnlstm/io/atomic_file.hpp>
#include <cnnlstm/io/temporary_files.hpp>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>
#include <ogr_srs_api.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <sstream>
#include <utility>

namespace soc {
namespace {

// GDAL's drivers registered once, and its messages kept from the terminal (read through
// CPLGetLastErrorMsg for our own errors).
void start_gdal() {
  static const bool started = [] {
    GDALAllRegister();
    return true;
  }();
  (void)started;
  CPLSetErrorHandler(CPLQuietErrorHandler);
}

std::string gdal_message() {
  const std::string message = CPLGetLastErrorMsg();
  return message.empty() ? "GDAL reported no reason" : message;
}

int to_int(Index v) { return static_cast<int>(v); }

std::string numbers(const std::array<double, 6>& g) {
  std::ostringstream s;
  s.precision(12);
  s << "(";
  for (std::size_t i = 0; i < g.size(); ++i) s << (i ? ", " : "") << g[i];
  return s.str() + ")";
}

bool same_projection(const std::string& a, const std::string& b) {
  if (a == b) return true;
  if (a.empty() || b.empty()) return false;
  OGRSpatialReferenceH sa = OSRNewSpatialReference(a.c_str()), sb = OSRNewSpatialReference(b.c_str());
  const bool same = sa && sb && OSRIsSame(sa, sb);
  if (sa) OSRDestroySpatialReference(sa);
  if (sb) OSRDestroySpatialReference(sb);
  return same;
}

// A short name of a projection for messages: its name in the WKT, else the start of the WKT.
std::string projection_name(const std::string& wkt) {
  if (wkt.empty()) return "none";
  const auto quote = wkt.find('"');
  if (quote == std::string::npos) return wkt.substr(0, 40);
  return wkt.substr(quote + 1, wkt.find('"', quote + 1) - quote - 1);
}

// A free "<folder>/.<name>.tmp-<pid>-<random>.<ext>" (temporary_files.hpp), after removing the
// ones killed runs left for the same destination: GDAL creates it, we rename it.
std::string free_temporary_name(const std::string& destination) {
  cnnlstm::check_replaceable(destination);
  cnnlstm::remove_stale_temporaries(destination);
  const std::string extension = std::filesystem::path(destination).extension().string();
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string candidate = cnnlstm::temporary_name(destination, extension);
    if (!std::filesystem::exists(candidate)) return candidate;
  }
  throw cnnlstm::IoError("cannot find a free temporary name for '" + destination + "'");
}

// Flushes a closed file to disk and renames it over the destination; on failure the temporary
// is removed, so the destination keeps its old content and nothing is left beside it.
void put_in_place(const std::string& temporary, const std::string& destination) {
  const int fd = ::open(temporary.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  if (std::rename(temporary.c_str(), destination.c_str()) != 0) {
    const int error = errno;
    std::remove(temporary.c_str());
    throw cnnlstm::IoError("cannot rename '" + temporary + "' to '" + destination + "': " + std::strerror(error));
  }
}

// The system's reason when a file cannot be opened (no permission, too many open files), which
// GDAL reports only as "cannot open it as a raster": an IoError, not a complaint about the data.
void require_readable(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw cnnlstm::os_error("open", path, errno);
  ::close(fd);
}

void check_rect(const PixelRect& rect, const RasterSize& size, const std::string& path) {
  if (rect.row < 0 || rect.col < 0 || rect.end_row() > size.rows || rect.end_col() > size.cols || rect.size() <= 0)
    throw cnnlstm::ShapeError(path + ": " + cnnlstm::to_string(rect) + " is outside the raster of " +
                              std::to_string(size.rows) + " rows and " + std::to_string(size.cols) + " columns");
}

}  // namespace

std::string grid_difference(const GeoGrid& grid, const GeoGrid& reference) {
  if (grid.size.rows != reference.size.rows || grid.size.cols != reference.size.cols)
    return "size " + std::to_string(grid.size.cols) + " x " + std::to_string(grid.size.rows) + " (columns x rows) instead of " +
           std::to_string(reference.size.cols) + " x " + std::to_string(reference.size.rows);
  const auto& g = grid.geotransform;
  const auto& r = reference.geotransform;
  const double pixel = std::max({std::abs(r[1]), std::abs(r[2]), std::abs(r[4]), std::abs(r[5])});
  for (std::size_t i = 0; i < 6; ++i)
    if (std::abs(g[i] - r[i]) > 1e-6 * pixel)
      return "geotransform " + numbers(g) + " instead of " + numbers(r);
  if (!same_projection(grid.projection, reference.projection))
    return "projection " + projection_name(grid.projection) + " instead of " + projection_name(reference.projection);
  return "";
}

std::string projection_of_epsg(int code) {
  start_gdal();
  OGRSpatialReferenceH srs = OSRNewSpatialReference(nullptr);
  char* wkt = nullptr;
  const bool ok = OSRImportFromEPSG(srs, code) == OGRERR_NONE && OSRExportToWkt(srs, &wkt) == OGRERR_NONE;
  const std::string out = ok && wkt ? wkt : "";
  CPLFree(wkt);
  OSRDestroySpatialReference(srs);
  if (!ok) throw cnnlstm::IoError("cannot make the projection EPSG:" + std::to_string(code) + ": " + gdal_message());
  return out;
}

void to_longitude_latitude(int code, std::vector<double>& x, std::vector<double>& y) {
  start_gdal();
  OGRSpatialReferenceH from = OSRNewSpatialReference(nullptr), to = OSRNewSpatialReference(nullptr);
  const bool made = OSRImportFromEPSG(from, code) == OGRERR_NONE && OSRImportFromEPSG(to, 4326) == OGRERR_NONE;
  OSRSetAxisMappingStrategy(from, OAMS_TRADITIONAL_GIS_ORDER);
  OSRSetAxisMappingStrategy(to, OAMS_TRADITIONAL_GIS_ORDER);  // lon, lat
  OGRCoordinateTransformationH transform = made ? OCTNewCoordinateTransformation(from, to) : nullptr;
  const bool ok = transform && OCTTransform(transform, static_cast<int>(x.size()), x.data(), y.data(), nullptr);
  if (transform) OCTDestroyCoordinateTransformation(transform);
  OSRDestroySpatialReference(from);
  OSRDestroySpatialReference(to);
  if (!ok) throw cnnlstm::IoError("cannot transform EPSG:" + std::to_string(code) + " to longitude and latitude: " + gdal_message());
}

// ---- RasterReader -------------------------------------------------------------------------

RasterReader::RasterReader(const std::string& path) : path_(path) {
  start_gdal();
  std::error_code error;
  if (!std::filesystem::exists(path, error)) throw cnnlstm::IoError("cannot read '" + path + "': no such file");
  require_readable(path);
  CPLErrorReset();
  errno = 0;
  dataset_ = GDALOpenEx(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr);
  if (!dataset_ && (errno == EMFILE || errno == ENFILE)) throw cnnlstm::os_error("open", path, errno);
  if (!dataset_) throw cnnlstm::FormatError(path + ": GDAL cannot open it as a raster: " + gdal_message());
  grid_.size = {GDALGetRasterYSize(dataset_), GDALGetRasterXSize(dataset_)};
  if (GDALGetGeoTransform(dataset_, grid_.geotransform.data()) != CE_None) grid_.geotransform = {0, 1, 0, 0, 0, 1};
  const char* wkt = GDALGetProjectionRef(dataset_);
  grid_.projection = wkt ? wkt : "";
  bands_ = GDALGetRasterCount(dataset_);
  if (bands_ == 0) {
    GDALClose(dataset_);
    throw cnnlstm::FormatError(path + ": the raster has no bands");
  }
}

RasterReader::RasterReader(RasterReader&& other) noexcept
    : path_(std::move(other.path_)), dataset_(std::exchange(other.dataset_, nullptr)), grid_(std::move(other.grid_)),
      bands_(other.bands_) {}

RasterReader& RasterReader::operator=(RasterReader&& other) noexcept {
  std::swap(path_, other.path_);
  std::swap(dataset_, other.dataset_);
  std::swap(grid_, other.grid_);
  std::swap(bands_, other.bands_);
  return *this;
}

RasterReader::~RasterReader() {
  if (dataset_) GDALClose(dataset_);
}

std::optional<double> RasterReader::nodata(Index band) const {
  int has = 0;
  const double value = GDALGetRasterNoDataValue(GDALGetRasterBand(dataset_, to_int(band + 1)), &has);
  return has ? std::optional<double>(value) : std::nullopt;
}

std::string RasterReader::description(Index band) const {
  const char* d = GDALGetDescription(GDALGetRasterBand(dataset_, to_int(band + 1)));
  return d ? d : "";
}

double RasterReader::scale(Index band) const {
  int has = 0;
  const double s = GDALGetRasterScale(GDALGetRasterBand(dataset_, to_int(band + 1)), &has);
  return has ? s : 1.0;
}

double RasterReader::offset(Index band) const {
  int has = 0;
  const double o = GDALGetRasterOffset(GDALGetRasterBand(dataset_, to_int(band + 1)), &has);
  return has ? o : 0.0;
}

namespace {

// True for a stored value equal to the nodata value, compared in the band's own type (a Float32
// band's nodata as float, as GDAL compares it).
bool is_stored_nodata(double stored, double nodata, GDALDataType type) {
  if (std::isnan(nodata)) return std::isnan(stored);
  if (type == GDT_Float32) return static_cast<float>(stored) == static_cast<float>(nodata);
  return stored == nodata;
}

// Whether a band's pixels may lack a value through a mask other than its nodata value.
bool has_mask(GDALRasterBandH band) {
  const int flags = GDALGetMaskFlags(band);
  return (flags & GMF_ALL_VALID) == 0 && (flags & GMF_NODATA) == 0;
}

}  // namespace

void RasterReader::read_band(const PixelRect& rect, Index band, float* out) const {
  GDALRasterBandH h = GDALGetRasterBand(dataset_, to_int(band + 1));
  const GDALDataType type = GDALGetRasterDataType(h);
  if (GDALDataTypeIsComplex(type))
    throw cnnlstm::FormatError(path_ + ": band " + std::to_string(band + 1) + " holds complex numbers; covariates are real");
  std::vector<double> stored(static_cast<std::size_t>(rect.size()));
  CPLErrorReset();
  if (GDALRasterIO(h, GF_Read, to_int(rect.col), to_int(rect.row), to_int(rect.cols), to_int(rect.rows), stored.data(),
                   to_int(rect.cols), to_int(rect.rows), GDT_Float64, 0, 0) != CE_None)
    throw cnnlstm::IoError(path_ + ": cannot read band " + std::to_string(band + 1) + ", " + cnnlstm::to_string(rect) + ": " +
                           gdal_message());
  std::vector<unsigned char> valid;
  if (has_mask(h)) {
    valid.resize(stored.size());
    if (GDALRasterIO(GDALGetMaskBand(h), GF_Read, to_int(rect.col), to_int(rect.row), to_int(rect.cols), to_int(rect.rows),
                     valid.data(), to_int(rect.cols), to_int(rect.rows), GDT_Byte, 0, 0) != CE_None)
      throw cnnlstm::IoError(path_ + ": cannot read the mask of band " + std::to_string(band + 1) + ": " + gdal_message());
  }
  const std::optional<double> nd = nodata(band);
  const double s = scale(band), o = offset(band);
  const float none = std::numeric_limits<float>::quiet_NaN();
  for (std::size_t i = 0; i < stored.size(); ++i) {
    const bool missing = (nd && is_stored_nodata(stored[i], *nd, type)) || (!valid.empty() && valid[i] == 0);
    out[i] = missing ? none : static_cast<float>(stored[i] * s + o);
  }
}

void RasterReader::read(const PixelRect& rect, Index first, Index count, float* out) const {
  check_rect(rect, grid_.size, path_);
  if (first < 0 || count < 1 || first + count > bands_)
    throw cnnlstm::ShapeError(path_ + ": bands " + std::to_string(first + 1) + ".." + std::to_string(first + count) +
                              " asked for, the raster has " + std::to_string(bands_));
  for (Index b = 0; b < count; ++b) read_band(rect, first + b, out + b * rect.size());
}

void RasterReader::read_overview(Index band, Index rows, Index cols, float* out) const {
  CPLErrorReset();
  const CPLErr err = GDALRasterIO(GDALGetRasterBand(dataset_, to_int(band + 1)), GF_Read, 0, 0, to_int(grid_.size.cols),
                                  to_int(grid_.size.rows), out, to_int(cols), to_int(rows), GDT_Float32, 0, 0);
  if (err != CE_None) throw cnnlstm::IoError(path_ + ": cannot read band " + std::to_string(band + 1) + ": " + gdal_message());
}

// ---- GeoTiffWriter ------------------------------------------------------------------------

GeoTiffWriter::GeoTiffWriter(std::string path, const GeoGrid& grid, const std::vector<std::string>& band_names,
                             std::optional<double> nodata, GeoTiffLayout layout)
    : path_(std::move(path)), temporary_(free_temporary_name(path_)), registration_(temporary_), bands_(static_cast<Index>(band_names.size())) {
  start_gdal();
  GDALDriverH driver = GDALGetDriverByName("GTiff");
  if (!driver) throw cnnlstm::IoError("GDAL has no GTiff driver");
  if (layout.tile < 16 || layout.tile % 16 != 0)
    throw cnnlstm::ConfigError("GeoTIFF tiles must be a multiple of 16 pixels, got " + std::to_string(layout.tile));
  char** options = nullptr;
  const std::string tile_size = std::to_string(layout.tile);
  options = CSLSetNameValue(options, "BLOCKXSIZE", tile_size.c_str());
  options = CSLSetNameValue(options, "BLOCKYSIZE", tile_size.c_str());
  options = CSLSetNameValue(options, "PREDICTOR", layout.float_predictor ? "3" : "1");
  for (const char* option : {"TILED=YES", "COMPRESS=DEFLATE", "INTERLEAVE=BAND", "BIGTIFF=IF_SAFER"})
    options = CSLAddString(options, option);
  CPLErrorReset();
  dataset_ = GDALCreate(driver, temporary_.c_str(), to_int(grid.size.cols), to_int(grid.size.rows), to_int(bands_),
                        GDT_Float32, options);
  CSLDestroy(options);
  if (!dataset_) throw cnnlstm::IoError("cannot create '" + path_ + "' (as '" + temporary_ + "'): " + gdal_message());
  std::array<double, 6> transform = grid.geotransform;
  GDALSetGeoTransform(dataset_, transform.data());
  if (!grid.projection.empty()) GDALSetProjection(dataset_, grid.projection.c_str());
  for (Index b = 0; b < bands_; ++b) {
    GDALRasterBandH band = GDALGetRasterBand(dataset_, to_int(b + 1));
    GDALSetDescription(band, band_names[static_cast<std::size_t>(b)].c_str());
    if (nodata) GDALSetRasterNoDataValue(band, *nodata);
  }
}

GeoTiffWriter::~GeoTiffWriter() {
  if (!dataset_) return;
  GDALClose(dataset_);
  std::remove(temporary_.c_str());
}

void GeoTiffWriter::write(const PixelRect& rect, const float* values) {
  for (Index b = 0; b < bands_; ++b) write_band(b, rect, values + b * rect.size());
}

void GeoTiffWriter::write_band(Index band, const PixelRect& rect, const float* values) {
  if (!dataset_) throw cnnlstm::UsageError("GeoTiffWriter: write after commit");
  check_rect(rect, {GDALGetRasterYSize(dataset_), GDALGetRasterXSize(dataset_)}, path_);
  CPLErrorReset();
  const CPLErr err = GDALRasterIO(GDALGetRasterBand(dataset_, to_int(band + 1)), GF_Write, to_int(rect.col),
                                  to_int(rect.row), to_int(rect.cols), to_int(rect.rows), const_cast<float*>(values),
                                  to_int(rect.cols), to_int(rect.rows), GDT_Float32, 0, 0);
  if (err != CE_None) throw cnnlstm::IoError("cannot write '" + path_ + "': " + gdal_message());
}

void GeoTiffWriter::commit() {
  if (!dataset_) throw cnnlstm::UsageError("GeoTiffWriter: commit twice");
  CPLErrorReset();
  GDALClose(std::exchange(dataset_, nullptr));
  if (CPLGetLastErrorType() >= CE_Failure) {
    const std::string message = gdal_message();
    std::remove(temporary_.c_str());
    throw cnnlstm::IoError("cannot finish writing '" + path_ + "': " + message);
  }
  put_in_place(temporary_, path_);
  registration_.release();
}

// ---- PNG ----------------------------------------------------------------------------------

void write_png(const std::string& path, Index rows, Index cols, const std::vector<unsigned char>& rgb) {
  start_gdal();
  GDALDriverH mem = GDALGetDriverByName("MEM"), png = GDALGetDriverByName("PNG");
  if (!mem || !png) throw cnnlstm::IoError("GDAL has no MEM or PNG driver: cannot write '" + path + "'");
  GDALDatasetH image = GDALCreate(mem, "", to_int(cols), to_int(rows), 3, GDT_Byte, nullptr);
  const int band_map[3] = {1, 2, 3};
  CPLErr err = GDALDatasetRasterIO(image, GF_Write, 0, 0, to_int(cols), to_int(rows),
                                   const_cast<unsigned char*>(rgb.data()), to_int(cols), to_int(rows), GDT_Byte, 3,
                                   const_cast<int*>(band_map), 3, 3 * to_int(cols), 1);
  const std::string temporary = free_temporary_name(path);
  const cnnlstm::TemporaryRegistration registration(temporary);
  CPLErrorReset();
  GDALDatasetH file = err == CE_None ? GDALCreateCopy(png, temporary.c_str(), image, FALSE, nullptr, nullptr, nullptr) : nullptr;
  GDALClose(image);
  if (file) GDALClose(file);
  if (!file || CPLGetLastErrorType() >= CE_Failure) {
    const std::string message = gdal_message();
    std::remove(temporary.c_str());
    std::remove((temporary + ".aux.xml").c_str());
    throw cnnlstm::IoError("cannot write '" + path + "': " + message);
  }
  std::remove((temporary + ".aux.xml").c_str());
  put_in_place(temporary, path);
}

}  // namespace soc
