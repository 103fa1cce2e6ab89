#pragma once
// Prediction intervals from an ensemble of models, calibrated by split conformal prediction.
//
// For a site, K members predict p_1..p_K. The ensemble's centre is their mean m and its spread
// their standard deviation s. On calibration sites (rows no member trained on: the validation
// rows), the nonconformity score of a site is |y - m| / (s + delta), delta a small floor so a
// single model (s = 0) gives a plain split-conformal interval. With n scores and coverage
// 1 - alpha, q is the ceil((n + 1)(1 - alpha))-th smallest score (Vovk et al.; Lei et al. 2018),
// and the interval is m -+ q (s + delta), which covers a new exchangeable site with probability at
// least 1 - alpha. GlobalSoilMap and SoilGrids publish the 90% interval: alpha = 0.1, bands
// Q0.05 = m - q (s + delta), Q0.5 = the members' median, Q0.95 = m + q (s + delta).
// Without calibration the bands are the members' own 5%, 50% and 95% quantiles.
//
// Cross-conformal calibration (the default recipe, recipe.hpp) scores the out-of-fold predictions
// of an internal cross-validation instead: the score of a training site is its absolute residual
// |y - oof| (no spread: the out-of-fold prediction comes from one network), q is the same rank of
// those n scores, and the interval is m -+ q (scaled_by_spread false). Every training site is a
// calibration site and none is held back from training.
//
// A target with a physical lower limit L (SOC content cannot be below 0) cuts the calibrated
// interval there: [max(lo, L), max(hi, L)]. Every site has y >= L, so a site inside [lo, hi] is
// inside the cut interval too: the coverage guarantee holds, and no band is below L. The mean and
// median are cut at L as well, so that Q0.05 <= mean <= Q0.95 holds at every site.

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/errors.hpp"
#include "metrics.hpp"

namespace cnnlstm {

struct ConformalCalibration {
  double alpha = 0.1;  // 1 - coverage
  double q = 0;        // the calibrated score quantile
  double delta = 0;    // floor added to the spread
  std::size_t n = 0;   // calibration sites
  std::optional<double> lower_limit;  // the target's physical lower limit, if it has one
  bool scaled_by_spread = true;       // half-width q (spread + delta); false: q alone
};

struct PredictionBands {
  double mean = 0, q05 = 0, q50 = 0, q95 = 0;
};

inline double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

inline double sd_of(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

// The bands of one site from its members' predictions.
inline PredictionBands prediction_bands(std::vector<double> members, const std::optional<ConformalCalibration>& c) {
  if (members.empty()) throw UsageError("prediction bands need at least one member");
  PredictionBands b;
  b.mean = mean_of(members);
  const double spread = sd_of(members);
  std::sort(members.begin(), members.end());
  b.q50 = quantile_sorted(members, 0.5);
  if (c) {
    const double half = c->scaled_by_spread ? c->q * (spread + c->delta) : c->q;
    const double floor = c->lower_limit.value_or(-HUGE_VAL);
    b.q05 = std::max(b.mean - half, floor);
    b.q95 = std::max(b.mean + half, floor);
    b.mean = std::max(b.mean, floor);
    b.q50 = std::max(b.q50, floor);
  } else {
    b.q05 = quantile_sorted(members, 0.05);
    b.q95 = quantile_sorted(members, 0.95);
  }
  return b;
}

// An observation below the target's lower limit means the limit is wrong: a DataError naming both.
inline void check_lower_limit(const std::vector<double>& observed, std::optional<double> lower_limit) {
  if (!lower_limit) return;
  if (!std::isfinite(*lower_limit))
    throw ConfigError("the interval's lower limit must be a finite number, got " + message_number(*lower_limit));
  const auto lowest = std::min_element(observed.begin(), observed.end());
  if (lowest != observed.end() && *lowest < *lower_limit)
    throw DataError("the interval's lower limit " + message_number(*lower_limit) + " is above calibration site " +
                    std::to_string(lowest - observed.begin()) + "'s observation " + message_number(*lowest) +
                    ": give the target's true limit, or none for a target that can be negative");
}

// The rank of the calibrated score among n sorted scores at coverage 1 - alpha, 1-based.
inline std::size_t conformal_rank(std::size_t n, double alpha) {
  const auto rank = static_cast<std::size_t>(std::ceil((static_cast<double>(n) + 1) * (1 - alpha)));
  if (rank > n)
    throw DataError("conformal calibration at " + std::to_string(1 - alpha) + " coverage needs at least " +
                    std::to_string(static_cast<long>(std::ceil(1 / alpha - 1))) + " calibration sites, got " + std::to_string(n));
  return rank;
}

// Calibrates on sites with observations y and member predictions (sites x members); intervals
// are cut at lower_limit when the target has one.
inline ConformalCalibration calibrate_conformal(const std::vector<std::vector<double>>& member_predictions,
                                                const std::vector<double>& observed, double alpha,
                                                std::optional<double> lower_limit = std::nullopt) {
  if (!(alpha > 0 && alpha < 1)) throw ConfigError("conformal alpha must be in (0, 1), got " + std::to_string(alpha));
  const std::size_t n = observed.size();
  if (n == 0 || member_predictions.size() != n)
    throw DataError("conformal calibration needs one prediction set per calibration site (" + std::to_string(n) + ")");
  check_lower_limit(observed, lower_limit);
  // delta: 1% of the observations' standard deviation, so a tight ensemble never gives a zero width.
  const double delta = std::max(1e-12, 0.01 * sd_of(observed));
  std::vector<double> scores;
  for (std::size_t i = 0; i < n; ++i)
    scores.push_back(std::abs(observed[i] - mean_of(member_predictions[i])) / (sd_of(member_predictions[i]) + delta));
  std::sort(scores.begin(), scores.end());
  return {alpha, scores[conformal_rank(n, alpha) - 1], delta, n, lower_limit};
}

// Cross-conformal calibration on out-of-fold predictions: scores |y - predicted|, no spread.
inline ConformalCalibration calibrate_residuals(const std::vector<double>& predicted, const std::vector<double>& observed,
                                                double alpha, std::optional<double> lower_limit = std::nullopt) {
  if (!(alpha > 0 && alpha < 1)) throw ConfigError("conformal alpha must be in (0, 1), got " + std::to_string(alpha));
  if (observed.empty() || predicted.size() != observed.size())
    throw DataError("conformal calibration needs one prediction per calibration site (" + std::to_string(observed.size()) + ")");
  check_lower_limit(observed, lower_limit);
  std::vector<double> scores;
  for (std::size_t i = 0; i < observed.size(); ++i) scores.push_back(std::abs(observed[i] - predicted[i]));
  std::sort(scores.begin(), scores.end());
  const double delta = std::max(1e-12, 0.01 * sd_of(observed));
  return {alpha, scores[conformal_rank(scores.size(), alpha) - 1], delta, observed.size(), lower_limit, false};
}

// Prediction interval coverage probability: the share of sites whose observation lies in [q05, q95].
inline double interval_coverage(const std::vector<PredictionBands>& bands, const std::vector<double>& observed) {
  std::size_t inside = 0;
  for (std::size_t i = 0; i < bands.size(); ++i) inside += observed[i] >= bands[i].q05 && observed[i] <= bands[i].q95;
  return static_cast<double>(inside) / static_cast<double>(bands.size());
}

inline nlohmann::json to_json(const ConformalCalibration& c) {
  nlohmann::json j{{"alpha", c.alpha}, {"q", c.q}, {"delta", c.delta}, {"n", c.n}};
  if (c.lower_limit) j["lower_limit"] = *c.lower_limit;
  if (!c.scaled_by_spread) j["scaled_by_spread"] = false;
  return j;
}

inline ConformalCalibration conformal_from_json(const nlohmann::json& j, const std::string& where) {
  try {
    ConformalCalibration c{j.at("alpha").get<double>(), j.at("q").get<double>(), j.at("delta").get<double>(),
                           j.at("n").get<std::size_t>(), std::nullopt};
    if (j.contains("lower_limit")) c.lower_limit = j.at("lower_limit").get<double>();
    if (j.contains("scaled_by_spread")) c.scaled_by_spread = j.at("scaled_by_spread").get<bool>();
    if (!(c.alpha > 0 && c.alpha < 1) || !(c.q >= 0) || !(c.delta > 0) || !std::isfinite(c.q) ||
        (c.lower_limit && !std::isfinite(*c.lower_limit)))
      throw FormatError(where + ": the conformal calibration holds out-of-range values");
    return c;
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(where + ": malformed conformal calibration: " + e.what());
  }
}

}  // namespace cnnlstm
