#pragma once
// The static covariates of soc extract and soc map: one stacked raster (one band per CNN channel)
// or several rasters whose bands follow one another in the order given (dem.tif slope.tif
// twi.tif ...: channel k is the k-th band counted across the files). Every file must cover the
// same pixels as the first (size, geotransform, projection); one that does not is an error
// naming both files and how they differ, as is a file given twice.

#include "geotiff.hpp"

#include <string>
#include <vector>

namespace soc {

class StaticCovariates {
 public:
  explicit StaticCovariates(const std::vector<std::string>& paths);  // at least one

  const std::vector<RasterReader>& files() const { return files_; }
  const std::vector<std::string>& paths() const { return paths_; }
  const GeoGrid& grid() const { return files_.front().grid(); }
  Index bands() const { return bands_; }
  // Channel k's name: its band description, else its file's name without folder and extension
  // (with the band number when the file holds several bands).
  std::string band_name(Index k) const;
  // "FILE band B" of channel k, for messages.
  std::string source(Index k) const;
  // The files, for messages: the one path, or "a.tif, b.tif, ...".
  std::string describe() const;

  // Every channel over rect into out (bands, rect.rows, rect.cols), in its units (RasterReader::read).
  void read(const PixelRect& rect, float* out) const;

 private:
  struct Channel {
    std::size_t file;
    Index band;
  };
  std::vector<std::string> paths_;
  std::vector<RasterReader> files_;
  std::vector<Channel> channels_;
  Index bands_ = 0;
};

}  // namespace soc
