#pragma once
// soc simulate --rasters DIR: the simulated region as GeoTIFFs, so the mapping tutorial runs
// without downloads (see simulated_rasters.cpp for the files; needs GDAL).

#include <cnnlstm/soilmap/simulate.hpp>

#include <string>
#include <vector>

#include "command_line.hpp"
#include "output_guard.hpp"

namespace soc {

// "series_03_maturity.tif": the number keeps the files in feature order when listed.
inline std::string simulated_series_file(std::size_t feature, const std::string& name) {
  return "series_" + std::string(feature < 10 ? "0" : "") + std::to_string(feature) + "_" + name + ".tif";
}

// "static_01_slope.tif": one static covariate, numbered in channel order likewise.
inline std::string simulated_static_file(std::size_t channel, const std::string& name) {
  return "static_" + std::string(channel < 10 ? "0" : "") + std::to_string(channel) + "_" + name + ".tif";
}

// The names of the files written in DIR.
inline std::vector<std::string> simulated_raster_files() {
  std::vector<std::string> names{"static.tif", "soc_truth.tif", "rasters.json", "samples.csv"};
  const auto series = cnnlstm::simulated_series_names();
  for (std::size_t f = 0; f < series.size(); ++f) names.push_back(simulated_series_file(f, series[f]));
  const auto statics = cnnlstm::simulated_static_names();
  for (std::size_t k = 0; k < statics.size(); ++k) names.push_back(simulated_static_file(k, statics[k]));
  return names;
}

#ifdef SOC_WITH_GDAL
inline void require_raster_support() {}
// Writes the files into the folder, recording each as written (OwnedFolder::wrote); `sites` are
// the sampled sites of the region (their coordinates and SOC), for DIR/samples.csv.
void write_simulated_rasters(const cnnlstm::SimulatedRegion& region, const cnnlstm::SimulatedData& sites, const OwnedFolder& dir);
#else
// Called before anything is written, so a build without GDAL refuses --rasters up front.
inline void require_raster_support() {
  throw UsageError("simulate --rasters: this soc was built without GDAL (install libgdal-dev and rebuild)");
}
inline void write_simulated_rasters(const cnnlstm::SimulatedRegion&, const cnnlstm::SimulatedData&, const OwnedFolder&) {
  require_raster_support();
}
#endif

}  // namespace soc
