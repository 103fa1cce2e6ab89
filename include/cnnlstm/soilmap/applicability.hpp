#pragma once
// The area of applicability (AOA) of a model, after Meyer & Pebesma 2021 (Methods Ecol. Evol. 12,
// 1620; the CAST package's aoa()): where the predictors resemble the training sites' enough for
// the model's cross-validated error to hold.
//
//   predictor space  one value per static channel (its mean over the site's P x P window) and one
//                    per series feature (its mean over the years): D = C + F values per site, the
//                    inputs the model sees, summarised at the granularity permutation importance
//                    measures (soilmap/importance.hpp)
//   distance         Euclidean, after standardising each value by the training sites' mean and sd
//                    and weighting it by its importance
//   DI               a site's distance to the nearest training site, divided by the mean distance
//                    between training sites
//   threshold        the training sites' cross-validated DI (distance to the nearest training site
//                    in another fold) has its outliers removed: the largest DI not above
//                    Q75 + 1.5 IQR (the upper whisker of a box plot); DI above it is outside the AOA
//
// Why the covariates and not the network's own features before the head: those are bounded
// (tanh) or clipped at zero (ReLU), so covariates far outside the training sites' can map onto
// features the training sites also have, and each member of an ensemble has its own; the
// covariates are one space for the whole ensemble, where "far from every training site" means
// what the user sees in the rasters (docs/mapping.md, "Area of applicability").

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/json_reader.hpp"
#include "../core/random.hpp"
#include "../train/dataset.hpp"
#include "nearest_neighbour.hpp"

namespace cnnlstm {

// The predictor vectors (N, D) of n sites into out, row-major: x_cnn (n, C, P, P) and x_lstm
// (n, T, F), either may be absent. D = C + F. out keeps its capacity (no allocation once grown).
template <class T>
void applicability_predictors(const T* x_cnn, Index channels, Index patch, const T* x_lstm, Index years, Index features,
                              Index n, std::vector<double>& out) {
  const Index d = channels + features, window = patch * patch;
  out.resize(static_cast<std::size_t>(n * d));
  for (Index i = 0; i < n; ++i) {
    double* row = out.data() + i * d;
    for (Index c = 0; c < channels; ++c) {
      const T* v = x_cnn + (i * channels + c) * window;
      double sum = 0;
      for (Index k = 0; k < window; ++k) sum += static_cast<double>(v[k]);
      row[c] = sum / static_cast<double>(window);
    }
    for (Index f = 0; f < features; ++f) {
      const T* v = x_lstm + i * years * features + f;
      double sum = 0;
      for (Index t = 0; t < years; ++t) sum += static_cast<double>(v[t * features]);
      row[channels + f] = sum / static_cast<double>(years);
    }
  }
}

template <class T>
std::vector<double> applicability_predictors(const T* x_cnn, Index channels, Index patch, const T* x_lstm, Index years,
                                             Index features, Index n) {
  std::vector<double> out;
  applicability_predictors(x_cnn, channels, patch, x_lstm, years, features, n, out);
  return out;
}

// The predictor vectors of every row of a data set.
template <class T>
std::vector<double> applicability_predictors(const SoilData<T>& data) {
  const auto& c = data.x_cnn;
  const auto& s = data.x_lstm;
  return applicability_predictors<T>(c ? c->data() : nullptr, c ? c->dimension(1) : 0, c ? c->dimension(2) : 0,
                                     s ? s->data() : nullptr, s ? s->dimension(1) : 0, s ? s->dimension(2) : 0, data.rows);
}

namespace detail {

// Quantile of sorted values, R's type 7 (linear between order statistics).
inline double quantile_sorted(const std::vector<double>& sorted, double p) {
  const double h = (static_cast<double>(sorted.size()) - 1) * p;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

// The largest value not above Q75 + 1.5 IQR.
inline double upper_whisker(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const double q25 = quantile_sorted(values, 0.25), q75 = quantile_sorted(values, 0.75);
  const double fence = q75 + 1.5 * (q75 - q25);
  return *(std::upper_bound(values.begin(), values.end(), fence) - 1);
}

// Mean Euclidean distance between the points (N, D): over all pairs up to `exact_up_to` points,
// else over `sampled_pairs` random pairs of distinct points.
inline double mean_pairwise_distance(const std::vector<double>& points, Index d, std::uint64_t seed,
                                     Index exact_up_to = 3000, Index sampled_pairs = 2'000'000) {
  const Index n = static_cast<Index>(points.size()) / d;
  const auto distance = [&](Index a, Index b) {
    double sum = 0;
    for (Index k = 0; k < d; ++k) {
      const double g = points[static_cast<std::size_t>(a * d + k)] - points[static_cast<std::size_t>(b * d + k)];
      sum += g * g;
    }
    return std::sqrt(sum);
  };
  double total = 0, pairs = 0;
  if (n <= exact_up_to) {
    for (Index a = 0; a < n; ++a)
      for (Index b = a + 1; b < n; ++b) total += distance(a, b);
    pairs = static_cast<double>(n) * static_cast<double>(n - 1) / 2;
  } else {
    Rng rng(seed);
    for (Index i = 0; i < sampled_pairs; ++i) {
      const auto a = static_cast<Index>(rng.below(static_cast<std::uint64_t>(n)));
      const auto b = static_cast<Index>(rng.below(static_cast<std::uint64_t>(n - 1)));
      total += distance(a, b >= a ? b + 1 : b);
    }
    pairs = static_cast<double>(sampled_pairs);
  }
  return total / pairs;
}

}  // namespace detail

class AreaOfApplicability {
 public:
  // What fit() learns and the model file stores.
  struct Record {
    Index channels = 0, features = 0;   // D = channels + features
    std::vector<double> mean, scale;    // (D) standardisation of the training predictors
    std::vector<double> weights;        // (D) importance weights, >= 0, largest 1
    std::vector<double> points;         // (N, D) training sites, standardised and weighted
    double mean_distance = 0;           // between training sites, in that space
    double threshold = 0;               // DI above it: outside the AOA
    bool operator==(const Record&) const = default;
  };

  AreaOfApplicability() = default;
  explicit AreaOfApplicability(Record record) : record_(std::move(record)) {
    validate();
    tree_ = NearestNeighbours(record_.points, dimensions());
  }

  // Fits on the training sites' predictors (N, D) (applicability_predictors), their importances
  // (D; negative ones count as 0; all 0: equal weights) and cross-validation folds (one label per
  // site; the threshold's DI of a site is to the nearest site of another fold).
  static AreaOfApplicability fit(const std::vector<double>& predictors, Index channels, Index features,
                                 std::vector<double> importance, const std::vector<std::int64_t>& folds,
                                 std::uint64_t seed = 0) {
    Record r;
    r.channels = channels;
    r.features = features;
    const Index d = channels + features, n = d > 0 ? static_cast<Index>(predictors.size()) / d : 0;
    if (d < 1 || n * d != static_cast<Index>(predictors.size()) || static_cast<Index>(importance.size()) != d)
      throw ShapeError("area of applicability: " + std::to_string(predictors.size()) + " predictor values and " +
                       std::to_string(importance.size()) + " importances for " + std::to_string(d) + " predictors");
    if (n < 2 || static_cast<Index>(folds.size()) != n)
      throw DataError("area of applicability: needs at least 2 training sites, each with its fold (got " +
                      std::to_string(n) + " sites and " + std::to_string(folds.size()) + " folds)");
    standardisation(predictors, n, d, r.mean, r.scale);
    r.weights = normalised_weights(std::move(importance));
    r.points.resize(predictors.size());
    for (Index i = 0; i < n; ++i) transform(r, predictors.data() + i * d, r.points.data() + i * d);
    r.mean_distance = detail::mean_pairwise_distance(r.points, d, seed);
    if (!(r.mean_distance > 0))
      throw DataError("area of applicability: all training sites have the same predictors");
    const NearestNeighbours by_fold(r.points, d, folds);
    std::vector<double> training_di;
    for (Index i = 0; i < n; ++i) {
      const auto hit = by_fold.nearest(r.points.data() + i * d, folds[static_cast<std::size_t>(i)]);
      if (hit.index < 0) throw DataError("area of applicability: the training sites lie in one fold; at least 2 are needed");
      training_di.push_back(hit.distance / r.mean_distance);
    }
    r.threshold = detail::upper_whisker(std::move(training_di));
    return AreaOfApplicability(std::move(r));
  }

  const Record& record() const { return record_; }
  Index dimensions() const { return record_.channels + record_.features; }
  Index sites() const { return tree_.size(); }
  double threshold() const { return record_.threshold; }

  // The DI of one predictor vector (D raw values); NaN if any is not finite.
  double dissimilarity(const double* predictors) const {
    std::vector<double> z(static_cast<std::size_t>(dimensions()));
    return dissimilarity(predictors, z.data());
  }
  // The same with a caller's scratch buffer of D values (no allocation).
  double dissimilarity(const double* predictors, double* scratch) const {
    for (Index k = 0; k < dimensions(); ++k)
      if (!std::isfinite(predictors[k])) return std::numeric_limits<double>::quiet_NaN();
    transform(record_, predictors, scratch);
    return tree_.nearest(scratch).distance / record_.mean_distance;
  }
  bool inside(double di) const { return di <= record_.threshold; }

 private:
  static void standardisation(const std::vector<double>& x, Index n, Index d, std::vector<double>& mean,
                              std::vector<double>& scale) {
    mean.assign(static_cast<std::size_t>(d), 0.0);
    scale.assign(static_cast<std::size_t>(d), 0.0);
    for (Index i = 0; i < n; ++i)
      for (Index k = 0; k < d; ++k) mean[static_cast<std::size_t>(k)] += x[static_cast<std::size_t>(i * d + k)];
    for (auto& m : mean) m /= static_cast<double>(n);
    for (Index i = 0; i < n; ++i)
      for (Index k = 0; k < d; ++k) {
        const double g = x[static_cast<std::size_t>(i * d + k)] - mean[static_cast<std::size_t>(k)];
        scale[static_cast<std::size_t>(k)] += g * g;
      }
    for (std::size_t k = 0; k < scale.size(); ++k) {
      const double sd = std::sqrt(scale[k] / static_cast<double>(n));
      scale[k] = sd > 1e-12 * std::max(1.0, std::abs(mean[k])) ? sd : 1.0;  // a constant predictor is only centred
    }
  }

  static std::vector<double> normalised_weights(std::vector<double> w) {
    for (auto& v : w) v = std::isfinite(v) ? std::max(v, 0.0) : 0.0;
    const double largest = *std::max_element(w.begin(), w.end());
    for (auto& v : w) v = largest > 0 ? v / largest : 1.0;
    return w;
  }

  static void transform(const Record& r, const double* x, double* out) {
    for (std::size_t k = 0; k < r.mean.size(); ++k) out[k] = (x[k] - r.mean[k]) / r.scale[k] * r.weights[k];
  }

  void validate() const {
    const auto d = static_cast<std::size_t>(dimensions());
    const auto finite = [](const std::vector<double>& v) {
      return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
    };
    if (record_.channels < 0 || record_.features < 0 || d == 0 || record_.mean.size() != d || record_.scale.size() != d ||
        record_.weights.size() != d || record_.points.size() % d != 0 || record_.points.size() < 2 * d)
      throw FormatError("area of applicability: its record holds " + std::to_string(record_.mean.size()) + " means, " +
                        std::to_string(record_.scale.size()) + " scales, " + std::to_string(record_.weights.size()) +
                        " weights and " + std::to_string(record_.points.size()) + " point values for " +
                        std::to_string(d) + " predictors");
    if (!finite(record_.mean) || !finite(record_.points) ||
        !std::all_of(record_.scale.begin(), record_.scale.end(), [](double s) { return std::isfinite(s) && s > 0; }) ||
        !std::all_of(record_.weights.begin(), record_.weights.end(), [](double w) { return w >= 0 && w <= 1; }) ||
        !(record_.mean_distance > 0 && std::isfinite(record_.mean_distance)) ||
        !(record_.threshold >= 0 && std::isfinite(record_.threshold)))
      throw FormatError("area of applicability: its record has non-finite values, or scales, weights, the mean distance "
                        "or the threshold out of range");
  }

  Record record_;
  NearestNeighbours tree_;
};

// The JSON of a model file's "area_of_applicability" metadata entry.
inline nlohmann::json to_json(const AreaOfApplicability& a) {
  const auto& r = a.record();
  return {{"space", "covariates"}, {"channels", r.channels}, {"features", r.features}, {"mean", r.mean},
          {"scale", r.scale},      {"weights", r.weights},   {"points", r.points},     {"mean_distance", r.mean_distance},
          {"threshold", r.threshold}};
}

inline AreaOfApplicability area_of_applicability_from_json(const nlohmann::json& j, const std::string& where) {
  AreaOfApplicability::Record r;
  std::string space;
  try {
    JsonObjectReader reader(j, where, "area_of_applicability");
    reader.read("space", space);
    reader.read("channels", r.channels, 0, 1e6);
    reader.read("features", r.features, 0, 1e6);
    reader.read("mean", r.mean);
    reader.read("scale", r.scale);
    reader.read("weights", r.weights);
    reader.read("points", r.points);
    reader.read("mean_distance", r.mean_distance);
    reader.read("threshold", r.threshold);
    reader.finish();
  } catch (const ConfigError& e) {
    throw FormatError(e.what());
  }
  if (space != "covariates")
    throw FormatError(where + ": area_of_applicability.space must be \"covariates\", got \"" + space + "\"");
  try {
    return AreaOfApplicability(std::move(r));
  } catch (const FormatError& e) {
    throw FormatError(where + ": " + e.what());
  }
}

}  // namespace cnnlstm
