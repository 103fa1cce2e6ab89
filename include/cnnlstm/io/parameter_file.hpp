#pragma once
// A model's parameters as a safetensors file: one tensor per ParameterSpec, under its PyTorch
// state_dict name and shape, so a file saved with safetensors.torch.save_file(model.state_dict())
// loads into the matching cnnlstm model and back.
//
//   write_parameters("model.safetensors", params, {{"model", "CNN-LSTM_evi_lsp"}});
//   read_parameters(SafetensorsFile::open("model.safetensors"), params);

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "../core/errors.hpp"
#include "../core/parameters.hpp"
#include "dtype.hpp"
#include "safetensors.hpp"

namespace cnnlstm {

// Writes every parameter tensor (values, not gradients), stored as `dtype` (F32 or F64),
// through AtomicFile.
template <class T>
void write_parameters(const std::string& path, const Parameters<T>& params,
                      const std::map<std::string, std::string>& metadata,
                      DType dtype = DType::F32) {
  std::vector<SafetensorsEntry<T>> entries;
  for (const ParameterSpec& spec : params.layout().specs())
    entries.push_back({spec.name, dtype, spec.shape, params.value(spec.slot)});
  save_safetensors(path, entries, metadata);
}

namespace detail {

// Every way the file's tensors differ from the layout's, one line each.
inline std::vector<std::string> parameter_mismatches(const SafetensorsFile& file,
                                                     const ParameterLayout& layout) {
  std::vector<std::string> problems;
  for (const ParameterSpec& spec : layout.specs()) {
    if (!file.contains(spec.name)) {
      problems.push_back("missing tensor '" + spec.name + "' (the model expects shape " +
                         shape_string(spec.shape) + ")");
    } else if (file.info(spec.name).shape != spec.shape) {
      problems.push_back("tensor '" + spec.name + "' has shape " +
                         shape_string(file.info(spec.name).shape) + ", the model expects " +
                         shape_string(spec.shape));
    }
  }
  for (const std::string& name : file.names())
    if (layout.find(name) == nullptr)
      problems.push_back("unexpected tensor '" + name + "' with shape " +
                         shape_string(file.info(name).shape) +
                         " (the model has no such parameter)");
  return problems;
}

}  // namespace detail

// Throws a ShapeError listing every missing, unexpected and mis-shaped tensor unless the file
// holds exactly the layout's tensors with the layout's shapes. Needs no parameter storage, so a
// model can be checked against a file before it is allocated.
inline void check_parameter_tensors(const SafetensorsFile& file, const ParameterLayout& layout) {
  const auto problems = detail::parameter_mismatches(file, layout);
  if (problems.empty()) return;
  std::string message = file.path() + ": the tensors do not match the model (" +
                        std::to_string(problems.size()) + " problem" +
                        (problems.size() == 1 ? "" : "s") + "):";
  for (const auto& problem : problems) message += "\n  " + problem;
  throw ShapeError(message);
}

// Loads every parameter from the file, which must hold exactly the model's tensors with the
// model's shapes (check_parameter_tensors), and leaves `params` unchanged if a read fails.
template <class T>
void read_parameters(const SafetensorsFile& file, Parameters<T>& params) {
  check_parameter_tensors(file, params.layout());
  auto values = params.values();
  for (const ParameterSpec& spec : params.layout().specs())
    file.read(spec.name, values.data() + spec.slot.offset, spec.shape);
  params.values() = std::move(values);
}

// read_parameters from the file at `path`.
template <class T>
void load_parameters(const std::string& path, Parameters<T>& params) {
  read_parameters(SafetensorsFile::open(path), params);
}

}  // namespace cnnlstm
