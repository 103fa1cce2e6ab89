#pragma once
// Standard models in safetensors files. A file saved by the library holds the parameters under
// PyTorch's state_dict names and, in __metadata__:
//   "format": "cnnlstm-model", "model": the ModelSpec as JSON,
//   "target_scaling": {"mean": [...], "scale": [...]} (absent when the identity),
//   and whatever else the caller adds (training configuration, data shapes, metrics).
// A file exported from PyTorch (safetensors.torch.save_file(model.state_dict(), path)) has no
// metadata: its architecture is inferred from the tensor names and shapes. Loading never runs
// anything from the file: safetensors is data only.

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <string>

#include "parameter_file.hpp"
#include "../model/model_spec.hpp"

namespace cnnlstm {

template <class T>
struct LoadedModel {
  AnySocModel<T> model;
  ModelSpec spec;
  std::map<std::string, std::string> metadata;
  bool inferred = false;  // the architecture came from tensor names (no cnnlstm metadata)
};

// The spec a standard model was built from.
template <class Model>
ModelSpec spec_of(const Model& model) {
  ModelSpec spec;
  const auto& branches = model.options().branches;
  if constexpr (std::is_same_v<Model, CnnModel<typename Model::Scalar>>) {
    spec.cnn = std::get<0>(branches);
  } else if constexpr (std::is_same_v<Model, LstmModel<typename Model::Scalar>>) {
    spec.lstm = std::get<0>(branches);
  } else {
    spec.cnn = std::get<0>(branches);
    spec.lstm = std::get<1>(branches);
  }
  spec.head = model.options().head;
  return spec;
}

inline nlohmann::json to_json(const TargetScaling& s) { return {{"mean", s.mean}, {"scale", s.scale}}; }

inline TargetScaling target_scaling_from_json(const nlohmann::json& j, const std::string& where) {
  JsonObjectReader r(j, where, "target_scaling");
  TargetScaling s;
  r.read("mean", s.mean);
  r.read("scale", s.scale);
  r.finish();
  for (double v : s.scale)
    if (!(v > 0) || !std::isfinite(v))
      throw FormatError(where + ": target_scaling.scale must hold positive numbers");
  for (double v : s.mean)
    if (!std::isfinite(v)) throw FormatError(where + ": target_scaling.mean must hold finite numbers");
  return s;
}

// The input scaling as JSON, keyed by input name: {"x_cnn": {"mean": [...], "scale": [...]}, ...}.
template <class Model>
nlohmann::json input_scaling_json(const Model& model) {
  nlohmann::json j = nlohmann::json::object();
  for (std::size_t b = 0; b < Model::branch_count; ++b)
    if (const auto& s = model.input_scaling()[b]; !s.empty()) j[Model::input_names[b]] = {{"mean", s.mean}, {"scale", s.scale}};
  return j;
}

namespace detail {

// Sets the input scaling stored as input_scaling_json; `where` names the file and entry.
template <class Model>
void set_input_scaling(Model& model, const nlohmann::json& j, const std::string& where) {
  JsonObjectReader r(j, where, "input_scaling");
  typename Model::InputScaling scaling{};
  for (std::size_t b = 0; b < Model::branch_count; ++b)
    if (r.has(Model::input_names[b])) {
      JsonObjectReader s = r.child(Model::input_names[b]);
      s.read("mean", scaling[b].mean);
      s.read("scale", scaling[b].scale);
      s.finish();
    }
  r.finish();
  try {
    model.set_input_scaling(std::move(scaling));
  } catch (const Error& e) {
    throw FormatError(where + ": " + e.what());
  }
}

}  // namespace detail

// Writes parameters and metadata atomically (temporary file, then rename).
template <class Model>
void save_model(const std::string& path, const Model& model,
                std::map<std::string, std::string> metadata = {}) {
  metadata["format"] = "cnnlstm-model";
  metadata["model"] = to_json(spec_of(model)).dump();
  if (!model.target_scaling().mean.empty()) metadata["target_scaling"] = to_json(model.target_scaling()).dump();
  if (model.scales_inputs()) metadata["input_scaling"] = input_scaling_json(model).dump();
  write_parameters(path, model.parameters(), metadata);
}

template <class T>
void save_model(const std::string& path, const AnySocModel<T>& model,
                std::map<std::string, std::string> metadata = {}) {
  std::visit([&](const auto& m) { save_model(path, m, std::move(metadata)); }, model);
}

namespace detail {

// The shape of a tensor an architecture is inferred from: `rank` dimensions, all positive (no
// model parameter has an empty dimension, and so every inferred size is bounded by the file's).
inline const std::vector<Index>& tensor_shape(const SafetensorsFile& f, const std::string& name,
                                              std::size_t rank) {
  const auto& shape = f.info(name).shape;
  if (shape.size() != rank || std::any_of(shape.begin(), shape.end(), [](Index d) { return d < 1; }))
    throw FormatError(f.path() + ": tensor '" + name + "' has shape " + shape_string(shape) +
                      ", but a model parameter of this name has " + std::to_string(rank) +
                      " positive dimensions");
  return shape;
}

// The smallest square patch that the conv blocks of `cnn` reduce to the flattened width.
inline Index patch_for_flat_width(CnnBranchOptions cnn, Index flat_width, const std::string& where) {
  for (Index p = 1; p <= 256; ++p) {
    cnn.patch = p;
    try {
      ParameterLayout scratch;
      if (CnnBranch<float>(scratch, cnn).flattened_features() == flat_width) return p;
    } catch (const ConfigError&) {
    }
  }
  throw FormatError(where + ": no square patch gives the " + std::to_string(flat_width) +
                    " flattened features that " + cnn.fc_name + " expects");
}

inline CnnBranchOptions infer_cnn(const SafetensorsFile& f, const std::string& fc_name,
                                  std::optional<Index> patch) {
  CnnBranchOptions cnn;
  cnn.fc_name = fc_name;
  cnn.conv_channels.clear();
  const auto& first = tensor_shape(f, "conv1.weight", 4);
  if (first[2] != first[3])
    throw FormatError(f.path() + ": conv1.weight must have shape (out, in, k, k), got " + shape_string(first));
  cnn.in_channels = first[1];
  cnn.kernel = first[2];
  for (int k = 1; f.contains("conv" + std::to_string(k) + ".weight"); ++k)
    cnn.conv_channels.push_back(tensor_shape(f, "conv" + std::to_string(k) + ".weight", 4)[0]);
  if (!f.contains(fc_name + ".weight"))
    throw FormatError(f.path() + ": the CNN branch has no fully connected layer '" + fc_name + "'");
  const auto& fc = tensor_shape(f, fc_name + ".weight", 2);
  cnn.features = fc[0];
  const Index patch_from_weights = patch_for_flat_width(cnn, fc[1], f.path());
  cnn.patch = patch.value_or(patch_from_weights);
  if (patch) {
    ParameterLayout scratch;
    const Index width = CnnBranch<float>(scratch, cnn).flattened_features();
    if (width != fc[1])
      throw ShapeError(f.path() + ": " + fc_name + " expects " + std::to_string(fc[1]) +
                       " flattened features, but a " + std::to_string(*patch) + "x" +
                       std::to_string(*patch) + " patch gives " + std::to_string(width));
  }
  return cnn;
}

inline LstmBranchOptions infer_lstm(const SafetensorsFile& f, const std::string& fc_name) {
  LstmBranchOptions lstm;
  lstm.fc_name = fc_name;
  lstm.input_size = tensor_shape(f, "lstm.weight_ih_l0", 2)[1];
  lstm.hidden_size = tensor_shape(f, "lstm.weight_hh_l0", 2)[1];
  lstm.num_layers = 0;
  while (f.contains("lstm.weight_ih_l" + std::to_string(lstm.num_layers))) ++lstm.num_layers;
  if (!f.contains(fc_name + ".weight"))
    throw FormatError(f.path() + ": the LSTM branch has no fully connected layer '" + fc_name + "'");
  lstm.features = tensor_shape(f, fc_name + ".weight", 2)[0];
  return lstm;
}

// The parameters the model of `spec` declares (names and shapes), without allocating them.
inline ParameterLayout layout_of(const ModelSpec& spec) {
  ParameterLayout layout;
  Index features = 0;
  if (spec.cnn) features += CnnBranch<float>(layout, *spec.cnn).output_features();
  if (spec.lstm) features += LstmBranch<float>(layout, *spec.lstm).output_features();
  DenseHead<float>(layout, features, spec.head);
  return layout;
}

// A metadata entry parsed as JSON; a missing or malformed one is a FormatError naming it.
inline nlohmann::json metadata_json(const std::map<std::string, std::string>& meta, const std::string& key,
                                    const std::string& path) {
  if (!meta.count(key)) throw FormatError(path + ": the metadata has no \"" + key + "\" entry");
  try {
    return nlohmann::json::parse(meta.at(key));
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path + ": the metadata entry \"" + key + "\" is not valid JSON: " + e.what());
  }
}

// A model file's patch must be the input's, when the input's is known.
inline void check_patch(const ModelSpec& spec, std::optional<Index> patch, const std::string& path) {
  if (patch && spec.cnn && spec.cnn->patch != *patch)
    throw ShapeError(path + ": the model was trained on " + std::to_string(spec.cnn->patch) + "x" +
                     std::to_string(spec.cnn->patch) + " patches, the input has " + std::to_string(*patch) + "x" +
                     std::to_string(*patch));
}

template <class T>
void check_finite_parameter(const T* values, const ParameterSpec& p, const std::string& path) {
  for (Index i = 0; i < p.slot.size; ++i)
    if (!std::isfinite(static_cast<double>(values[i])))
      throw FormatError(path + ": tensor '" + p.name + "' holds a non-finite value at element " + std::to_string(i));
}

// Sets the target scaling stored as JSON; `where` names the file and entry in messages.
template <class Model>
void set_scaling(Model& model, const nlohmann::json& j, const std::string& where) {
  auto scaling = target_scaling_from_json(j, where);
  try {
    model.set_target_scaling(std::move(scaling));
  } catch (const ConfigError& e) {
    throw FormatError(where + ": " + e.what());
  }
}

}  // namespace detail

// The architecture of a PyTorch export of the paper's modules, from its tensor names and shapes.
// Stride 1, padding 1 and 2x2 pooling are the paper's (weights do not record them); the patch is
// `patch` if given (checked against the weights), else the smallest that fits them.
inline ModelSpec infer_spec(const SafetensorsFile& f, std::optional<Index> patch = std::nullopt) {
  const bool has_cnn = f.contains("conv1.weight");
  const bool has_lstm = f.contains("lstm.weight_ih_l0");
  if (!has_cnn && !has_lstm)
    throw FormatError(f.path() + ": neither conv1.weight nor lstm.weight_ih_l0 is in the file, so it "
                      "holds none of the paper's models (and has no cnnlstm metadata)");
  ModelSpec spec;
  if (has_cnn && has_lstm) {
    spec.cnn = detail::infer_cnn(f, "fc_cnn_1", patch);
    spec.lstm = detail::infer_lstm(f, "fc_lstm_1");
    spec.head.name = "fc_final";
  } else if (has_cnn) {
    spec.cnn = detail::infer_cnn(f, "fc1", patch);
    spec.head.name = "fc2";
  } else {
    spec.lstm = detail::infer_lstm(f, "fc_1");
    spec.head.name = "fc_2";
  }
  if (!f.contains(spec.head.name + ".weight"))
    throw FormatError(f.path() + ": the head layer '" + spec.head.name + "' is missing");
  spec.head.outputs = detail::tensor_shape(f, spec.head.name + ".weight", 2)[0];
  return spec;
}

// Loads a model saved by the library or exported from PyTorch. With cnnlstm metadata the
// tensors must match it exactly; `patch` then must equal the saved patch if given.
template <class T>
LoadedModel<T> load_model(const std::string& path, std::optional<Index> patch = std::nullopt) {
  const auto file = SafetensorsFile::open(path);
  const auto& meta = file.metadata();
  if (meta.count("format") && meta.at("format") == "cnnlstm-ensemble")
    throw ConfigError(path + ": it holds an ensemble, not one model (read it with load_ensemble; soc export "
                      "--member K writes one member as a single model)");
  const bool ours = meta.count("format") && meta.at("format") == "cnnlstm-model";
  ModelSpec spec;
  if (ours) {
    if (!meta.count("model")) throw FormatError(path + ": the metadata has no \"model\" entry");
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(meta.at("model"));
    } catch (const nlohmann::json::exception& e) {
      throw FormatError(path + ": the metadata entry \"model\" is not valid JSON: " + e.what());
    }
    try {
      spec = model_spec_from_json(j, path + " (metadata)", "model");
    } catch (const ConfigError& e) {
      throw FormatError(e.what());
    }
    detail::check_patch(spec, patch, path);
  } else {
    spec = infer_spec(file, patch);
  }
  // Before allocating: the spec comes from the file and may ask for far more than it holds.
  ParameterLayout layout;
  try {
    layout = detail::layout_of(spec);
  } catch (const ConfigError& e) {
    throw FormatError(path + ": the model it describes is impossible: " + e.what());
  }
  check_parameter_tensors(file, layout);
  LoadedModel<T> loaded{build_model<T>(spec), spec, meta, !ours};
  std::visit(
      [&](auto& model) {
        read_parameters(file, model.parameters());
        for (const ParameterSpec& p : model.parameters().layout().specs())
          detail::check_finite_parameter(model.parameters().value(p.slot), p, path);
        if (meta.count("target_scaling"))
          detail::set_scaling(model, detail::metadata_json(meta, "target_scaling", path), path + " (metadata)");
        if (meta.count("input_scaling"))
          detail::set_input_scaling(model, detail::metadata_json(meta, "input_scaling", path), path + " (metadata)");
      },
      loaded.model);
  return loaded;
}

}  // namespace cnnlstm
