#pragma once
// The steps soc train and soc cv share: the effective configuration, the data it names, one
// training run of a standard model, and the files that record it.

#include <cnnlstm/train/checkpoint.hpp>
#include <cnnlstm/train/model_inputs.hpp>
#include "svg_plot.hpp"
#include <cnnlstm/train/train_config.hpp>

#include <omp.h>

#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "common_flags.hpp"
#include "command_line.hpp"
#include "output_files.hpp"
#include "progress.hpp"

namespace soc {

using cnnlstm::Index;
using Rows = std::vector<std::int64_t>;

// Flags that set configuration keys, shared by train and cv.
inline std::vector<Flag> config_flags() {
  return {{"config", "FILE", "JSON configuration (keys as the paper's config.py; see docs/training.md)"},
          {"variant", "NAME", "model: CNN, LSTM_evi, LSTM_lsp, LSTM_evi_lsp, CNN-LSTM_evi, CNN-LSTM_lsp, CNN-LSTM_evi_lsp"},
          flags::x_cnn,
          flags::x_lstm,
          {"y", "FILE", "targets: (N) or (N, K) .npy, or a .csv sample table in the arrays' row order"},
          {"target-column", "NAME", "column of a .csv --y to learn (default soc)", true},
          {"epochs", "N", "training epochs"},
          {"batch-size", "N", "samples per Adam step"},
          {"lr", "X", "Adam learning rate"},
          {"weight-decay", "X", "L2 weight decay"},
          {"seed", "N", "seed of initialisation, shuffling, dropout and the folds"},
          {"ensemble", "K", "networks averaged, with a calibrated 90% interval when K > 1 (default 10)"},
          {"cv-folds", "N", "internal cross-validation folds choosing the epochs (default 5; 0: a validation split)"},
          {"val-fraction", "X", "with --cv-folds 0: share of the training rows held out for model selection"},
          {"patience", "N", "evaluations without validation improvement before stopping (0: never)"},
          {"eval-interval", "N", "epochs between evaluations"},
          {"no-shuffle", "", "visit the training rows in the given order"},
          {"no-standardize", "", "learn raw targets instead of standardised ones"},
          {"input-scaling", "standard|minmax|none", "scale each input channel and feature on the training rows: standardise (default) or map its range to [0, 1]"},
          flags::threads,
          flags::quiet};
}

// Defaults, then the --config file, then the flags.
inline cnnlstm::TrainConfig effective_config(const CommandLine& cl) {
  cnnlstm::TrainConfig c;
  if (cl.has("config")) cnnlstm::apply_train_config(read_json_file(cl.text("config")), cl.text("config"), c);
  nlohmann::json flags = nlohmann::json::object();
  const auto set_text = [&](const char* flag, const char* key) {
    if (cl.has(flag)) flags[key] = cl.text(flag);
  };
  set_text("variant", "model_name");
  set_text("x-cnn", "x_cnn");
  set_text("x-lstm", "x_lstm");
  set_text("y", "y");
  set_text("train-index", "train_index");
  set_text("test-index", "test_index");
  set_text("init", "init");
  set_text("out", "out");
  set_text("input-scaling", "input_scaling");
  if (auto v = cl.integer("epochs", 0, 100'000'000)) flags["epochs"] = *v;
  if (auto v = cl.integer("batch-size", 1, 10'000'000)) flags["batch_size"] = *v;
  if (auto v = cl.number("lr", 0, 10, true)) flags["lr"] = *v;
  if (auto v = cl.number("weight-decay", 0, 10)) flags["weight_decay"] = *v;
  if (auto v = cl.integer("seed", 0, std::numeric_limits<long long>::max())) flags["rand_seed"] = *v;
  if (auto v = cl.integer("ensemble", 1, 1000)) flags["ensemble"] = *v;
  if (auto v = cl.integer("cv-folds", 0, 1000)) flags["cv_folds"] = *v;
  if (auto v = cl.number("val-fraction", 0, 1, false, true)) flags["val_fraction"] = *v;
  if (auto v = cl.integer("patience", 0, 100'000'000)) flags["patience"] = *v;
  if (auto v = cl.integer("eval-interval", 1, 100'000'000)) flags["eval_interval"] = *v;
  if (auto v = cl.integer("threads", 0, 4096)) flags["threads"] = *v;
  if (cl.has("target-column")) flags["target_columns"] = cl.all("target-column");
  if (cl.has("no-shuffle")) flags["shuffle"] = false;
  if (cl.has("no-standardize")) flags["standardize_targets"] = false;
  cnnlstm::apply_train_config(flags, "command line", c);
  if (c.threads > 0) omp_set_num_threads(c.threads);
  return c;
}

// The arrays the configured variant reads, validated, with its series columns selected.
struct LoadedData {
  cnnlstm::SoilData<float> data;
  cnnlstm::ModelSpec spec;
};

inline LoadedData load_training_data(const cnnlstm::TrainConfig& c) {
  const cnnlstm::ModelSpec paper = cnnlstm::paper_spec(c.model_name);
  if (c.y.empty()) throw UsageError("the targets are required: give --y FILE (or \"y\" in the configuration)");
  if (paper.cnn && c.x_cnn.empty()) throw UsageError(c.model_name + " reads static covariate patches: give --x-cnn FILE");
  if (paper.lstm && c.x_lstm.empty()) throw UsageError(c.model_name + " reads yearly series: give --x-lstm FILE");
  if (!paper.cnn && !c.x_cnn.empty()) std::cerr << "soc: note: " << c.model_name << " does not read --x-cnn; ignored\n";
  if (!paper.lstm && !c.x_lstm.empty()) std::cerr << "soc: note: " << c.model_name << " does not read --x-lstm; ignored\n";
  LoadedData d;
  d.data = cnnlstm::load_soil_data<float>({paper.cnn ? c.x_cnn : "", paper.lstm ? c.x_lstm : "", c.y, c.target_columns});
  const Index channels = d.data.x_cnn ? d.data.x_cnn->dimension(1) : 0;
  const Index patch = d.data.x_cnn ? d.data.x_cnn->dimension(2) : 0;
  d.spec = cnnlstm::model_spec_for(c, channels, patch);
  d.spec.head.outputs = d.data.y->dimension(1);  // one output per target column
  if (d.spec.cnn && c.num_channels && *c.num_channels != channels)
    throw cnnlstm::ShapeError(c.x_cnn + ": num_channels is " + std::to_string(*c.num_channels) + " but the patches have " +
                              std::to_string(channels) + " channels");
  cnnlstm::fit_data_to_spec(d.data, d.spec, c.x_lstm);
  return d;
}

// Starts a model: from --init weights (a cnnlstm model or a PyTorch export of the same
// architecture) or from the configured seed.
template <class Model>
void start_model(Model& model, const cnnlstm::TrainConfig& c) {
  if (c.init.empty()) {
    model.initialize(c.rand_seed, cnnlstm::InitOptions{.xavier_linear = c.paper_init});
    return;
  }
  const auto patch = model.options().branches;  // only for the CNN's patch check below
  std::optional<Index> patch_size;
  if constexpr (!std::is_same_v<Model, cnnlstm::LstmModel<float>>) patch_size = std::get<0>(patch).patch;
  auto loaded = cnnlstm::load_model<float>(c.init, patch_size);
  std::visit(
      [&](auto& source) {
        const auto& from = source.parameters().layout().specs();
        const auto& to = model.parameters().layout().specs();
        bool same = from.size() == to.size();
        for (std::size_t i = 0; same && i < from.size(); ++i) same = from[i].name == to[i].name && from[i].shape == to[i].shape;
        if (!same)
          throw cnnlstm::ShapeError(c.init + ": its " + loaded.spec.variant_name() + " model " +
                                    cnnlstm::to_json(loaded.spec).dump() + " is not the configured " +
                                    cnnlstm::to_json(cnnlstm::spec_of(model)).dump());
        model.parameters().values() = source.parameters().values();
        model.set_target_scaling(source.target_scaling());
        if constexpr (std::is_same_v<std::decay_t<decltype(source)>, Model>) model.set_input_scaling(source.input_scaling());
      },
      loaded.model);
}

// Metrics per output on the given rows (empty rows: none).
template <class Model>
std::vector<cnnlstm::Metrics> evaluate_rows(Model& model, const cnnlstm::SoilData<float>& data, const Rows& rows) {
  if (rows.empty()) return {};
  const auto inputs = cnnlstm::inputs_for<Model>(data);
  return cnnlstm::metrics_per_output(cnnlstm::predict_rows(model, inputs, rows), cnnlstm::TensorRef<float, 2>(*data.y), rows);
}

inline std::string history_csv(const std::vector<cnnlstm::EvaluationRecord>& history) {
  std::ostringstream csv;
  csv.precision(8);
  csv << "epoch,train_loss,train_rmse,train_r2,validation_rmse,validation_r2,seconds\n";
  for (const auto& r : history) {
    csv << r.epoch << ',' << r.train_loss << ',' << r.train[0].rmse << ',' << r.train[0].r2 << ',';
    if (!r.validation.empty()) csv << r.validation[0].rmse << ',' << r.validation[0].r2;
    else csv << ',';
    csv << ',' << r.seconds << '\n';
  }
  return csv.str();
}

inline std::string learning_curves_svg(const std::vector<cnnlstm::EvaluationRecord>& history) {
  cnnlstm::PlotSeries train{"training RMSE", {}, {}}, validation{"validation RMSE", {}, {}, true};
  for (const auto& r : history) {
    train.x.push_back(static_cast<double>(r.epoch));
    train.y.push_back(r.train[0].rmse);
    if (!r.validation.empty()) {
      validation.x.push_back(static_cast<double>(r.epoch));
      validation.y.push_back(r.validation[0].rmse);
    }
  }
  std::vector<cnnlstm::PlotSeries> series{train};
  if (!validation.x.empty()) series.push_back(validation);
  return cnnlstm::line_chart_svg({"Learning curves", "epoch", "RMSE (target units)"}, series);
}

// One set of sites for the observed-against-predicted chart.
struct ObservedPredicted {
  std::string name;
  std::vector<double> observed, predicted;
};

inline std::string observed_predicted_svg(const std::vector<ObservedPredicted>& sets) {
  std::vector<cnnlstm::PlotSeries> groups;
  for (const auto& s : sets) groups.push_back({s.name, s.observed, s.predicted});
  return cnnlstm::scatter_svg({"Observed and predicted", "observed", "predicted"}, groups, true);
}

}  // namespace soc
