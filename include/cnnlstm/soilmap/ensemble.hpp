#pragma once
// Ensembles of models: members of one architecture, their mean, and the conformal calibration of
// their 90% interval. Two forms on disk:
//   - one file (what soc train and save_ensemble write): every member's tensors under
//     "members.<m>.<state_dict name>" (m from 0, the names a PyTorch nn.ModuleList called
//     `members` would give), and in __metadata__: "format": "cnnlstm-ensemble", "model": the
//     ModelSpec, "ensemble": {"size": M, "conformal": [one calibration per output]},
//     "target_scalings": [one per member], "input_scalings": [one per member];
//   - several single-model files of an older soc train --ensemble, each with "ensemble" metadata.
// load_ensemble reads either; a single model is an ensemble of one. Members of an older run are
// accepted only as that whole run, each once.

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "../io/model_file.hpp"
#include "../train/uncertainty.hpp"

namespace cnnlstm {

template <class T>
struct Ensemble {
  std::vector<LoadedModel<T>> members;
  ModelSpec spec;                                 // shared by all members
  std::vector<ConformalCalibration> calibrations;  // one per output (empty: uncalibrated)
  std::map<std::string, std::string> metadata;     // of the (first) file
  std::vector<std::string> notes;                  // what the caller should tell the user

  std::optional<ConformalCalibration> calibration(Index output) const {
    if (calibrations.empty()) return std::nullopt;
    if (output < 0 || output >= static_cast<Index>(calibrations.size()))
      throw UsageError("the ensemble has no output " + std::to_string(output) + " (it has " +
                       std::to_string(calibrations.size()) + ")");
    return calibrations[static_cast<std::size_t>(output)];
  }
};

inline constexpr const char* ensemble_format = "cnnlstm-ensemble";

inline std::string member_prefix(std::size_t m) { return "members." + std::to_string(m) + "."; }

// Writes all members in one file, atomically. calibrations: one per output, or none.
template <class Model>
void save_ensemble(const std::string& path, const std::vector<Model>& members,
                   const std::vector<ConformalCalibration>& calibrations,
                   std::map<std::string, std::string> metadata = {}) {
  using T = typename Model::Scalar;
  if (members.empty()) throw UsageError("save_ensemble: " + path + ": an ensemble needs at least one member");
  if (!calibrations.empty() && static_cast<Index>(calibrations.size()) != members[0].outputs())
    throw UsageError("save_ensemble: " + path + ": one calibration per output is needed");
  std::vector<std::string> names;  // kept alive for the entries
  std::vector<SafetensorsEntry<T>> entries;
  nlohmann::json scalings = nlohmann::json::array(), input_scalings = nlohmann::json::array();
  for (std::size_t m = 0; m < members.size(); ++m)
    for (const ParameterSpec& spec : members[m].parameters().layout().specs()) names.push_back(member_prefix(m) + spec.name);
  std::size_t i = 0;
  for (const Model& member : members) {
    for (const ParameterSpec& spec : member.parameters().layout().specs())
      entries.push_back({names[i++], DType::F32, spec.shape, member.parameters().value(spec.slot)});
    scalings.push_back(to_json(member.target_scaling()));
    input_scalings.push_back(input_scaling_json(member));
  }
  nlohmann::json ensemble{{"size", members.size()}};
  if (!calibrations.empty()) {
    ensemble["conformal"] = nlohmann::json::array();
    for (const auto& c : calibrations) ensemble["conformal"].push_back(to_json(c));
  }
  metadata["format"] = ensemble_format;
  metadata["model"] = to_json(spec_of(members[0])).dump();
  metadata["ensemble"] = ensemble.dump();
  metadata["target_scalings"] = scalings.dump();
  metadata["input_scalings"] = input_scalings.dump();
  save_safetensors(path, entries, metadata);
}

namespace detail {

// The tensors of member m, checked against the layout; no tensor outside members 0..size-1.
inline void check_ensemble_tensors(const SafetensorsFile& file, const ParameterLayout& layout, std::size_t size) {
  std::map<std::string, bool> expected;
  for (std::size_t m = 0; m < size; ++m)
    for (const ParameterSpec& spec : layout.specs()) {
      const std::string name = member_prefix(m) + spec.name;
      if (!file.contains(name))
        throw ShapeError(file.path() + ": member " + std::to_string(m + 1) + " lacks tensor '" + spec.name + "'");
      if (file.info(name).shape != spec.shape)
        throw ShapeError(file.path() + ": tensor '" + name + "' has shape " + shape_string(file.info(name).shape) +
                         ", the model expects " + shape_string(spec.shape));
      expected[name] = true;
    }
  for (const std::string& name : file.names())
    if (!expected.count(name))
      throw ShapeError(file.path() + ": unexpected tensor '" + name + "' (the ensemble has " + std::to_string(size) +
                       " members of this model)");
}

template <class T>
Ensemble<T> read_ensemble_file(const SafetensorsFile& file, std::optional<Index> patch) {
  const std::string& path = file.path();
  const auto& meta = file.metadata();
  Ensemble<T> e;
  e.metadata = meta;
  try {
    e.spec = model_spec_from_json(metadata_json(meta, "model", path), path + " (metadata)", "model");
  } catch (const ConfigError& error) {
    throw FormatError(error.what());
  }
  check_patch(e.spec, patch, path);
  const nlohmann::json info = metadata_json(meta, "ensemble", path);
  const nlohmann::json scalings = metadata_json(meta, "target_scalings", path);
  const nlohmann::json input_scalings = metadata_json(meta, "input_scalings", path);
  std::size_t size = 0;
  try {
    size = info.at("size").get<std::size_t>();
  } catch (const nlohmann::json::exception& error) {
    throw FormatError(path + ": malformed \"ensemble\" metadata: " + error.what());
  }
  if (size < 1 || size > 100000 || !scalings.is_array() || scalings.size() != size || !input_scalings.is_array() ||
      input_scalings.size() != size)
    throw FormatError(path + ": the \"ensemble\" metadata gives " + std::to_string(size) +
                      " members, which the target scalings do not match");
  ParameterLayout layout;
  try {
    layout = layout_of(e.spec);
  } catch (const ConfigError& error) {
    throw FormatError(path + ": the model it describes is impossible: " + error.what());
  }
  check_ensemble_tensors(file, layout, size);
  for (std::size_t m = 0; m < size; ++m) {
    LoadedModel<T> member{build_model<T>(e.spec), e.spec, meta, false};
    std::visit(
        [&](auto& model) {
          for (const ParameterSpec& p : model.parameters().layout().specs()) {
            file.read(member_prefix(m) + p.name, model.parameters().value(p.slot), p.shape);
            check_finite_parameter(model.parameters().value(p.slot), p, path);
          }
          const std::string where = path + " (metadata, member " + std::to_string(m + 1) + ")";
          set_scaling(model, scalings[m], where);
          set_input_scaling(model, input_scalings[m], where);
        },
        member.model);
    e.members.push_back(std::move(member));
  }
  if (info.contains("conformal")) {
    const auto& list = info.at("conformal");
    if (!list.is_array() || static_cast<Index>(list.size()) != e.spec.head.outputs)
      throw FormatError(path + ": the ensemble's calibration must hold one entry per output");
    for (const auto& c : list) e.calibrations.push_back(conformal_from_json(c, path));
  }
  return e;
}

// What a member file of an older multi-file ensemble says of its run: "ensemble" metadata
// {"size": K, "member": k, "conformal": {...}}; none for a single model.
struct MemberRecord {
  std::size_t size = 0, member = 0;
  std::optional<ConformalCalibration> calibration;
};

template <class T>
std::optional<MemberRecord> member_record(const LoadedModel<T>& member, const std::string& path) {
  if (!member.metadata.count("ensemble")) return std::nullopt;
  const nlohmann::json j = metadata_json(member.metadata, "ensemble", path);
  MemberRecord r;
  try {
    r.size = j.at("size").get<std::size_t>();
    r.member = j.at("member").get<std::size_t>();
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path + ": malformed \"ensemble\" metadata: " + e.what());
  }
  if (j.contains("conformal")) r.calibration = conformal_from_json(j.at("conformal"), path);
  return r;
}

// Members of older runs belong together only as a whole run: no member twice, none of another
// run (another size or calibration), none missing. Returns the run's calibration; members that
// carry none (single models) make the interval the members' own spread, said in a note.
inline std::optional<ConformalCalibration> check_members_of_one_run(const std::vector<std::optional<MemberRecord>>& records,
                                                                    const std::vector<std::string>& paths,
                                                                    std::vector<std::string>& notes) {
  std::optional<std::size_t> first;
  std::map<std::size_t, std::size_t> seen;  // member number -> position in paths
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (!records[i]) continue;
    const MemberRecord& r = *records[i];
    if (!first) first = i;
    const MemberRecord& f = *records[*first];
    const bool same_run = r.size == f.size && (r.calibration.has_value() == f.calibration.has_value()) &&
                          (!r.calibration || to_json(*r.calibration) == to_json(*f.calibration));
    if (!same_run)
      throw ConfigError(paths[i] + " and " + paths[*first] + " are members of different ensembles: give the members of one run");
    if (seen.count(r.member))
      throw ConfigError(paths[i] + " and " + paths[seen.at(r.member)] + " are both member " + std::to_string(r.member) + " of " +
                        std::to_string(r.size) + ": each member once");
    seen[r.member] = i;
  }
  if (!first) return std::nullopt;
  const MemberRecord& run = *records[*first];
  if (seen.size() != run.size) {
    std::string missing;
    for (std::size_t k = 1; k <= run.size; ++k)
      if (!seen.count(k)) missing += (missing.empty() ? "" : ", ") + std::to_string(k);
    throw ConfigError(paths[*first] + " belongs to an ensemble of " + std::to_string(run.size) + " members; members " + missing +
                      " are missing (its interval is calibrated for all of them together)");
  }
  if (seen.size() != records.size()) {
    notes.push_back("the models include single networks besides the " + std::to_string(run.size) +
                    " members of one ensemble: the interval is the models' own 5%-95% spread, not calibrated");
    return std::nullopt;
  }
  return run.calibration;
}

}  // namespace detail

inline bool is_ensemble_file(const SafetensorsFile& file) {
  const auto& meta = file.metadata();
  return meta.count("format") && meta.at("format") == ensemble_format;
}

// The members of one ensemble file, or of several single-model files (an older soc train
// --ensemble: all its members, each once; or single models, whose interval is their spread).
template <class T>
Ensemble<T> load_ensemble(const std::vector<std::string>& paths, std::optional<Index> patch = std::nullopt) {
  if (paths.empty()) throw ConfigError("an ensemble needs at least one model file");
  if (paths.size() == 1) {
    const auto file = SafetensorsFile::open(paths.front());
    if (is_ensemble_file(file)) return detail::read_ensemble_file<T>(file, patch);
  }
  Ensemble<T> e;
  std::vector<std::optional<detail::MemberRecord>> records;
  for (const auto& path : paths) {
    if (paths.size() > 1 && is_ensemble_file(SafetensorsFile::open(path)))
      throw ConfigError(path + " holds a whole ensemble: give it alone, not with other models");
    e.members.push_back(load_model<T>(path, patch));
    const auto& member = e.members.back();
    if (e.members.size() == 1) {
      e.spec = member.spec;
      e.metadata = member.metadata;
    }
    if (member.spec != e.spec)
      throw ShapeError(path + ": its model " + to_json(member.spec).dump() + " differs from the first member's (" +
                       paths.front() + ") " + to_json(e.spec).dump());
    records.push_back(detail::member_record(member, path));
  }
  if (const auto c = detail::check_members_of_one_run(records, paths, e.notes)) e.calibrations = {*c};
  return e;
}

}  // namespace cnnlstm
