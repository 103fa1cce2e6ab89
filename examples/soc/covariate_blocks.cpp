// Band blocks of the static covariates and the series (covariate_blocks.hpp).

#include "covariate_blocks.hpp"

namespace soc {

cnnlstm::BandBlock<float> read_static_block(const StaticCovariates& statics, const PixelRect& rect) {
  cnnlstm::BandBlock<float> block{rect, cnnlstm::Tensor<float, 3>(statics.bands(), rect.rows, rect.cols),
                                  std::vector<std::optional<double>>(static_cast<std::size_t>(statics.bands()))};
  statics.read(rect, block.values.data());
  return block;
}

cnnlstm::BandBlock<float> read_series_block(const std::vector<RasterReader>& files, Index years, const PixelRect& rect) {
  const auto features = static_cast<Index>(files.size());
  cnnlstm::BandBlock<float> block{rect, cnnlstm::Tensor<float, 3>(features * years, rect.rows, rect.cols),
                                  std::vector<std::optional<double>>(static_cast<std::size_t>(features * years))};
  for (Index f = 0; f < features; ++f) files[static_cast<std::size_t>(f)].read(rect, 0, years, block.values.data() + f * years * rect.size());
  return block;
}

}  // namespace soc
