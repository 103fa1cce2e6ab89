// The static covariates as one stack or several files (static_covariates.hpp).

#include "static_covariates.hpp"

#include "output_guard.hpp"

#include <cnnlstm/core/errors.hpp>

#include <filesystem>

namespace soc {

StaticCovariates::StaticCovariates(const std::vector<std::string>& paths) : paths_(paths) {
  if (paths.empty()) throw cnnlstm::ConfigError("no static covariate raster given");
  for (const std::string& path : paths) {
    for (const RasterReader& earlier : files_)
      if (same_file(path, earlier.path()))
        throw cnnlstm::DataError(path + ": given twice as a static covariate (also as " + earlier.path() +
                                 "); each channel has its own band");
    files_.emplace_back(path);
    const RasterReader& file = files_.back();
    if (const std::string diff = grid_difference(file.grid(), files_.front().grid()); !diff.empty())
      throw cnnlstm::DataError(path + ": " + diff + " as in " + paths.front() +
                               " (every static covariate file must cover the same pixels: same size, geotransform and projection)");
    for (Index b = 0; b < file.bands(); ++b) channels_.push_back({files_.size() - 1, b});
  }
  bands_ = static_cast<Index>(channels_.size());
}

std::string StaticCovariates::band_name(Index k) const {
  const Channel& ch = channels_[static_cast<std::size_t>(k)];
  const RasterReader& file = files_[ch.file];
  if (std::string d = file.description(ch.band); !d.empty()) return d;
  const std::string stem = std::filesystem::path(file.path()).stem().string();
  return file.bands() == 1 ? stem : stem + " band " + std::to_string(ch.band + 1);
}

std::string StaticCovariates::source(Index k) const {
  const Channel& ch = channels_[static_cast<std::size_t>(k)];
  return files_[ch.file].path() + " band " + std::to_string(ch.band + 1);
}

std::string StaticCovariates::describe() const {
  std::string out;
  for (const std::string& p : paths_) out += (out.empty() ? "" : ", ") + p;
  return out;
}

void StaticCovariates::read(const PixelRect& rect, float* out) const {
  Index k = 0;
  for (const RasterReader& file : files_) {
    file.read(rect, 0, file.bands(), out + k * rect.size());
    k += file.bands();
  }
}

}  // namespace soc
