#pragma once
// soc extract's work: the sampling sites of a sample table (sample_table.hpp) placed on the
// covariate rasters, and each kept site's model inputs cut by the code soc map uses
// (covariate_blocks.hpp, soilmap/raster_window.hpp: the same window, edge and nodata rules), so
// that a site and the map's pixel that holds it see the same numbers.
//
// Each site's coordinates are transformed from the table's CRS into the rasters' (GDAL/OSR, in
// the traditional lon, lat / x, y order whatever the CRS's axis order), and the site takes the
// pixel that holds it. A site is left out, with its reason, when it
//   has no coordinates | shares its id with another site (all such sites) | lacks a target |
//   lies outside the rasters | its window crosses the raster's edge (edge mode nodata) |
//   its window touches nodata | its series holds nodata.
// A raster without a CRS, rasters that disagree, or geographic coordinates out of range are errors.
//
//   x_cnn  (N, C, P, P), x_lstm (N, T, F), y (N, K), coords (N, 2) in the rasters' CRS

#include "sample_table.hpp"

#include <cnnlstm/soilmap/raster_window.hpp>

#include <string>
#include <vector>

namespace soc {

using cnnlstm::Index;

struct ExtractOptions {
  SampleOptions samples;
  std::vector<std::string> statics;  // one stack or one file per channel, as soc map --static
  std::vector<std::string> series;   // one file per feature, one band per year, as soc map --series
  Index patch = 5;                   // P, odd
  cnnlstm::EdgeMode edge = cnnlstm::EdgeMode::nodata;
};

enum class SiteStatus { kept, no_coordinates, duplicated_id, missing_target, outside, edge, nodata_window, nodata_series };

// "kept", or the reason a site was left out, as sites.csv says it.
std::string to_string(SiteStatus status);

// One input site, kept or not (a row of sites.csv).
struct SiteOutcome {
  SampleSite site;
  std::optional<double> x, y;  // in the rasters' CRS
  Index row = -1, col = -1;    // the pixel that holds it
  SiteStatus status = SiteStatus::kept;
  Index array_row = -1;        // its row in the arrays, if kept
};

struct Extraction {
  std::vector<SiteOutcome> sites;  // every input site, in the table's order
  Index kept = 0, channels = 0, patch = 1, years = 0, features = 0, targets = 0;
  std::vector<float> x_cnn;        // (kept, channels, patch, patch); empty without statics
  std::vector<float> x_lstm;       // (kept, years, features); empty without series
  std::vector<float> y;            // (kept, targets)
  std::vector<double> coords;      // (kept, 2): x, y in the rasters' CRS
  std::vector<std::string> channel_names, feature_names, target_names;
  std::string x_name, y_name;      // the table's coordinate columns
  std::string crs;                 // the rasters' CRS (WKT)

  // "412 of 430 sites kept; 11 outside the rasters, 7 with nodata in their window"
  std::string summary() const;
};

Extraction extract_sites(const ExtractOptions& options);

}  // namespace soc
