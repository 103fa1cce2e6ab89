#pragma once
// The training range of every model input, and the check that new inputs lie in it.
//
// soc train records, for each static channel (over every pixel of the training sites' windows)
// and each series feature (over every year), the smallest and largest value the training sites
// held, in the inputs' own units (before the model's input scaling). soc predict and soc map
// tally the values they are given against these ranges and refuse inputs that
//   - lie mostly outside the range (more than half of them beyond a margin of 10% of its span):
//     the signature of wrong units or a scale factor not applied (x100, Int16 with scale 1e-4,
//     a Byte stack of 0..255 for covariates trained on 0..1), or
//   - hold values far outside it (more than 0.1% of them over 10 spans beyond): the signature of
//     a nodata value the raster does not declare (-9999, 32767 read as data),
// with a message naming the input, the range and the values seen. A region some way outside the
// range is not refused: that is extrapolation, which the area of applicability shows pixel by pixel.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/json_reader.hpp"
#include "../train/dataset.hpp"

namespace cnnlstm {

struct ValueRange {
  double min = std::numeric_limits<double>::infinity(), max = -std::numeric_limits<double>::infinity();
  void add(double v) {
    min = std::min(min, v);
    max = std::max(max, v);
  }
  // The span used for margins: never 0, so a constant training input still has a scale.
  double span() const { return std::max(max - min, 1e-6 * std::max({1.0, std::abs(min), std::abs(max)})); }
  bool operator==(const ValueRange&) const = default;
};

struct InputRanges {
  std::vector<ValueRange> channels;  // (C) static channels
  std::vector<ValueRange> features;  // (F) series features
  bool empty() const { return channels.empty() && features.empty(); }
  bool operator==(const InputRanges&) const = default;
};

// The ranges of the given rows' inputs (non-finite values skipped).
template <class T>
InputRanges fit_input_ranges(const SoilData<T>& data, std::span<const std::int64_t> rows) {
  InputRanges r;
  if (data.x_cnn) {
    const auto& x = *data.x_cnn;
    const Index channels = x.dimension(1), window = x.dimension(2) * x.dimension(3);
    r.channels.resize(static_cast<std::size_t>(channels));
    for (const auto row : rows)
      for (Index c = 0; c < channels; ++c)
        for (Index k = 0; k < window; ++k) {
          const auto v = static_cast<double>(x.data()[(row * channels + c) * window + k]);
          if (std::isfinite(v)) r.channels[static_cast<std::size_t>(c)].add(v);
        }
  }
  if (data.x_lstm) {
    const auto& x = *data.x_lstm;
    const Index years = x.dimension(1), features = x.dimension(2);
    r.features.resize(static_cast<std::size_t>(features));
    for (const auto row : rows)
      for (Index t = 0; t < years; ++t)
        for (Index f = 0; f < features; ++f) {
          const auto v = static_cast<double>(x.data()[(row * years + t) * features + f]);
          if (std::isfinite(v)) r.features[static_cast<std::size_t>(f)].add(v);
        }
  }
  return r;
}

// The rules of the check (see the top of this file).
struct RangeRules {
  double margin = 0.1;       // a value within margin x span of the range counts as inside
  double mostly = 0.5;       // refuse when more than this share lies outside
  double far = 10;           // "far outside": more than this many spans beyond the range
  double far_share = 0.001;  // refuse when more than this share lies far outside
};

// What one input received.
struct RangeTally {
  Index values = 0, outside = 0, far_outside = 0;
  ValueRange seen;
  void add(double v, const ValueRange& range, const RangeRules& rules) {
    if (!std::isfinite(v)) return;
    ++values;
    seen.add(v);
    const double beyond = std::max(range.min - v, v - range.max) / range.span();
    outside += beyond > rules.margin;
    far_outside += beyond > rules.far;
  }
  void merge(const RangeTally& other) {
    values += other.values;
    outside += other.outside;
    far_outside += other.far_outside;
    seen.add(other.seen.min);
    seen.add(other.seen.max);
  }
};

class InputRangeCheck {
 public:
  explicit InputRangeCheck(InputRanges ranges, RangeRules rules = {})
      : ranges_(std::move(ranges)), rules_(rules), channels_(ranges_.channels.size()), features_(ranges_.features.size()) {}

  const InputRanges& ranges() const { return ranges_; }
  Index channels() const { return static_cast<Index>(channels_.size()); }
  Index features() const { return static_cast<Index>(features_.size()); }

  // n values of static channel c, or of series feature f (any years), `stride` apart.
  template <class T>
  void add_channel(Index c, const T* values, Index n, Index stride = 1) {
    add(channels_.at(static_cast<std::size_t>(c)), ranges_.channels[static_cast<std::size_t>(c)], values, n, stride);
  }
  template <class T>
  void add_feature(Index f, const T* values, Index n, Index stride = 1) {
    add(features_.at(static_cast<std::size_t>(f)), ranges_.features[static_cast<std::size_t>(f)], values, n, stride);
  }

  // Every value of n sites' inputs: x_cnn (n, C, P, P) and x_lstm (n, T, F), either may be null.
  template <class T>
  void add_sites(const T* x_cnn, Index patch, const T* x_lstm, Index years, Index n) {
    const Index window = patch * patch;
    for (Index i = 0; i < n; ++i) {
      for (Index c = 0; x_cnn && c < channels(); ++c) add_channel(c, x_cnn + (i * channels() + c) * window, window);
      for (Index f = 0; x_lstm && f < features(); ++f) add_feature(f, x_lstm + i * years * features() + f, years, features());
    }
  }

  void merge(const InputRangeCheck& other) {
    for (std::size_t c = 0; c < channels_.size(); ++c) channels_[c].merge(other.channels_.at(c));
    for (std::size_t f = 0; f < features_.size(); ++f) features_[f].merge(other.features_.at(f));
  }

  const RangeTally& channel(Index c) const { return channels_.at(static_cast<std::size_t>(c)); }
  const RangeTally& feature(Index f) const { return features_.at(static_cast<std::size_t>(f)); }

  // One message per refused input (empty: all is well). Names label channels and features.
  std::vector<std::string> problems(const std::vector<std::string>& channel_names = {},
                                    const std::vector<std::string>& feature_names = {}) const {
    std::vector<std::string> out;
    for (std::size_t c = 0; c < channels_.size(); ++c)
      describe("static channel " + std::to_string(c) + label(channel_names, c), channels_[c], ranges_.channels[c], out);
    for (std::size_t f = 0; f < features_.size(); ++f)
      describe("series feature " + std::to_string(f) + label(feature_names, f), features_[f], ranges_.features[f], out);
    return out;
  }

 private:
  template <class T>
  void add(RangeTally& tally, const ValueRange& range, const T* values, Index n, Index stride) const {
    for (Index i = 0; i < n; ++i) tally.add(static_cast<double>(values[i * stride]), range, rules_);
  }

  static std::string label(const std::vector<std::string>& names, std::size_t i) {
    return i < names.size() && !names[i].empty() ? " ('" + names[i] + "')" : "";
  }

  static std::string number(double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", v);
    return text;
  }

  static std::string percent(Index part, Index whole) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f%%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
    return text;
  }

  void describe(const std::string& input, const RangeTally& t, const ValueRange& range, std::vector<std::string>& out) const {
    if (t.values == 0) return;
    const std::string trained = "the training sites' range [" + number(range.min) + ", " + number(range.max) + "]";
    const std::string seen = " (values seen: " + number(t.seen.min) + " to " + number(t.seen.max) + ")";
    const auto share = [&](Index k) { return static_cast<double>(k) / static_cast<double>(t.values); };
    if (share(t.outside) > rules_.mostly)
      out.push_back(input + ": " + percent(t.outside, t.values) + " of " + std::to_string(t.values) +
                    " values lie outside " + trained + seen +
                    ": other units than the training data's, or a scale factor not applied?");
    else if (share(t.far_outside) > rules_.far_share)
      out.push_back(input + ": " + std::to_string(t.far_outside) + " of " + std::to_string(t.values) +
                    " values lie more than " + number(rules_.far) + " times its width beyond " + trained + seen +
                    ": a nodata value the file does not declare?");
  }

  InputRanges ranges_;
  RangeRules rules_;
  std::vector<RangeTally> channels_, features_;
};

// The JSON of a model file's "input_ranges" metadata entry.
inline nlohmann::json to_json(const InputRanges& r) {
  const auto column = [](const std::vector<ValueRange>& v, bool lower) {
    std::vector<double> out;
    for (const auto& x : v) out.push_back(lower ? x.min : x.max);
    return out;
  };
  return {{"channel_min", column(r.channels, true)},
          {"channel_max", column(r.channels, false)},
          {"feature_min", column(r.features, true)},
          {"feature_max", column(r.features, false)}};
}

inline InputRanges input_ranges_from_json(const nlohmann::json& j, const std::string& where) {
  std::vector<double> channel_min, channel_max, feature_min, feature_max;
  try {
    JsonObjectReader reader(j, where, "input_ranges");
    reader.read("channel_min", channel_min);
    reader.read("channel_max", channel_max);
    reader.read("feature_min", feature_min);
    reader.read("feature_max", feature_max);
    reader.finish();
  } catch (const ConfigError& e) {
    throw FormatError(e.what());
  }
  const auto ranges = [&](const std::vector<double>& lo, const std::vector<double>& hi, const char* what) {
    if (lo.size() != hi.size())
      throw FormatError(where + ": input_ranges has " + std::to_string(lo.size()) + " " + what + " minima and " +
                        std::to_string(hi.size()) + " maxima");
    std::vector<ValueRange> out;
    for (std::size_t i = 0; i < lo.size(); ++i) {
      if (!(std::isfinite(lo[i]) && std::isfinite(hi[i]) && lo[i] <= hi[i]))
        throw FormatError(where + ": input_ranges: " + what + " " + std::to_string(i) + " has no valid range");
      out.push_back({lo[i], hi[i]});
    }
    return out;
  };
  return {ranges(channel_min, channel_max, "channel"), ranges(feature_min, feature_max, "feature")};
}

}  // namespace cnnlstm
