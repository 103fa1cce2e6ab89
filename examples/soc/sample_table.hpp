#pragma once
// The sampling sites of soc extract, from a sample table: a CSV file (read by cnnlstm's strict
// CSV reader, io/csv.hpp) or any point layer GDAL/OGR reads (GeoPackage, Shapefile, GeoJSON, ...).
//
// Coordinates. A CSV names its coordinate columns: --x COL --y COL, else the first pair found by
// name, ignoring case: lon/lat, longitude/latitude, x/y. Their CRS is --crs (EPSG:N or any
// definition OSR reads); without it, EPSG:4326 for lon/lat or longitude/latitude columns, and an
// error for others. A vector layer carries its own CRS (--crs must agree with it if given); its
// features must be points (a null geometry is a site without coordinates).
// Identifiers. --id COL, else a column named id (any case), else the row number (from 1).
// Targets. One or more columns (--target); an empty field or NA is a missing value. A missing
// coordinate or target is not an error: the site is reported and left out (site_extraction.hpp).

#include <cnnlstm/core/tensor.hpp>

#include <optional>
#include <string>
#include <vector>

namespace soc {

struct SampleOptions {
  std::string path;
  std::vector<std::string> targets;  // at least one
  std::string crs;                   // "" for the default
  std::string x_column, y_column;    // "" to find them by name
  std::string id_column;             // "" for id, else the row number
};

struct SampleSite {
  std::string id;
  std::string where;                    // "line 7" of a CSV, "feature 7" of a layer, for messages
  std::optional<double> x, y;           // in the table's CRS
  std::vector<std::optional<double>> targets;
};

struct SampleTable {
  std::vector<SampleSite> sites;
  std::string crs;                      // the sites' CRS as WKT
  std::string x_name, y_name;           // the coordinate columns ("x", "y" for a layer's points)
};

// ConfigError, DataError (columns not found, not points, no CRS), FormatError or IoError naming the file.
SampleTable read_sample_table(const SampleOptions& options);

// The coordinate columns of a header by name (see above): {x, y}, or a DataError listing the
// columns with a did-you-mean.
std::pair<std::string, std::string> find_coordinate_columns(const std::vector<std::string>& header, const std::string& path);

}  // namespace soc
