#pragma once
// Training checkpoints: the model and everything the Trainer needs to go on as if never stopped
// (Adam's moments and step, both generators' states, the selected model, the history), in one
// safetensors file written atomically. Resuming from it with the same configuration and thread
// count gives a bit-identical final model.
//
// Tensors (the model's scalar type): "parameters", "adam.m", "adam.v" (P each), "best" (P, when a
// model was selected). Metadata: "format" = "cnnlstm-checkpoint", "model" (ModelSpec JSON),
// "target_scaling", "input_scaling", "state" (JSON), and the caller's entries (e.g. the configuration).

#include <map>
#include <string>

#include "../io/safetensors.hpp"
#include "../io/model_file.hpp"
#include "trainer.hpp"

namespace cnnlstm {

namespace detail {

inline nlohmann::json rng_to_json(const Rng::State& s) {
  nlohmann::json j = nlohmann::json::array();
  for (std::uint64_t w : s) j.push_back(std::to_string(w));  // as strings: JSON numbers lose bits
  return j;
}

inline Rng::State rng_from_json(const nlohmann::json& j, const std::string& where) {
  Rng::State s{};
  if (!j.is_array() || j.size() != 4) throw FormatError(where + ": a generator state must be 4 words");
  for (std::size_t i = 0; i < 4; ++i) {
    if (!j[i].is_string()) throw FormatError(where + ": generator state words are decimal strings");
    try {
      std::size_t used = 0;
      s[i] = std::stoull(j[i].get<std::string>(), &used);
      if (used != j[i].get<std::string>().size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      throw FormatError(where + ": generator state word '" + j[i].get<std::string>() + "' is not a number");
    }
  }
  return s;
}

inline nlohmann::json metrics_list_to_json(const std::vector<Metrics>& list) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& m : list) j.push_back(to_json(m));
  return j;
}

inline std::vector<Metrics> metrics_list_from_json(const nlohmann::json& j) {
  std::vector<Metrics> out;
  const auto number = [](const nlohmann::json& v) { return v.is_number() ? v.get<double>() : std::nan(""); };
  for (const auto& m : j)
    out.push_back({number(m.at("rmse")), number(m.at("mae")), number(m.at("me")), number(m.at("r2")),
                   number(m.at("ccc")), number(m.at("rpiq")), m.at("n").get<std::size_t>()});
  return out;
}

}  // namespace detail

inline nlohmann::json to_json(const EvaluationRecord& r) {
  return {{"epoch", r.epoch},
          {"train_loss", r.train_loss},
          {"seconds", r.seconds},
          {"train", detail::metrics_list_to_json(r.train)},
          {"validation", detail::metrics_list_to_json(r.validation)}};
}

template <class T>
nlohmann::json state_to_json(const TrainerState<T>& s) {
  nlohmann::json history = nlohmann::json::array();
  for (const auto& r : s.history) history.push_back(to_json(r));
  return {{"epochs_done", s.epochs_done},
          {"adam_steps", s.adam_steps},
          {"shuffle_rng", detail::rng_to_json(s.shuffle_rng)},
          {"dropout_rng", detail::rng_to_json(s.dropout_rng)},
          {"best_epoch", s.best_epoch},
          {"best_score", std::isfinite(s.best_score) ? nlohmann::json(s.best_score) : nlohmann::json()},
          {"evaluations_since_best", s.evaluations_since_best},
          {"seconds", s.seconds},
          {"history", history}};
}

template <class Model>
void save_checkpoint(const std::string& path, const Model& model, const TrainerState<typename Model::Scalar>& s,
                     std::map<std::string, std::string> metadata = {}) {
  using T = typename Model::Scalar;
  const std::vector<Index> shape{model.parameters().size()};
  std::vector<SafetensorsEntry<T>> entries{{"parameters", dtype_of<T>(), shape, model.parameters().values().data()},
                                           {"adam.m", dtype_of<T>(), shape, s.adam_m.data()},
                                           {"adam.v", dtype_of<T>(), shape, s.adam_v.data()}};
  if (!s.best_values.empty()) entries.push_back({"best", dtype_of<T>(), shape, s.best_values.data()});
  metadata["format"] = "cnnlstm-checkpoint";
  metadata["model"] = to_json(spec_of(model)).dump();
  metadata["target_scaling"] = to_json(model.target_scaling()).dump();
  metadata["input_scaling"] = input_scaling_json(model).dump();
  metadata["state"] = state_to_json(s).dump();
  save_safetensors(path, entries, metadata);
}

// Restores the model's parameters and scaling and returns the trainer state. The model must have
// the checkpoint's architecture (a mismatch names the sizes).
template <class Model>
TrainerState<typename Model::Scalar> load_checkpoint(const std::string& path, Model& model) {
  using T = typename Model::Scalar;
  const auto file = SafetensorsFile::open(path);
  const auto& meta = file.metadata();
  if (!meta.count("format") || meta.at("format") != "cnnlstm-checkpoint")
    throw FormatError(path + ": not a cnnlstm checkpoint (no \"format\": \"cnnlstm-checkpoint\" in its metadata)");
  const std::string where = path + " (checkpoint)";
  try {
    const auto spec = model_spec_from_json(nlohmann::json::parse(meta.at("model")), where, "model");
    if (spec != spec_of(model))
      throw ShapeError(where + ": the checkpoint's model " + to_json(spec).dump() +
                        " differs from the configured " + to_json(spec_of(model)).dump());
    const std::vector<Index> shape{model.parameters().size()};
    TrainerState<T> s;
    s.adam_m.resize(static_cast<std::size_t>(shape[0]));
    s.adam_v.resize(static_cast<std::size_t>(shape[0]));
    auto values = model.parameters().values();
    file.read("parameters", values.data(), shape);
    file.read("adam.m", s.adam_m.data(), shape);
    file.read("adam.v", s.adam_v.data(), shape);
    if (file.contains("best")) {
      s.best_values.resize(static_cast<std::size_t>(shape[0]));
      file.read("best", s.best_values.data(), shape);
    }
    const auto j = nlohmann::json::parse(meta.at("state"));
    s.epochs_done = j.at("epochs_done").get<Index>();
    s.adam_steps = j.at("adam_steps").get<std::int64_t>();
    s.shuffle_rng = detail::rng_from_json(j.at("shuffle_rng"), where);
    s.dropout_rng = detail::rng_from_json(j.at("dropout_rng"), where);
    s.best_epoch = j.at("best_epoch").get<Index>();
    s.best_score = j.at("best_score").is_number() ? j.at("best_score").get<double>()
                                                  : std::numeric_limits<double>::infinity();
    s.evaluations_since_best = j.at("evaluations_since_best").get<Index>();
    s.seconds = j.at("seconds").get<double>();
    for (const auto& r : j.at("history"))
      s.history.push_back({r.at("epoch").get<Index>(), r.at("train_loss").get<double>(),
                           detail::metrics_list_from_json(r.at("train")),
                           detail::metrics_list_from_json(r.at("validation")), r.at("seconds").get<double>()});
    model.set_target_scaling(target_scaling_from_json(nlohmann::json::parse(meta.at("target_scaling")), where));
    // Checkpoints written before inputs were scaled have no entry: their models saw raw inputs.
    if (meta.count("input_scaling"))
      detail::set_input_scaling(model, nlohmann::json::parse(meta.at("input_scaling")), where);
    model.parameters().values() = std::move(values);
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(where + ": malformed metadata: " + e.what());
  } catch (const std::out_of_range&) {
    throw FormatError(where + ": the metadata lacks an entry (model, state or target_scaling)");
  }
}

}  // namespace cnnlstm
