#pragma once
// Training checkpoints: the model and everything the Trainer needs to go on as if never stopped
// (Adam's moments and step, both generators' states, the selected model, the history), in one
// safetensors file written atomically. Resuming from it with the same configuration and thread
// count gives a bit-identical final model.
//
// Tensors (the model's scalar type): "parameters", "adam.m", "adam.v" (P each), "best" (P, when a
// model was selected). Metadata: "format" = "cnnlstm-checkpoint", "model" (ModelSpec JSON),
// "target_scaling", "input_scaling", "state" (JSON), and the caller's entries (e.g. the configuration).
// The JSON entries are read as strictly as a configuration (core/json_reader.hpp): a key given
// twice, an unknown or missing key, or a value of the wrong type is a FormatError naming the key.

#include <map>
#include <string>

#include "../core/json_reader.hpp"
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

// A generator state: 4 words as decimal strings.
inline Rng::State rng_from_json(JsonObjectReader& r, const std::string& key) {
  std::vector<std::string> words;
  r.require(key);
  r.read(key, words);
  const std::string named = r.where() + ": key \"" + r.full(key) + "\"";
  if (words.size() != 4) throw ConfigError(named + " must hold 4 words, got " + std::to_string(words.size()));
  Rng::State s{};
  for (std::size_t i = 0; i < 4; ++i) {
    std::size_t used = 0;
    try {
      s[i] = std::stoull(words[i], &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != words[i].size() || words[i][0] == '-')
      throw ConfigError(named + ": word '" + words[i] + "' is not a decimal number");
  }
  return s;
}

inline nlohmann::json metrics_list_to_json(const std::vector<Metrics>& list) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& m : list) j.push_back(to_json(m));
  return j;
}

// The metrics of each output; a measure written as null (not finite) reads as NaN.
inline std::vector<Metrics> metrics_list_from_json(JsonObjectReader& r, const std::string& key) {
  r.require(key);
  std::vector<Metrics> out;
  for (JsonObjectReader m : r.objects(key)) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    Metrics& metrics = out.emplace_back(Metrics{nan, nan, nan, nan, nan, nan, 0});
    m.read("rmse", metrics.rmse);
    m.read("mae", metrics.mae);
    m.read("me", metrics.me);
    m.read("r2", metrics.r2);
    m.read("ccc", metrics.ccc);
    m.read("rpiq", metrics.rpiq);
    m.require("n");
    m.read("n", metrics.n);
    m.finish();
  }
  return out;
}

inline EvaluationRecord evaluation_from_json(JsonObjectReader r) {
  EvaluationRecord e;
  for (const char* key : {"epoch", "train_loss", "seconds"}) r.require(key);
  r.read("epoch", e.epoch, 0, 9e15);
  r.read("train_loss", e.train_loss);
  r.read("seconds", e.seconds);
  e.train = metrics_list_from_json(r, "train");
  e.validation = metrics_list_from_json(r, "validation");
  r.finish();
  return e;
}

// The "state" entry into s (all but the tensors).
template <class T>
void read_state(JsonObjectReader r, TrainerState<T>& s) {
  for (const char* key : {"epochs_done", "adam_steps", "best_epoch", "evaluations_since_best", "seconds", "history"})
    r.require(key);
  r.read("epochs_done", s.epochs_done, 0, 9e15);
  r.read("adam_steps", s.adam_steps, 0, 9e15);
  s.shuffle_rng = rng_from_json(r, "shuffle_rng");
  s.dropout_rng = rng_from_json(r, "dropout_rng");
  r.read("best_epoch", s.best_epoch, -1, 9e15);
  r.read("best_score", s.best_score);  // null: no model selected yet, the default infinity
  r.read("evaluations_since_best", s.evaluations_since_best, 0, 9e15);
  r.read("seconds", s.seconds);
  for (JsonObjectReader record : r.objects("history")) s.history.push_back(evaluation_from_json(record));
  r.finish();
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
  const auto entry = [&](const std::string& key) {
    if (!meta.count(key)) throw FormatError(where + ": the metadata has no \"" + key + "\" entry");
    return parse_json_strict(meta.at(key), where + ", metadata entry \"" + key + "\"");
  };
  try {
    const auto spec = model_spec_from_json(entry("model"), where, "model");
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
    detail::read_state(JsonObjectReader(entry("state"), where, "state"), s);
    model.set_target_scaling(target_scaling_from_json(entry("target_scaling"), where));
    // Checkpoints written before inputs were scaled have no entry: their models saw raw inputs.
    if (meta.count("input_scaling")) detail::set_input_scaling(model, entry("input_scaling"), where);
    model.parameters().values() = std::move(values);
    return s;
  } catch (const ConfigError& e) {  // the file is at fault, not a configuration
    throw FormatError(e.what());
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(where + ": malformed metadata: " + e.what());
  }
}

}  // namespace cnnlstm
