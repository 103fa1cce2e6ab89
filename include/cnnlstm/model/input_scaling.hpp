#pragma once
// Standardisation of a model's inputs, feature by feature: the model stores, for each branch
// input, one mean and one scale per index along the input's feature axis (the channels of a
// (N, C, P, P) patch, the features of a (N, T, F) series) and sees (x - mean) / scale.
//
// Why: covariates come in their own units and spreads (the paper's are scaled to [0, 1], but many
// channels then vary by 0.001 to 0.1 between sites, elevation in metres by hundreds); a network
// learns from all of them alike only when they are standardised, and the scaling must be the
// training rows' and travel with the model so that predictions and maps apply the same one.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"

namespace cnnlstm {

// How a scaling is fitted: standard, (x - mean) / sd; minmax, (x - min) / (max - min), the
// training rows' range mapped to [0, 1]. Both are stored as the same (mean, scale) pair.
enum class FeatureScalingKind { standard, minmax };

// One input's scaling along its feature axis; empty: the identity.
struct FeatureScaling {
  std::vector<double> mean, scale;
  bool empty() const { return mean.empty(); }
  bool operator==(const FeatureScaling&) const = default;
};

namespace detail {

// For a row-major shape and an axis: the product of the dimensions after the axis.
template <int Rank>
Index inner_size(const Shape<Rank>& shape, int axis) {
  Index inner = 1;
  for (int d = axis + 1; d < Rank; ++d) inner *= shape[static_cast<std::size_t>(d)];
  return inner;
}

}  // namespace detail

// For every index along `axis` of x (N, ...), over the given rows and all other axes: the mean
// and (population) standard deviation, or (minmax) the minimum and the range. A constant feature
// gets scale 1 (it is only shifted).
template <class T, int Rank>
FeatureScaling fit_feature_scaling(TensorRef<T, Rank> x, int axis, std::span<const std::int64_t> rows,
                                   FeatureScalingKind kind = FeatureScalingKind::standard) {
  const Index width = x.dimension(axis), inner = detail::inner_size<Rank>(x.shape(), axis);
  const Index per_row = x.size() / std::max<Index>(x.dimension(0), 1), outer = per_row / (width * inner);
  std::vector<double> sum(static_cast<std::size_t>(width), 0.0), sum_sq(sum);
  std::vector<double> lowest(sum.size(), std::numeric_limits<double>::infinity()), highest(sum.size(), -lowest[0]);
  for (const std::int64_t r : rows) {
    const T* row = x.data() + r * per_row;
    for (Index o = 0; o < outer; ++o)
      for (Index j = 0; j < width; ++j)
        for (Index i = 0; i < inner; ++i) {
          const double v = static_cast<double>(row[(o * width + j) * inner + i]);
          sum[static_cast<std::size_t>(j)] += v;
          sum_sq[static_cast<std::size_t>(j)] += v * v;
          lowest[static_cast<std::size_t>(j)] = std::min(lowest[static_cast<std::size_t>(j)], v);
          highest[static_cast<std::size_t>(j)] = std::max(highest[static_cast<std::size_t>(j)], v);
        }
  }
  FeatureScaling s;
  const double n = static_cast<double>(rows.size()) * static_cast<double>(outer * inner);
  for (std::size_t j = 0; j < sum.size(); ++j) {
    if (kind == FeatureScalingKind::minmax) {
      const double range = highest[j] - lowest[j];
      s.mean.push_back(lowest[j]);
      s.scale.push_back(range > 1e-9 * std::max(1.0, std::abs(lowest[j])) ? range : 1.0);
      continue;
    }
    const double mean = sum[j] / n;
    const double sd = std::sqrt(std::max(0.0, sum_sq[j] / n - mean * mean));
    s.mean.push_back(mean);
    s.scale.push_back(sd > 1e-9 * std::max(1.0, std::abs(mean)) ? sd : 1.0);
  }
  return s;
}

inline void check_feature_scaling(const FeatureScaling& s, Index width, const std::string& input) {
  if (s.empty()) return;
  if (static_cast<Index>(s.mean.size()) != width || s.scale.size() != s.mean.size())
    throw ShapeError("the input scaling of " + input + " has " + std::to_string(s.mean.size()) + " means and " +
                     std::to_string(s.scale.size()) + " scales, but the input has " + std::to_string(width) +
                     " features along its feature axis");
  for (std::size_t j = 0; j < s.mean.size(); ++j)
    if (!std::isfinite(s.mean[j]) || !(s.scale[j] > 0) || !std::isfinite(s.scale[j]))
      throw ConfigError("the input scaling of " + input + " needs finite means and positive scales (feature " +
                        std::to_string(j) + ")");
}

// out = (x - mean) / scale along `axis` (out takes x's shape).
template <class T, int Rank>
void apply_feature_scaling(TensorRef<T, Rank> x, int axis, const FeatureScaling& s, TensorBuffer<T, Rank>& out) {
  out.resize(x.shape());
  const Index width = x.dimension(axis), inner = detail::inner_size<Rank>(x.shape(), axis);
  const Index blocks = x.size() / std::max<Index>(width * inner, 1);
  T* o = out.data();
  const T* in = x.data();
  for (Index b = 0; b < blocks; ++b)
    for (Index j = 0; j < width; ++j) {
      const auto mean = static_cast<T>(s.mean[static_cast<std::size_t>(j)]);
      const auto inverse = static_cast<T>(1.0 / s.scale[static_cast<std::size_t>(j)]);
      const Index start = (b * width + j) * inner;
      for (Index i = start; i < start + inner; ++i) o[i] = (in[i] - mean) * inverse;
    }
}

// g = g / scale along `axis`, in place: the chain rule from scaled inputs back to raw ones.
template <class T, int Rank>
void unscale_feature_gradient(TensorBuffer<T, Rank>& g, int axis, const FeatureScaling& s) {
  const Index width = g.dimension(axis), inner = detail::inner_size<Rank>(g.shape(), axis);
  const Index blocks = g.size() / std::max<Index>(width * inner, 1);
  T* d = g.data();
  for (Index b = 0; b < blocks; ++b)
    for (Index j = 0; j < width; ++j) {
      const auto inverse = static_cast<T>(1.0 / s.scale[static_cast<std::size_t>(j)]);
      const Index start = (b * width + j) * inner;
      for (Index i = start; i < start + inner; ++i) d[i] *= inverse;
    }
}

}  // namespace cnnlstm
