#pragma once
// The bands of a map at one pixel, from the predictions of its models (the members of an
// ensemble): one model gives one band, its prediction; several give four, the mean and the
// 5%, 50% and 95% quantiles across the members (linear interpolation between order statistics,
// numpy's default: the q-quantile of sorted m_0..m_{K-1} is m_j + f (m_{j+1} - m_j) with
// j + f = q (K - 1)). Q0.05 and Q0.95 bound a 90% interval of the ensemble's spread.

#include <algorithm>
#include <array>
#include <cmath>
#include <span>
#include <string>
#include <vector>

namespace soc {

inline std::vector<std::string> map_band_names(std::size_t members) {
  if (members == 1) return {"prediction"};
  return {"mean", "Q0.05", "Q0.5", "Q0.95"};
}

// The q-quantile of sorted values (q in [0, 1]).
inline double sorted_quantile(std::span<const double> sorted, double q) {
  const double position = q * static_cast<double>(sorted.size() - 1);
  const auto j = static_cast<std::size_t>(std::floor(position));
  if (j + 1 >= sorted.size()) return sorted.back();
  return sorted[j] + (position - static_cast<double>(j)) * (sorted[j + 1] - sorted[j]);
}

// members (K) -> bands (map_band_names(K).size()); sorts the members in place.
inline void map_bands(std::span<double> members, std::span<float> bands) {
  if (members.size() == 1) {
    bands[0] = static_cast<float>(members[0]);
    return;
  }
  double sum = 0;
  for (double m : members) sum += m;
  std::sort(members.begin(), members.end());
  bands[0] = static_cast<float>(sum / static_cast<double>(members.size()));
  constexpr std::array<double, 3> quantiles{0.05, 0.5, 0.95};
  for (std::size_t k = 0; k < quantiles.size(); ++k) bands[k + 1] = static_cast<float>(sorted_quantile(members, quantiles[k]));
}

}  // namespace soc
