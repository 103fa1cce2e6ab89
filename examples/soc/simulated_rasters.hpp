#pragma once
// soc simulate --rasters DIR: the simulated region as GeoTIFFs, so the mapping tutorial runs
// without downloads (see simulated_rasters.cpp for the files; needs GDAL).

#include <cnnlstm/simulate.hpp>

#include <string>

#include "command_line.hpp"

namespace soc {

#ifdef SOC_WITH_GDAL
inline void require_raster_support() {}
void write_simulated_rasters(const cnnlstm::SimulatedRegion& region, const std::string& dir);
#else
// Called before anything is written, so a build without GDAL refuses --rasters up front.
inline void require_raster_support() {
  throw UsageError("simulate --rasters: this soc was built without GDAL (install libgdal-dev and rebuild)");
}
inline void write_simulated_rasters(const cnnlstm::SimulatedRegion&, const std::string&) { require_raster_support(); }
#endif

}  // namespace soc
