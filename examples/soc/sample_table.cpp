// Sample tables from CSV or OGR point layers (sample_table.hpp).

#include "sample_table.hpp"

#include <cnnlstm/core/errors.hpp>
#include <cnnlstm/core/json_reader.hpp>
#include <cnnlstm/io/csv.hpp>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <memory>

namespace soc {
namespace {

using cnnlstm::lower_case;

constexpr std::array<std::pair<const char*, const char*>, 3> coordinate_names{
    {{"lon", "lat"}, {"longitude", "latitude"}, {"x", "y"}}};

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// The header's column spelled `name` in any case, or "".
std::string column_like(const std::vector<std::string>& header, const std::string& name) {
  for (const auto& h : header)
    if (lower_case(h) == lower_case(name)) return h;
  return "";
}

bool is_geographic_name(const std::string& column) {
  const std::string c = lower_case(column);
  return c == "lon" || c == "lat" || c == "longitude" || c == "latitude";
}

void require_column(const std::vector<std::string>& header, const std::string& name, const std::string& path,
                    const std::string& what) {
  if (std::find(header.begin(), header.end(), name) != header.end()) return;
  std::string hint = cnnlstm::closest_match(name, header);
  for (const auto& h : header)  // "SOC_gkg" for "soc" before a column a letter or two away
    if (lower_case(h).find(lower_case(name)) != std::string::npos) {
      hint = h;
      break;
    }
  throw cnnlstm::DataError(path + ": no column named '" + name + "' (" + what + ")" +
                           (hint.empty() ? "" : " (did you mean '" + hint + "'?)") + "; the columns are " + joined(header));
}

struct Srs {
  OGRSpatialReferenceH handle = OSRNewSpatialReference(nullptr);
  Srs() = default;
  Srs(const Srs&) = delete;
  Srs& operator=(const Srs&) = delete;
  ~Srs() { OSRDestroySpatialReference(handle); }
  std::string wkt() const {
    char* text = nullptr;
    OSRExportToWkt(handle, &text);
    std::string out = text ? text : "";
    CPLFree(text);
    return out;
  }
};

// The WKT of a CRS given as "EPSG:N" or any definition OSR reads.
std::string crs_wkt(const std::string& definition) {
  Srs srs;
  CPLErrorReset();
  if (OSRSetFromUserInput(srs.handle, definition.c_str()) != OGRERR_NONE)
    throw cnnlstm::ConfigError("--crs '" + definition + "' is not a coordinate reference system GDAL knows (give EPSG:N): " +
                               std::string(CPLGetLastErrorMsg()));
  return srs.wkt();
}

bool same_crs(const std::string& a, const std::string& b) {
  Srs sa, sb;
  return OSRImportFromWkt(sa.handle, std::array<char*, 1>{const_cast<char*>(a.c_str())}.data()) == OGRERR_NONE &&
         OSRImportFromWkt(sb.handle, std::array<char*, 1>{const_cast<char*>(b.c_str())}.data()) == OGRERR_NONE &&
         OSRIsSame(sa.handle, sb.handle);
}

// --- CSV -------------------------------------------------------------------------------------

std::vector<std::string> csv_ids(const cnnlstm::CsvTable& table, const SampleOptions& o) {
  std::string column = o.id_column;
  if (!column.empty()) require_column(table.header(), column, o.path, "--id");
  else column = column_like(table.header(), "id");
  if (!column.empty()) return table.text(column);
  std::vector<std::string> ids;
  for (std::size_t r = 0; r < table.rows(); ++r) ids.push_back(std::to_string(r + 1));
  return ids;
}

SampleTable read_csv(const SampleOptions& o) {
  const auto table = cnnlstm::CsvTable::read(o.path);
  SampleTable out;
  if (o.x_column.empty() != o.y_column.empty()) throw cnnlstm::ConfigError("give both --x COL and --y COL, or neither");
  if (!o.x_column.empty()) {
    require_column(table.header(), o.x_column, o.path, "--x");
    require_column(table.header(), o.y_column, o.path, "--y");
    out.x_name = o.x_column, out.y_name = o.y_column;
  } else {
    std::tie(out.x_name, out.y_name) = find_coordinate_columns(table.header(), o.path);
  }
  for (const auto& t : o.targets) require_column(table.header(), t, o.path, "--target");
  if (!o.crs.empty()) out.crs = crs_wkt(o.crs);
  else if (is_geographic_name(out.x_name) && is_geographic_name(out.y_name)) out.crs = crs_wkt("EPSG:4326");
  else
    throw cnnlstm::ConfigError(o.path + ": the coordinates in columns '" + out.x_name + "' and '" + out.y_name +
                               "' need their CRS: give --crs EPSG:N (the default EPSG:4326 is only for lon/lat columns)");
  const auto xs = table.optional_numbers(out.x_name), ys = table.optional_numbers(out.y_name);
  std::vector<std::vector<std::optional<double>>> targets;
  for (const auto& t : o.targets) targets.push_back(table.optional_numbers(t));
  const auto ids = csv_ids(table, o);
  for (std::size_t r = 0; r < table.rows(); ++r) {
    SampleSite site{ids[r], "line " + std::to_string(table.line_of_row(r)), xs[r], ys[r], {}};
    for (const auto& column : targets) site.targets.push_back(column[r]);
    out.sites.push_back(std::move(site));
  }
  return out;
}

// --- OGR layers -------------------------------------------------------------------------------

struct VectorFile {
  GDALDatasetH handle = nullptr;
  explicit VectorFile(const std::string& path) {
    GDALAllRegister();
    CPLSetErrorHandler(CPLQuietErrorHandler);
    CPLErrorReset();
    handle = GDALOpenEx(path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, nullptr, nullptr, nullptr);
    if (!handle)
      throw cnnlstm::FormatError(path + ": neither a .csv nor a vector file GDAL reads (GeoPackage, Shapefile, GeoJSON, ...): " +
                                 std::string(CPLGetLastErrorMsg()));
  }
  VectorFile(const VectorFile&) = delete;
  VectorFile& operator=(const VectorFile&) = delete;
  ~VectorFile() { GDALClose(handle); }
};

std::vector<std::string> field_names(OGRLayerH layer) {
  OGRFeatureDefnH definition = OGR_L_GetLayerDefn(layer);
  std::vector<std::string> names;
  for (int i = 0; i < OGR_FD_GetFieldCount(definition); ++i) names.push_back(OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(definition, i)));
  return names;
}

std::string layer_crs(OGRLayerH layer, const SampleOptions& o) {
  OGRSpatialReferenceH srs = OGR_L_GetSpatialRef(layer);
  std::string own;
  if (srs) {
    char* text = nullptr;
    OSRExportToWkt(srs, &text);
    own = text ? text : "";
    CPLFree(text);
  }
  if (own.empty() && o.crs.empty())
    throw cnnlstm::DataError(o.path + ": the layer has no coordinate reference system: give --crs EPSG:N");
  if (own.empty()) return crs_wkt(o.crs);
  if (!o.crs.empty() && !same_crs(own, crs_wkt(o.crs)))
    throw cnnlstm::ConfigError(o.path + ": the layer's own CRS is not --crs " + o.crs + "; leave --crs out for a vector layer");
  return own;
}

std::optional<double> field_number(OGRFeatureH feature, int field) {
  if (field < 0 || !OGR_F_IsFieldSetAndNotNull(feature, field)) return std::nullopt;
  const double v = OGR_F_GetFieldAsDouble(feature, field);
  return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
}

SampleTable read_layer(const SampleOptions& o) {
  if (!o.x_column.empty() || !o.y_column.empty())
    throw cnnlstm::ConfigError(o.path + ": --x and --y name CSV columns; a vector layer's points carry their coordinates");
  const VectorFile file(o.path);
  if (GDALDatasetGetLayerCount(file.handle) < 1) throw cnnlstm::DataError(o.path + ": holds no layer");
  OGRLayerH layer = GDALDatasetGetLayer(file.handle, 0);
  const std::string layer_name = OGR_L_GetName(layer);
  const auto fields = field_names(layer);
  for (const auto& t : o.targets) require_column(fields, t, o.path, "--target");
  if (!o.id_column.empty()) require_column(fields, o.id_column, o.path, "--id");
  const std::string id_column = o.id_column.empty() ? column_like(fields, "id") : o.id_column;
  OGRFeatureDefnH definition = OGR_L_GetLayerDefn(layer);
  const int id_field = id_column.empty() ? -1 : OGR_FD_GetFieldIndex(definition, id_column.c_str());
  std::vector<int> target_fields;
  for (const auto& t : o.targets) target_fields.push_back(OGR_FD_GetFieldIndex(definition, t.c_str()));
  SampleTable out{{}, layer_crs(layer, o), "x", "y"};
  OGR_L_ResetReading(layer);
  cnnlstm::Index number = 0;
  for (OGRFeatureH feature; (feature = OGR_L_GetNextFeature(layer)) != nullptr; OGR_F_Destroy(feature)) {
    ++number;
    SampleSite site{id_field >= 0 ? OGR_F_GetFieldAsString(feature, id_field) : std::to_string(number),
                    "feature " + std::to_string(number), std::nullopt, std::nullopt, {}};
    if (OGRGeometryH g = OGR_F_GetGeometryRef(feature)) {
      if (wkbFlatten(OGR_G_GetGeometryType(g)) != wkbPoint) {
        const std::string type = OGRGeometryTypeToName(OGR_G_GetGeometryType(g));
        OGR_F_Destroy(feature);
        throw cnnlstm::DataError(o.path + ": layer '" + layer_name + "', feature " + std::to_string(number) + " is a " + type +
                                 ", not a point: soc extract reads sampling sites as points");
      }
      if (!OGR_G_IsEmpty(g)) site.x = OGR_G_GetX(g, 0), site.y = OGR_G_GetY(g, 0);
    }
    for (const int f : target_fields) site.targets.push_back(field_number(feature, f));
    out.sites.push_back(std::move(site));
  }
  return out;
}

}  // namespace

std::pair<std::string, std::string> find_coordinate_columns(const std::vector<std::string>& header, const std::string& path) {
  for (const auto& [x, y] : coordinate_names) {
    const std::string cx = column_like(header, x), cy = column_like(header, y);
    if (!cx.empty() && !cy.empty()) return {cx, cy};
  }
  std::string hint;
  for (const auto& [x, y] : coordinate_names)
    for (const char* name : {x, y})
      if (column_like(header, name).empty())
        if (const std::string near = cnnlstm::closest_match(name, header); !near.empty() && hint.empty())
          hint = " (did you mean '" + near + "' for '" + name + "'?)";
  throw cnnlstm::DataError(path + ": no coordinate columns found (looked for lon/lat, longitude/latitude and x/y, in any case)" +
                           hint + "; the columns are " + joined(header) + "; name them with --x COL --y COL");
}

SampleTable read_sample_table(const SampleOptions& o) {
  if (o.targets.empty()) throw cnnlstm::ConfigError("give at least one --target COLUMN");
  std::error_code error;
  if (!std::filesystem::exists(o.path, error)) throw cnnlstm::IoError("cannot read '" + o.path + "': no such file");
  GDALAllRegister();
  CPLSetErrorHandler(CPLQuietErrorHandler);
  SampleTable table = lower_case(std::filesystem::path(o.path).extension().string()) == ".csv" ? read_csv(o) : read_layer(o);
  if (table.sites.empty()) throw cnnlstm::DataError(o.path + ": holds no sites");
  return table;
}

}  // namespace soc
