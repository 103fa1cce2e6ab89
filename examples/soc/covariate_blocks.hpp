#pragma once
// The band blocks that soc map and soc extract cut their windows from (soilmap/raster_window.hpp),
// read by the one code both use, so that a sampling site and its mapped pixel see the same numbers:
//   statics (C, rect.rows, rect.cols)      channel k = the k-th band across the static files
//   series  (F * Y, rect.rows, rect.cols)  feature f's year t at band f * Y + t
// Values are in their units (RasterReader::read: scale and offset applied), NaN where a pixel has
// none; the blocks declare no nodata value of their own, as a stored nodata value means nothing
// once scaled.

#include "geotiff.hpp"
#include "static_covariates.hpp"

#include <cnnlstm/soilmap/raster_window.hpp>

#include <vector>

namespace soc {

cnnlstm::BandBlock<float> read_static_block(const StaticCovariates& statics, const PixelRect& rect);
cnnlstm::BandBlock<float> read_series_block(const std::vector<RasterReader>& files, Index years, const PixelRect& rect);

}  // namespace soc
