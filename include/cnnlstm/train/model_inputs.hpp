#pragma once
// Which arrays of a SoilData feed which standard model: the CNN branch reads x_cnn, the LSTM
// branch x_lstm (with the variant's series columns, see select_series_features).

#include <string>

#include "dataset.hpp"
#include "../model/model_spec.hpp"

namespace cnnlstm {

// Keeps the series columns the spec's LSTM reads; checks that the spec's inputs are present.
template <class T>
void fit_data_to_spec(SoilData<T>& data, const ModelSpec& spec, const std::string& x_lstm_file) {
  if (spec.cnn && !data.x_cnn)
    throw ConfigError("the " + spec.variant_name() + " model reads static covariate patches: give x_cnn");
  if (spec.lstm && !data.x_lstm)
    throw ConfigError("the " + spec.variant_name() + " model reads yearly series: give x_lstm");
  if (spec.lstm) data.x_lstm = select_series_features(*data.x_lstm, spec.lstm->input_size, x_lstm_file);
}

template <class Model, class T>
typename Model::Inputs inputs_for(const SoilData<T>& d) {
  if constexpr (std::is_same_v<Model, CnnModel<T>>) return {*d.x_cnn};
  else if constexpr (std::is_same_v<Model, LstmModel<T>>) return {*d.x_lstm};
  else return {*d.x_cnn, *d.x_lstm};
}

}  // namespace cnnlstm
