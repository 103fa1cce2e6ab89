#pragma once
// Accuracy measures of digital soil mapping, for observed values y and predictions p over n sites:
//   RMSE = sqrt(mean((p - y)^2))           MAE  = mean(|p - y|)
//   ME   = mean(p - y)                     (bias; positive when the model over-predicts)
//   R2   = 1 - sum((y - p)^2) / sum((y - mean(y))^2)
//   CCC  = 2 cov(y, p) / (var(y) + var(p) + (mean(y) - mean(p))^2)   (Lin's concordance;
//          population moments)
//   RPIQ = (Q3(y) - Q1(y)) / RMSE          (quartiles by linear interpolation, NumPy's default)

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/errors.hpp"

namespace cnnlstm {

struct Metrics {
  double rmse = 0, mae = 0, me = 0, r2 = 0, ccc = 0, rpiq = 0;
  std::size_t n = 0;
};

// Quantile q in [0, 1] of `sorted` by linear interpolation between order statistics.
inline double quantile_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return std::numeric_limits<double>::quiet_NaN();
  const double position = q * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (position - static_cast<double>(below)) * (sorted[above] - sorted[below]);
}

inline Metrics compute_metrics(const std::vector<double>& observed, const std::vector<double>& predicted) {
  if (observed.size() != predicted.size())
    throw ShapeError("metrics: " + std::to_string(observed.size()) + " observations but " +
                     std::to_string(predicted.size()) + " predictions");
  if (observed.empty()) throw DataError("metrics: no samples to evaluate");
  Metrics m;
  m.n = observed.size();
  const double n = static_cast<double>(m.n);
  double mean_y = 0, mean_p = 0;
  for (std::size_t i = 0; i < m.n; ++i) {
    mean_y += observed[i];
    mean_p += predicted[i];
  }
  mean_y /= n;
  mean_p /= n;
  double sse = 0, sae = 0, se = 0, var_y = 0, var_p = 0, cov = 0;
  for (std::size_t i = 0; i < m.n; ++i) {
    const double e = predicted[i] - observed[i];
    sse += e * e;
    sae += std::abs(e);
    se += e;
    var_y += (observed[i] - mean_y) * (observed[i] - mean_y);
    var_p += (predicted[i] - mean_p) * (predicted[i] - mean_p);
    cov += (observed[i] - mean_y) * (predicted[i] - mean_p);
  }
  m.rmse = std::sqrt(sse / n);
  m.mae = sae / n;
  m.me = se / n;
  m.r2 = var_y > 0 ? 1.0 - sse / var_y : std::numeric_limits<double>::quiet_NaN();
  const double ccc_denominator = var_y / n + var_p / n + (mean_y - mean_p) * (mean_y - mean_p);
  m.ccc = ccc_denominator > 0 ? 2.0 * (cov / n) / ccc_denominator : std::numeric_limits<double>::quiet_NaN();
  std::vector<double> sorted = observed;
  std::sort(sorted.begin(), sorted.end());
  const double iqr = quantile_sorted(sorted, 0.75) - quantile_sorted(sorted, 0.25);
  m.rpiq = m.rmse > 0 ? iqr / m.rmse : std::numeric_limits<double>::infinity();
  return m;
}

inline nlohmann::json to_json(const Metrics& m) {
  const auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
  return {{"n", m.n},          {"rmse", number(m.rmse)}, {"mae", number(m.mae)},
          {"me", number(m.me)}, {"r2", number(m.r2)},     {"ccc", number(m.ccc)},
          {"rpiq", number(m.rpiq)}};
}

}  // namespace cnnlstm
