#pragma once
// The bands of a map at one pixel, from the predictions of its models (the members of an
// ensemble). One model gives one band, its prediction. Several give four: the mean, and Q0.05,
// Q0.5, Q0.95, the members' 5%, 50% and 95% quantiles (linear interpolation between order
// statistics, numpy's default) -- or, with a conformal calibration, Q0.05 and Q0.95 widened to
// the calibrated 90% interval (cnnlstm::prediction_bands, train/uncertainty.hpp). A calibration also
// gives one model the four bands.

#include <cnnlstm/train/uncertainty.hpp>

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace soc {

using Calibration = std::optional<cnnlstm::ConformalCalibration>;

inline std::vector<std::string> map_band_names(std::size_t members, const Calibration& calibration = std::nullopt) {
  if (members == 1 && !calibration) return {"prediction"};
  return {"mean", "Q0.05", "Q0.5", "Q0.95"};
}

// members (K) -> bands (map_band_names(K, calibration).size()).
inline void map_bands(std::span<const double> members, std::span<float> bands, const Calibration& calibration = std::nullopt) {
  if (members.size() == 1 && !calibration) {
    bands[0] = static_cast<float>(members[0]);
    return;
  }
  const auto b = cnnlstm::prediction_bands({members.begin(), members.end()}, calibration);
  bands[0] = static_cast<float>(b.mean);
  bands[1] = static_cast<float>(b.q05);
  bands[2] = static_cast<float>(b.q50);
  bands[3] = static_cast<float>(b.q95);
}

}  // namespace soc
