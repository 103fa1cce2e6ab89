#pragma once
// What a trained model records of its training sites so that later predictions can be checked
// against them: the range of every input (input_ranges.hpp), the area of applicability
// (applicability.hpp), fitted together after training, and the names of the inputs when the
// caller knows them (the raster bands soc extract cut them from); stored in the model file's
// metadata as "input_ranges", "area_of_applicability" and "input_names". Models without them
// (PyTorch exports, files of older versions) are used as they are, unchecked.
//
//   auto domain = cnnlstm::fit_training_domain(std::span(members), data, train_rows, folds, seed);
//   metadata.merge(cnnlstm::training_domain_metadata(domain));   // then save_ensemble(..., metadata)
//   auto stored = cnnlstm::stored_training_domain(ensemble.metadata, path);

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "applicability.hpp"
#include "importance.hpp"
#include "input_ranges.hpp"

namespace cnnlstm {

// The names of the static channels (C) and the series features (F, every column of the series
// the model was trained from), in the training order; either list may be empty (not known).
struct InputNames {
  std::vector<std::string> channels, features;
  bool operator==(const InputNames&) const = default;
};

struct TrainingDomain {
  std::optional<InputRanges> ranges;
  std::optional<AreaOfApplicability> aoa;
  std::optional<InputNames> names;
};

inline nlohmann::json to_json(const InputNames& n) { return {{"channels", n.channels}, {"features", n.features}}; }

inline InputNames input_names_from_json(const nlohmann::json& j, const std::string& where) {
  InputNames n;
  try {
    JsonObjectReader reader(j, where, "input_names");
    reader.read("channels", n.channels);
    reader.read("features", n.features);
    reader.finish();
  } catch (const ConfigError& e) {
    throw FormatError(e.what());
  }
  return n;
}

// The most training sites the area of applicability keeps as reference points (a random subset
// beyond): its search and its record in the model file's header stay small.
inline constexpr Index aoa_max_sites = 20000;

// Importance of each predictor of the area of applicability (channels, then features): the
// members' permutation importance on the training rows.
template <class Model, class T>
std::vector<double> applicability_weights(std::span<Model> members, const SoilData<T>& training, std::uint64_t seed) {
  std::vector<double> weights;
  for (const Importance& i : permutation_importance(members, training, 3, seed))
    if (i.group != "year") weights.push_back(i.rmse_increase);
  return weights;
}

// Fits the ranges on `rows` and the area of applicability on them (at most aoa_max_sites),
// with each site's cross-validation fold (fold_of_site, aligned with rows; give every site its
// own label for leave-one-out).
template <class Model, class T>
TrainingDomain fit_training_domain(std::span<Model> members, const SoilData<T>& data, std::vector<std::int64_t> rows,
                                   std::vector<std::int64_t> fold_of_site, std::uint64_t seed) {
  if (fold_of_site.size() != rows.size())
    throw ShapeError("training domain: " + std::to_string(fold_of_site.size()) + " fold labels for " +
                     std::to_string(rows.size()) + " rows");
  TrainingDomain domain;
  domain.ranges = fit_input_ranges(data, rows);
  if (static_cast<Index>(rows.size()) > aoa_max_sites) {
    std::vector<std::size_t> order(rows.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    Rng rng(seed);
    rng.shuffle(order.begin(), order.end());
    order.resize(static_cast<std::size_t>(aoa_max_sites));
    std::sort(order.begin(), order.end());
    std::vector<std::int64_t> kept_rows, kept_folds;
    for (const auto i : order) {
      kept_rows.push_back(rows[i]);
      kept_folds.push_back(fold_of_site[i]);
    }
    rows = std::move(kept_rows);
    fold_of_site = std::move(kept_folds);
  }
  const SoilData<T> training = select_rows(data, rows);
  const Index channels = training.x_cnn ? training.x_cnn->dimension(1) : 0;
  const Index features = training.x_lstm ? training.x_lstm->dimension(2) : 0;
  domain.aoa = AreaOfApplicability::fit(applicability_predictors(training), channels, features,
                                        applicability_weights(members, training, seed), fold_of_site, seed);
  return domain;
}

inline std::map<std::string, std::string> training_domain_metadata(const TrainingDomain& d) {
  std::map<std::string, std::string> out;
  if (d.ranges) out["input_ranges"] = to_json(*d.ranges).dump();
  if (d.aoa) out["area_of_applicability"] = to_json(*d.aoa).dump();
  if (d.names) out["input_names"] = to_json(*d.names).dump();
  return out;
}

namespace detail {

// The metadata entry `key` read strictly by `parse(json, where)`, or nothing if absent; a
// malformed entry is a FormatError naming the file.
template <class Parse>
auto stored_entry(const std::map<std::string, std::string>& metadata, const std::string& key, const std::string& path,
                  Parse parse) -> std::optional<decltype(parse(nlohmann::json{}, path))> {
  const auto it = metadata.find(key);
  if (it == metadata.end()) return std::nullopt;
  nlohmann::json j;
  try {
    j = parse_json_strict(it->second, path + " (metadata)");
  } catch (const ConfigError& e) {
    throw FormatError(e.what());
  }
  return parse(j, path + " (metadata)");
}

}  // namespace detail

// What a model file's metadata records of its training sites (each part absent in files without it).
inline TrainingDomain stored_training_domain(const std::map<std::string, std::string>& metadata, const std::string& path) {
  return {detail::stored_entry(metadata, "input_ranges", path, input_ranges_from_json),
          detail::stored_entry(metadata, "area_of_applicability", path, area_of_applicability_from_json),
          detail::stored_entry(metadata, "input_names", path, input_names_from_json)};
}

}  // namespace cnnlstm
