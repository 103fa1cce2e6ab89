#pragma once
// An ensemble of models read from files: members of one architecture, and the conformal
// calibration that `soc train --ensemble K` stores in each member's metadata ("ensemble").

#include <optional>
#include <string>
#include <vector>

#include "model_file.hpp"
#include "uncertainty.hpp"

namespace cnnlstm {

template <class T>
struct Ensemble {
  std::vector<LoadedModel<T>> members;
  ModelSpec spec;                                  // shared by all members
  std::optional<ConformalCalibration> calibration;  // when every member carries the same one
};

template <class T>
Ensemble<T> load_ensemble(const std::vector<std::string>& paths, std::optional<Index> patch = std::nullopt) {
  if (paths.empty()) throw ConfigError("an ensemble needs at least one model file");
  Ensemble<T> e;
  std::vector<std::optional<ConformalCalibration>> calibrations;
  for (const auto& path : paths) {
    e.members.push_back(load_model<T>(path, patch));
    const auto& member = e.members.back();
    if (e.members.size() == 1) e.spec = member.spec;
    if (to_json(member.spec) != to_json(e.spec))
      throw ShapeError(path + ": its model " + to_json(member.spec).dump() + " differs from the first member's (" +
                       paths.front() + ") " + to_json(e.spec).dump());
    std::optional<ConformalCalibration> c;
    if (member.metadata.count("ensemble")) {
      try {
        const auto j = nlohmann::json::parse(member.metadata.at("ensemble"));
        if (j.contains("conformal")) c = conformal_from_json(j.at("conformal"), path);
      } catch (const nlohmann::json::exception& error) {
        throw FormatError(path + ": malformed \"ensemble\" metadata: " + error.what());
      }
    }
    calibrations.push_back(c);
  }
  const auto same = [&](const std::optional<ConformalCalibration>& c) {
    return c && calibrations[0] && to_json(*c) == to_json(*calibrations[0]);
  };
  if (paths.size() > 1 && std::all_of(calibrations.begin(), calibrations.end(), same)) e.calibration = calibrations[0];
  return e;
}

}  // namespace cnnlstm
