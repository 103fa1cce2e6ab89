#pragma once
// A quick-look picture of a map for a person: band 1 scaled to about 640 pixels on its longer
// side (nearest neighbour), coloured with a viridis-like ramp stretched between the 2nd and 98th
// percentiles of its values, nodata in grey, with a title, a colour bar with five labelled ticks,
// and a nodata swatch; for an ensemble's four bands, a second panel beside it shows the width of
// the 90% interval, Q0.95 - Q0.05. Written as PNG through GDAL.

#include <string>

namespace soc {

void write_quicklook(const std::string& map_path, const std::string& png_path, const std::string& title, double nodata);

}  // namespace soc
