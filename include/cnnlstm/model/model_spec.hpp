#pragma once
// A model described at run time: which branches, their sizes, the head. This is what a
// configuration file or a model file's metadata holds, and what build_model() turns into one of
// the three standard SocModel types. The paper's seven variants are named specs:
//
//   CNN               conv1 10->16, conv2 16->16, fc1 64->16, head fc2 16->1
//   LSTM_evi / _lsp / _evi_lsp      lstm F->8 (2 layers), fc_1 8->16, head fc_2 16->1, F = 1 / 11 / 12
//   CNN-LSTM_evi / _lsp / _evi_lsp  conv1 10->6, conv2 6->16, fc_cnn_1 64->16,
//                                   lstm F->8 (2 layers), fc_lstm_1 8->16, head fc_final 32->1

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "cnn_branch.hpp"
#include "../core/json_reader.hpp"
#include "lstm_branch.hpp"
#include "soc_model.hpp"

namespace cnnlstm {

template <class T>
using CnnModel = SocModel<T, CnnBranch<T>>;
template <class T>
using LstmModel = SocModel<T, LstmBranch<T>>;
template <class T>
using CnnLstmModel = SocModel<T, CnnBranch<T>, LstmBranch<T>>;
// One of the three standard model types, chosen at run time.
template <class T>
using AnySocModel = std::variant<CnnModel<T>, LstmModel<T>, CnnLstmModel<T>>;

struct ModelSpec {
  std::optional<CnnBranchOptions> cnn;
  std::optional<LstmBranchOptions> lstm;
  DenseHeadOptions head;

  bool operator==(const ModelSpec&) const = default;

  // "CNN", "LSTM_evi", "CNN-LSTM_evi_lsp", ...; series of another width are "..._F<n>".
  std::string variant_name() const {
    if (!lstm) return "CNN";
    const Index f = lstm->input_size;
    const std::string series = f == 1 ? "evi" : f == 11 ? "lsp" : f == 12 ? "evi_lsp" : "F" + std::to_string(f);
    return (cnn ? "CNN-LSTM_" : "LSTM_") + series;
  }
};

inline const std::vector<std::string>& paper_variant_names() {
  static const std::vector<std::string> names{"CNN",          "LSTM_evi",     "LSTM_lsp",
                                              "LSTM_evi_lsp", "CNN-LSTM_evi", "CNN-LSTM_lsp",
                                              "CNN-LSTM_evi_lsp"};
  return names;
}

// The paper's sizes for a variant name; throws ConfigError with the known names otherwise.
inline ModelSpec paper_spec(const std::string& variant) {
  const auto& names = paper_variant_names();
  if (std::find(names.begin(), names.end(), variant) == names.end()) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    const std::string hint = closest_match(variant, names);
    throw ConfigError("unknown model variant \"" + variant + "\"" +
                      (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)") + "; known: " + list);
  }
  ModelSpec spec;
  const bool has_cnn = variant.rfind("CNN", 0) == 0;
  const bool has_lstm = variant.find("LSTM") != std::string::npos;
  if (has_cnn) {
    spec.cnn = CnnBranchOptions{};
    if (!has_lstm) {
      spec.cnn->conv_channels = {16, 16};
      spec.cnn->fc_name = "fc1";
      spec.head.name = "fc2";
    }
  }
  if (has_lstm) {
    spec.lstm = LstmBranchOptions{};
    const bool evi = variant.find("_evi") != std::string::npos;
    const bool lsp = variant.find("lsp") != std::string::npos;
    spec.lstm->input_size = (evi ? 1 : 0) + (lsp ? 11 : 0);
    if (!has_cnn) {
      spec.lstm->fc_name = "fc_1";
      spec.head.name = "fc_2";
    }
  }
  return spec;
}

template <class T>
AnySocModel<T> build_model(const ModelSpec& spec) {
  if (spec.cnn && spec.lstm)
    return CnnLstmModel<T>({{*spec.cnn, *spec.lstm}, spec.head});
  if (spec.cnn) return CnnModel<T>({{*spec.cnn}, spec.head});
  if (spec.lstm) return LstmModel<T>({{*spec.lstm}, spec.head});
  throw ConfigError("a model needs a CNN branch, an LSTM branch, or both");
}

// ---- JSON form ----------------------------------------------------------------------------

// The bounds of the sizes a model spec may give, one definition for the spec and the
// configuration (train/train_config.hpp), which read them with these functions.
inline constexpr double max_width = 1e6;  // channels, features, hidden units
inline constexpr double max_lstm_layers = 100;

// A width (or a list of widths) from 1 to max_width.
template <class V>
void read_width(JsonObjectReader& r, const std::string& key, V& out) {
  r.read(key, out, 1, max_width);
}
inline void read_lstm_layers(JsonObjectReader& r, const std::string& key, Index& out) {
  r.read(key, out, 1, max_lstm_layers);
}
// Dropout probability p in [0, 1).
inline void read_dropout(JsonObjectReader& r, const std::string& key, double& out) {
  r.read(key, out, 0.0, 1.0, false, true);
}

inline nlohmann::json to_json(const CnnBranchOptions& o) {
  return {{"in_channels", o.in_channels}, {"patch", o.patch},     {"conv_channels", o.conv_channels},
          {"kernel", o.kernel},           {"stride", o.stride},   {"padding", o.padding},
          {"pool", o.pool},               {"features", o.features}, {"conv_prefix", o.conv_prefix},
          {"fc_name", o.fc_name}};
}

inline nlohmann::json to_json(const LstmBranchOptions& o) {
  return {{"input_size", o.input_size}, {"hidden_size", o.hidden_size},
          {"num_layers", o.num_layers}, {"dropout", o.dropout},
          {"features", o.features},     {"lstm_name", o.lstm_name},
          {"fc_name", o.fc_name}};
}

inline nlohmann::json to_json(const DenseHeadOptions& o) {
  return {{"hidden", o.hidden}, {"outputs", o.outputs}, {"name", o.name},
          {"hidden_prefix", o.hidden_prefix}};
}

inline nlohmann::json to_json(const ModelSpec& spec) {
  return {{"variant", spec.variant_name()},
          {"cnn", spec.cnn ? to_json(*spec.cnn) : nlohmann::json()},
          {"lstm", spec.lstm ? to_json(*spec.lstm) : nlohmann::json()},
          {"head", to_json(spec.head)}};
}

inline CnnBranchOptions cnn_options_from_json(JsonObjectReader r) {
  CnnBranchOptions o;
  read_width(r, "in_channels", o.in_channels);
  r.read("patch", o.patch, 1, 1e4);
  read_width(r, "conv_channels", o.conv_channels);
  r.read("kernel", o.kernel, 1, 1e3);
  r.read("stride", o.stride, 1, 1e3);
  r.read("padding", o.padding, 0, 1e3);
  r.read("pool", o.pool, 1, 1e3);
  read_width(r, "features", o.features);
  r.read("conv_prefix", o.conv_prefix);
  r.read("fc_name", o.fc_name);
  r.finish();
  return o;
}

inline LstmBranchOptions lstm_options_from_json(JsonObjectReader r) {
  LstmBranchOptions o;
  read_width(r, "input_size", o.input_size);
  read_width(r, "hidden_size", o.hidden_size);
  read_lstm_layers(r, "num_layers", o.num_layers);
  read_dropout(r, "dropout", o.dropout);
  read_width(r, "features", o.features);
  r.read("lstm_name", o.lstm_name);
  r.read("fc_name", o.fc_name);
  r.finish();
  return o;
}

inline DenseHeadOptions head_options_from_json(JsonObjectReader r) {
  DenseHeadOptions o;
  read_width(r, "hidden", o.hidden);
  read_width(r, "outputs", o.outputs);
  r.read("name", o.name);
  r.read("hidden_prefix", o.hidden_prefix);
  r.finish();
  return o;
}

// Reads a spec; "variant" (optional) starts from the paper's sizes, which the other keys refine.
inline ModelSpec model_spec_from_json(const nlohmann::json& j, const std::string& where,
                                      const std::string& path = "") {
  JsonObjectReader r(j, where, path);
  ModelSpec spec;
  std::string variant;
  r.read("variant", variant);
  if (!variant.empty() && variant.find("_F") == std::string::npos) spec = paper_spec(variant);
  if (r.has("cnn")) spec.cnn = cnn_options_from_json(r.child("cnn"));
  else if (j.contains("cnn")) spec.cnn.reset();
  if (r.has("lstm")) spec.lstm = lstm_options_from_json(r.child("lstm"));
  else if (j.contains("lstm")) spec.lstm.reset();
  if (r.has("head")) spec.head = head_options_from_json(r.child("head"));
  r.finish();
  if (!spec.cnn && !spec.lstm)
    throw ConfigError(where + ": the model has neither a \"cnn\" nor an \"lstm\" branch");
  if (!variant.empty() && spec.variant_name() != variant)
    throw ConfigError(where + ": key \"" + r.full("variant") + "\" says " + variant +
                      " but the branches describe " + spec.variant_name());
  return spec;
}

}  // namespace cnnlstm
