#pragma once
// What a model file says about the data it was trained on. soc train stores it as the metadata
// "training": {"config": ..., "data": {"rows": N, "x_cnn": [C, P, P], "x_lstm": [T, F]}, ...}.
// One rule everywhere (predict, evaluate, importance, map): series of another number of years
// than the model was trained on are refused; the LSTM would run on them and answer wrong.

#include <cnnlstm/io/model_file.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace soc {

// The years T of the training series; none for a model without a record (a PyTorch export) or
// without series.
inline std::optional<cnnlstm::Index> trained_years(const cnnlstm::LoadedModel<float>& model, const std::string& path) {
  const auto it = model.metadata.find("training");
  if (it == model.metadata.end()) return std::nullopt;
  nlohmann::json record;
  try {
    record = nlohmann::json::parse(it->second);
  } catch (const nlohmann::json::exception& e) {
    throw cnnlstm::FormatError(path + ": the \"training\" metadata is not valid JSON: " + e.what());
  }
  const auto series = record.value("data", nlohmann::json::object()).value("x_lstm", nlohmann::json::array());
  if (!series.is_array() || series.empty() || !series[0].is_number_integer()) return std::nullopt;
  return series[0].get<cnnlstm::Index>();
}

// Throws unless the model, if it records its training years, was trained on `years`. `input`
// names the series ("x_lstm.npy", "each series file") for the message.
inline void check_trained_years(const cnnlstm::LoadedModel<float>& model, const std::string& path, cnnlstm::Index years,
                                const std::string& input) {
  if (const auto trained = trained_years(model, path); trained && *trained != years)
    throw cnnlstm::ShapeError(path + ": the model was trained on " + std::to_string(*trained) + " years of series, " + input +
                              " has " + std::to_string(years) + " (give the same years as at training, in the same order)");
}

inline void check_trained_years(const std::vector<cnnlstm::LoadedModel<float>>& models, const std::vector<std::string>& paths,
                                cnnlstm::Index years, const std::string& input) {
  // One path per model, or one file holding them all (an ensemble file).
  for (std::size_t m = 0; m < models.size(); ++m)
    check_trained_years(models[m], paths.size() == models.size() ? paths[m] : paths.front(), years, input);
}

}  // namespace soc
