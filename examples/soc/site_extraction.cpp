// Sampling sites placed on the rasters, their inputs cut as soc map cuts them (site_extraction.hpp).

#include "site_extraction.hpp"

#include "covariate_blocks.hpp"
#include "geotiff.hpp"
#include "static_covariates.hpp"

#include <cnnlstm/core/errors.hpp>

#include <cpl_conv.h>
#include <gdal.h>
#include <ogr_srs_api.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <optional>

namespace soc {
namespace {

using cnnlstm::BandBlock;
using cnnlstm::RasterWindows;

// The rasters, opened and checked against each other.
struct Rasters {
  std::optional<StaticCovariates> statics;
  std::vector<RasterReader> series;
  Index years = 0;

  const GeoGrid& grid() const { return statics ? statics->grid() : series.front().grid(); }
  const std::string& reference() const { return statics ? statics->paths().front() : series.front().path(); }
};

Rasters open_rasters(const ExtractOptions& o) {
  if (o.statics.empty() && o.series.empty()) throw cnnlstm::ConfigError("give the covariates: --static FILE... and/or --series FILE...");
  if (o.patch < 1 || o.patch % 2 == 0 || o.patch > 255)
    throw cnnlstm::ConfigError("--patch must be odd, in [1, 255], got " + std::to_string(o.patch));
  Rasters r;
  if (!o.statics.empty()) r.statics.emplace(o.statics);
  for (const auto& path : o.series) {
    r.series.emplace_back(path);
    const RasterReader& file = r.series.back();
    if (const std::string diff = grid_difference(file.grid(), r.grid()); !diff.empty())
      throw cnnlstm::DataError(path + ": " + diff + " as in " + r.reference() +
                               " (every input must cover the same pixels: same size, geotransform and projection)");
    if (file.bands() != r.series.front().bands())
      throw cnnlstm::ShapeError(path + ": " + std::to_string(file.bands()) + " bands (years), but " + r.series.front().path() +
                                " has " + std::to_string(r.series.front().bands()));
  }
  if (!r.series.empty()) r.years = r.series.front().bands();
  if (r.grid().projection.empty())
    throw cnnlstm::DataError(r.reference() + ": the raster has no coordinate reference system, so sites cannot be placed on it "
                             "(set it, for example with gdal_edit.py -a_srs EPSG:N)");
  return r;
}

struct Srs {
  OGRSpatialReferenceH handle;
  explicit Srs(const std::string& wkt) : handle(OSRNewSpatialReference(wkt.c_str())) {
    if (!handle) throw cnnlstm::DataError("GDAL cannot read the coordinate reference system " + wkt.substr(0, 60));
    OSRSetAxisMappingStrategy(handle, OAMS_TRADITIONAL_GIS_ORDER);  // lon, lat for EPSG:4326
  }
  Srs(const Srs&) = delete;
  Srs& operator=(const Srs&) = delete;
  ~Srs() { OSRDestroySpatialReference(handle); }
};

// Longitude and latitude within their ranges, or an error: projected coordinates given as lon/lat.
void check_geographic(const SampleTable& table, const std::string& path) {
  for (const SampleSite& s : table.sites)
    if (s.x && s.y && (std::abs(*s.x) > 180 || std::abs(*s.y) > 90))
      throw cnnlstm::DataError(path + ": " + s.where + ": " + table.x_name + " " + cnnlstm::message_number(*s.x) + ", " +
                               table.y_name + " " + cnnlstm::message_number(*s.y) +
                               " is not a longitude and latitude in degrees; give the table's CRS with --crs EPSG:N");
}

// Every site with coordinates, transformed into the rasters' CRS (nullopt where it cannot be).
void transform_sites(const SampleTable& table, const std::string& raster_crs, const std::string& path,
                     std::vector<SiteOutcome>& out) {
  const Srs from(table.crs), to(raster_crs);
  if (OSRIsGeographic(from.handle)) check_geographic(table, path);
  OGRCoordinateTransformationH transform = OCTNewCoordinateTransformation(from.handle, to.handle);
  if (!transform) throw cnnlstm::DataError(path + ": GDAL cannot transform the sites' CRS into the rasters'");
  for (SiteOutcome& s : out) {
    if (!s.site.x || !s.site.y) continue;
    double x = *s.site.x, y = *s.site.y;
    int ok = 0;
    if (OCTTransformEx(transform, 1, &x, &y, nullptr, &ok) && ok && std::isfinite(x) && std::isfinite(y)) s.x = x, s.y = y;
  }
  OCTDestroyCoordinateTransformation(transform);
}

// The pixel holding ground point (x, y), or false outside the raster.
bool pixel_of(const GeoGrid& grid, double x, double y, Index& row, Index& col) {
  std::array<double, 6> forward = grid.geotransform, inverse{};
  if (!GDALInvGeoTransform(forward.data(), inverse.data())) return false;
  const double px = inverse[0] + inverse[1] * x + inverse[2] * y, py = inverse[3] + inverse[4] * x + inverse[5] * y;
  if (!(px >= 0 && py >= 0 && px < double(grid.size.cols) && py < double(grid.size.rows))) return false;
  col = static_cast<Index>(std::floor(px));
  row = static_cast<Index>(std::floor(py));
  return true;
}

// The table's sites with the reasons found before the rasters are read.
std::vector<SiteOutcome> screen_sites(const SampleTable& table) {
  std::map<std::string, int> uses;
  for (const SampleSite& s : table.sites) ++uses[s.id];
  std::vector<SiteOutcome> out;
  for (const SampleSite& s : table.sites) {
    SiteOutcome o;
    o.site = s;
    if (!s.x || !s.y) o.status = SiteStatus::no_coordinates;
    else if (uses[s.id] > 1) o.status = SiteStatus::duplicated_id;
    else if (std::any_of(s.targets.begin(), s.targets.end(), [](const auto& t) { return !t; })) o.status = SiteStatus::missing_target;
    out.push_back(std::move(o));
  }
  return out;
}

// The reason a site inside the rasters got no inputs: its window crosses the edge, touches
// nodata, or (its window complete) its series holds nodata.
SiteStatus why_no_inputs(const ExtractOptions& o, const Rasters& r, const PixelRect& pixel, const BandBlock<float>* statics) {
  const Index h = o.patch / 2;
  const RasterSize size = r.grid().size;
  if (statics && o.edge == cnnlstm::EdgeMode::nodata &&
      (pixel.row < h || pixel.col < h || pixel.row >= size.rows - h || pixel.col >= size.cols - h))
    return SiteStatus::edge;
  if (!statics) return SiteStatus::nodata_series;
  cnnlstm::WindowBatch<float> window_only;
  RasterWindows<float>(size, o.edge, o.patch, statics, nullptr, 0).build(pixel, window_only);
  return window_only.size() == 0 ? SiteStatus::nodata_window : SiteStatus::nodata_series;
}

// The site's inputs, appended to the arrays, or the reason it has none.
void cut_site(const ExtractOptions& o, const Rasters& r, SiteOutcome& s, Extraction& e, cnnlstm::WindowBatch<float>& batch) {
  const RasterSize size = r.grid().size;
  const PixelRect pixel{s.row, s.col, 1, 1};
  std::optional<BandBlock<float>> statics, series;
  if (r.statics) statics = read_static_block(*r.statics, cnnlstm::grown_rect(pixel, o.patch / 2, size));
  if (!r.series.empty()) series = read_series_block(r.series, r.years, pixel);
  const RasterWindows<float> windows(size, o.edge, r.statics ? o.patch : 1, statics ? &*statics : nullptr,
                                     series ? &*series : nullptr, r.years);
  windows.build(pixel, batch);
  if (batch.size() == 0) {
    s.status = why_no_inputs(o, r, pixel, statics ? &*statics : nullptr);
    return;
  }
  e.x_cnn.insert(e.x_cnn.end(), batch.x_cnn.data(), batch.x_cnn.data() + batch.x_cnn.size());
  e.x_lstm.insert(e.x_lstm.end(), batch.x_lstm.data(), batch.x_lstm.data() + batch.x_lstm.size());
  for (const auto& t : s.site.targets) e.y.push_back(static_cast<float>(*t));
  e.coords.insert(e.coords.end(), {*s.x, *s.y});
  s.array_row = e.kept++;
}

std::vector<std::string> series_names(const std::vector<std::string>& paths) {
  std::vector<std::string> names;
  for (const auto& p : paths) names.push_back(std::filesystem::path(p).stem().string());
  return names;
}

}  // namespace

std::string to_string(SiteStatus status) {
  switch (status) {
    case SiteStatus::kept: return "kept";
    case SiteStatus::no_coordinates: return "missing coordinates";
    case SiteStatus::duplicated_id: return "duplicated id";
    case SiteStatus::missing_target: return "missing target";
    case SiteStatus::outside: return "outside the rasters";
    case SiteStatus::edge: return "window crosses the raster's edge";
    case SiteStatus::nodata_window: return "nodata in its window";
    case SiteStatus::nodata_series: return "nodata in its series";
  }
  return "unknown";
}

std::string Extraction::summary() const {
  static const std::vector<std::pair<SiteStatus, const char*>> phrases{
      {SiteStatus::outside, "outside the rasters"},           {SiteStatus::nodata_window, "with nodata in their window"},
      {SiteStatus::nodata_series, "with nodata in their series"}, {SiteStatus::edge, "with a window crossing the raster's edge"},
      {SiteStatus::no_coordinates, "without coordinates"},     {SiteStatus::missing_target, "without a target"},
      {SiteStatus::duplicated_id, "with a duplicated id"}};
  std::string out = std::to_string(kept) + " of " + std::to_string(sites.size()) + " sites kept";
  std::string separator = "; ";
  for (const auto& [status, phrase] : phrases) {
    const auto n = std::count_if(sites.begin(), sites.end(), [s = status](const SiteOutcome& o) { return o.status == s; });
    if (n == 0) continue;
    out += separator + std::to_string(n) + " " + phrase;
    separator = ", ";
  }
  return out;
}

Extraction extract_sites(const ExtractOptions& o) {
  const Rasters rasters = open_rasters(o);  // the rasters first: their errors before the table's
  const SampleTable table = read_sample_table(o.samples);
  Extraction e;
  e.sites = screen_sites(table);
  e.crs = rasters.grid().projection;
  e.x_name = table.x_name, e.y_name = table.y_name;
  e.target_names = o.samples.targets;
  e.targets = static_cast<Index>(o.samples.targets.size());
  e.patch = rasters.statics ? o.patch : 1;
  e.channels = rasters.statics ? rasters.statics->bands() : 0;
  for (Index k = 0; k < e.channels; ++k) e.channel_names.push_back(rasters.statics->band_name(k));
  e.features = static_cast<Index>(rasters.series.size());
  e.feature_names = series_names(o.series);
  e.years = rasters.years;
  transform_sites(table, e.crs, o.samples.path, e.sites);
  cnnlstm::WindowBatch<float> batch;
  for (SiteOutcome& s : e.sites) {
    const bool inside = s.x && pixel_of(rasters.grid(), *s.x, *s.y, s.row, s.col);
    if (s.status != SiteStatus::kept) continue;
    if (!inside) s.status = SiteStatus::outside;
    else cut_site(o, rasters, s, e, batch);
  }
  return e;
}

}  // namespace soc
