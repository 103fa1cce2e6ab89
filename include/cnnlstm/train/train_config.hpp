#pragma once
// The training configuration: a JSON file whose keys follow the paper's config.py where the two
// overlap (model_name, num_channels, lstm_input_size, lstm_hidden_size, lstm_num_layers,
// lstm_dropout, lr, batch_size, epochs, eval_interval, rand_seed), so a PyTorch user can port
// theirs key by key, plus this library's own knobs. Every key is validated: unknown keys, wrong
// types and out-of-range values are ConfigErrors that name the key.

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "../core/json_reader.hpp"
#include "../model/model_spec.hpp"
#include "recipe.hpp"
#include "trainer.hpp"

namespace cnnlstm {

struct TrainConfig {
  // The model (the paper's names). Channel and feature counts left unset follow the data.
  std::string model_name = "CNN-LSTM_evi_lsp";
  std::optional<Index> num_channels;
  std::optional<Index> lstm_input_size;
  Index lstm_hidden_size = 8;
  Index lstm_num_layers = 2;
  double lstm_dropout = 0.0;
  std::vector<Index> head_hidden{};  // hidden widths of the dense head (the paper: none)

  // The recipe (see docs/training.md for why these defaults): the library's own defaults.
  double lr = TrainerOptions{}.adam.lr;
  double weight_decay = TrainerOptions{}.adam.weight_decay;
  Index batch_size = TrainerOptions{}.batch_size;
  Index epochs = TrainerOptions{}.epochs;  // with cv_folds: the most epochs the cross-validation tries
  Index eval_interval = TrainerOptions{}.eval_interval;
  std::uint64_t rand_seed = TrainerOptions{}.seed;
  Index cv_folds = RecipeOptions{}.folds;  // internal folds choosing the epochs; 0: a validation split
  Index ensemble = RecipeOptions{}.members;  // networks averaged
  double val_fraction = 0.1;  // without cv_folds: the share of training rows that selects the model
  Index patience = TrainerOptions{}.patience;  // evaluations without improvement before a network stops
  bool shuffle = TrainerOptions{}.shuffle;
  bool standardize_targets = TrainerOptions{}.standardize_targets;
  std::string input_scaling = "standard";  // "standard": per-feature standardisation; "minmax": to [0, 1]; "none"
  bool paper_init = InitOptions{}.xavier_linear;  // Xavier-uniform Linear weights, bias 0.01
  int threads = 0;         // 0: OpenMP's default

  // Data and outputs (paths; empty when not given).
  std::string x_cnn, x_lstm, y, train_index, test_index, init, out;
  std::vector<std::string> target_columns{"soc"};  // when y is a .csv sample table

  TrainerOptions trainer_options() const {
    TrainerOptions o;
    o.epochs = epochs;
    o.batch_size = batch_size;
    o.adam.lr = lr;
    o.adam.weight_decay = weight_decay;
    o.eval_interval = eval_interval;
    o.seed = rand_seed;
    o.shuffle = shuffle;
    o.patience = cv_folds >= 2 || val_fraction > 0 ? patience : 0;
    // A warm start continues the model it was given, in that model's own target scaling (none
    // for a PyTorch export): standardising would reinterpret its output.
    o.standardize_targets = standardize_targets && init.empty();
    o.standardize_inputs = input_scaling != "none" && init.empty();
    o.input_scaling = input_scaling == "minmax" ? FeatureScalingKind::minmax : FeatureScalingKind::standard;
    return o;
  }

  // Whether training follows the recipe (internal cross-validation, refit ensemble) or trains
  // networks with a validation split; a warm start always continues its one model.
  bool uses_recipe() const { return cv_folds >= 2 && init.empty(); }

  RecipeOptions recipe_options(std::optional<double> lower_limit) const {
    RecipeOptions o;
    o.trainer = trainer_options();
    o.folds = cv_folds;
    o.members = ensemble;
    o.lower_limit = lower_limit;
    o.init.xavier_linear = paper_init;
    return o;
  }
};

// Applies the keys present in `j` on top of `config`; `where` names the source in messages.
inline void apply_train_config(const nlohmann::json& j, const std::string& where, TrainConfig& c) {
  JsonObjectReader r(j, where);
  r.read("model_name", c.model_name);
  paper_spec(c.model_name);  // validates the name, with a suggestion
  Index channels = 0, features = 0;
  if (r.has("num_channels")) {
    read_width(r, "num_channels", channels);
    c.num_channels = channels;
  }
  if (r.has("lstm_input_size")) {
    read_width(r, "lstm_input_size", features);
    c.lstm_input_size = features;
  }
  read_width(r, "lstm_hidden_size", c.lstm_hidden_size);
  read_lstm_layers(r, "lstm_num_layers", c.lstm_num_layers);
  read_dropout(r, "lstm_dropout", c.lstm_dropout);
  read_width(r, "head_hidden", c.head_hidden);
  r.read("lr", c.lr, 0.0, 10.0, true);
  r.read("weight_decay", c.weight_decay, 0.0, 10.0);
  r.read("batch_size", c.batch_size, 1, 1e7);
  r.read("epochs", c.epochs, 0, 1e8);
  r.read("eval_interval", c.eval_interval, 1, 1e8);
  r.read("rand_seed", c.rand_seed, 0, 1.8e19);
  r.read("cv_folds", c.cv_folds, 0, 1000);
  if (c.cv_folds == 1) throw ConfigError(where + ": key \"cv_folds\" must be 0 (a validation split) or at least 2");
  r.read("ensemble", c.ensemble, 1, 1000);
  r.read("val_fraction", c.val_fraction, 0.0, 1.0, false, true);
  r.read("patience", c.patience, 0, 1e8);
  r.read("shuffle", c.shuffle);
  r.read("standardize_targets", c.standardize_targets);
  r.read("input_scaling", c.input_scaling);
  if (c.input_scaling != "standard" && c.input_scaling != "minmax" && c.input_scaling != "none")
    throw ConfigError(where + ": key \"input_scaling\" must be \"standard\", \"minmax\" or \"none\", got \"" +
                      c.input_scaling + "\"");
  r.read("paper_init", c.paper_init);
  r.read("threads", c.threads, 0, 4096);
  r.read("x_cnn", c.x_cnn);
  r.read("x_lstm", c.x_lstm);
  r.read("y", c.y);
  r.read("target_columns", c.target_columns);
  r.read("train_index", c.train_index);
  r.read("test_index", c.test_index);
  r.read("init", c.init);
  r.read("out", c.out);
  r.finish();
}

inline nlohmann::json to_json(const TrainConfig& c) {
  nlohmann::json j{{"model_name", c.model_name},
                   {"num_channels", c.num_channels ? nlohmann::json(*c.num_channels) : nlohmann::json()},
                   {"lstm_input_size", c.lstm_input_size ? nlohmann::json(*c.lstm_input_size) : nlohmann::json()},
                   {"lstm_hidden_size", c.lstm_hidden_size},
                   {"lstm_num_layers", c.lstm_num_layers},
                   {"lstm_dropout", c.lstm_dropout},
                   {"head_hidden", c.head_hidden},
                   {"lr", c.lr},
                   {"weight_decay", c.weight_decay},
                   {"batch_size", c.batch_size},
                   {"epochs", c.epochs},
                   {"eval_interval", c.eval_interval},
                   {"rand_seed", c.rand_seed},
                   {"cv_folds", c.cv_folds},
                   {"ensemble", c.ensemble},
                   {"val_fraction", c.val_fraction},
                   {"patience", c.patience},
                   {"shuffle", c.shuffle},
                   {"standardize_targets", c.standardize_targets},
                   {"input_scaling", c.input_scaling},
                   {"paper_init", c.paper_init},
                   {"threads", c.threads},
                   {"target_columns", c.target_columns}};
  for (const auto& [key, value] : {std::pair{"x_cnn", &c.x_cnn}, {"x_lstm", &c.x_lstm}, {"y", &c.y},
                                   {"train_index", &c.train_index}, {"test_index", &c.test_index},
                                   {"init", &c.init}, {"out", &c.out}})
    j[key] = value->empty() ? nlohmann::json() : nlohmann::json(*value);
  return j;
}

// The model a configuration asks for, given the data's channel count and patch size. The series
// width is the variant's (1, 11 or 12) unless lstm_input_size says otherwise.
inline ModelSpec model_spec_for(const TrainConfig& c, Index data_channels, Index data_patch) {
  ModelSpec spec = paper_spec(c.model_name);
  if (spec.cnn) {
    spec.cnn->in_channels = c.num_channels.value_or(data_channels);
    spec.cnn->patch = data_patch;
  }
  if (spec.lstm) {
    spec.lstm->input_size = c.lstm_input_size.value_or(spec.lstm->input_size);
    spec.lstm->hidden_size = c.lstm_hidden_size;
    spec.lstm->num_layers = c.lstm_num_layers;
    spec.lstm->dropout = c.lstm_dropout;
  }
  spec.head.hidden = c.head_hidden;
  return spec;
}

}  // namespace cnnlstm
