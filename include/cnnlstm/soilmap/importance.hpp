#pragma once
// Permutation importance: how much worse (RMSE, first output) a model predicts when one input is
// shuffled across sites, breaking its link with SOC while keeping its distribution. Groups:
// each CNN channel (its whole patch), each series feature (all years), each year (all features).
// The importance is the mean RMSE increase over `repeats` shuffles; larger means more important.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "../train/dataset.hpp"
#include "../train/model_inputs.hpp"
#include "../train/prediction.hpp"

namespace cnnlstm {

struct Importance {
  std::string group;  // "channel", "feature" or "year"
  Index index = 0;
  std::string name;
  double rmse_increase = 0;
};

namespace detail {

// Shuffles, across rows, the elements of each row that `member(offset within the row)` selects.
template <class T, int Rank>
void permute_members(Tensor<T, Rank>& x, const std::vector<Index>& member_offsets, Rng& rng) {
  const Index rows = x.dimension(0), row_size = x.size() / rows;
  std::vector<Index> order(static_cast<std::size_t>(rows));
  for (Index i = 0; i < rows; ++i) order[static_cast<std::size_t>(i)] = i;
  rng.shuffle(order.begin(), order.end());
  const Tensor<T, Rank> original = x;
  for (Index i = 0; i < rows; ++i)
    for (Index offset : member_offsets)
      x.data()[i * row_size + offset] = original.data()[order[static_cast<std::size_t>(i)] * row_size + offset];
}

// RMSE of the members' mean prediction (first output).
template <class Model, class T>
double rmse_on(std::span<Model> members, const SoilData<T>& data) {
  const auto rows = all_rows(data.rows);
  Matrix<double> mean = Matrix<double>::Zero(data.rows, members.front().outputs());
  for (Model& m : members) mean += predict_rows(m, inputs_for<Model>(data), rows);
  mean /= static_cast<double>(members.size());
  return metrics_per_output(mean, TensorRef<T, 2>(*data.y), rows)[0].rmse;
}

// Offsets within one row of x_cnn (C, P, P) that belong to channel c.
inline std::vector<Index> channel_offsets(Index c, Index patch) {
  std::vector<Index> out;
  for (Index k = 0; k < patch * patch; ++k) out.push_back(c * patch * patch + k);
  return out;
}

// Offsets within one row of x_lstm (T, F): feature f over all years, or all features of year t.
inline std::vector<Index> feature_offsets(Index f, Index years, Index features) {
  std::vector<Index> out;
  for (Index t = 0; t < years; ++t) out.push_back(t * features + f);
  return out;
}
inline std::vector<Index> year_offsets(Index t, Index features) {
  std::vector<Index> out;
  for (Index f = 0; f < features; ++f) out.push_back(t * features + f);
  return out;
}

}  // namespace detail

// The importance for an ensemble's mean prediction (members of one type; one model: a span of
// one). `data` holds the evaluation rows only (with targets). Names label channels and features.
template <class Model, class T>
std::vector<Importance> permutation_importance(std::span<Model> members, const SoilData<T>& data, Index repeats,
                                               std::uint64_t seed, const std::vector<std::string>& channel_names = {},
                                               const std::vector<std::string>& feature_names = {}) {
  if (!data.y) throw ConfigError("permutation importance needs observed targets");
  if (repeats < 1) throw ConfigError("permutation importance needs at least one repeat");
  if (members.empty()) throw ConfigError("permutation importance needs at least one model");
  const double base = detail::rmse_on(members, data);
  Rng rng(seed);
  std::vector<Importance> out;
  const auto measure = [&](const std::string& group, Index index, const std::string& name, auto permute) {
    double increase = 0;
    for (Index r = 0; r < repeats; ++r) {
      SoilData<T> shuffled = data;
      permute(shuffled);
      increase += detail::rmse_on(members, shuffled) - base;
    }
    out.push_back({group, index, name, increase / static_cast<double>(repeats)});
  };
  const auto label = [](const std::vector<std::string>& names, Index i, const std::string& fallback) {
    return static_cast<std::size_t>(i) < names.size() ? names[static_cast<std::size_t>(i)] : fallback + std::to_string(i);
  };
  if (data.x_cnn) {
    const Index channels = data.x_cnn->dimension(1), patch = data.x_cnn->dimension(2);
    for (Index c = 0; c < channels; ++c)
      measure("channel", c, label(channel_names, c, "channel "),
              [&](SoilData<T>& d) { detail::permute_members(*d.x_cnn, detail::channel_offsets(c, patch), rng); });
  }
  if (data.x_lstm) {
    const Index years = data.x_lstm->dimension(1), features = data.x_lstm->dimension(2);
    for (Index f = 0; f < features; ++f)
      measure("feature", f, label(feature_names, f, "feature "),
              [&](SoilData<T>& d) { detail::permute_members(*d.x_lstm, detail::feature_offsets(f, years, features), rng); });
    for (Index t = 0; t < years; ++t)
      measure("year", t, "year " + std::to_string(t + 1),
              [&](SoilData<T>& d) { detail::permute_members(*d.x_lstm, detail::year_offsets(t, features), rng); });
  }
  return out;
}

template <class Model, class T>
std::vector<Importance> permutation_importance(Model& model, const SoilData<T>& data, Index repeats, std::uint64_t seed,
                                               const std::vector<std::string>& channel_names = {},
                                               const std::vector<std::string>& feature_names = {}) {
  return permutation_importance(std::span<Model>(&model, 1), data, repeats, seed, channel_names, feature_names);
}

// The given rows of a tensor, in that order.
template <class T, int Rank>
Tensor<T, Rank> take_rows(const Tensor<T, Rank>& source, const std::vector<std::int64_t>& rows) {
  TensorBuffer<T, Rank> batch;
  gather_rows(TensorRef<T, Rank>(source), rows, batch);
  auto shape = source.dimensions();
  shape[0] = static_cast<Index>(rows.size());
  Tensor<T, Rank> out(shape);
  std::copy_n(batch.data(), batch.size(), out.data());
  return out;
}

// The rows of a data set as a data set of their own (for evaluation subsets).
template <class T>
SoilData<T> select_rows(const SoilData<T>& d, const std::vector<std::int64_t>& rows) {
  SoilData<T> out;
  out.rows = static_cast<Index>(rows.size());
  if (d.x_cnn) out.x_cnn = take_rows(*d.x_cnn, rows);
  if (d.x_lstm) out.x_lstm = take_rows(*d.x_lstm, rows);
  if (d.y) out.y = take_rows(*d.y, rows);
  out.nodata.assign(rows.size(), false);
  return out;
}

}  // namespace cnnlstm
