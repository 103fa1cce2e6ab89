// soc train: trains a model and writes DIR/model.safetensors (the selected model),
// DIR/metrics.json, DIR/history.csv, DIR/learning_curves.svg, DIR/observed_vs_predicted.svg and
// DIR/checkpoint.safetensors (the last state, for --resume).

#include "commands.hpp"
#include "workflow.hpp"

namespace soc {
namespace {

CommandLine train_command_line() {
  auto flags = config_flags();
  flags.insert(flags.end(),
               {{"train-index", "FILE", "rows to train on (.npy of integers)"},
                {"test-index", "FILE", "rows to test on, never used for selection"},
                {"init", "FILE", "start from these weights (a cnnlstm model or a PyTorch state_dict export)"},
                {"out", "DIR", "output folder"},
                {"resume", "", "continue from DIR/checkpoint.safetensors"},
                {"print-config", "", "print the effective configuration as JSON and exit"}});
  return CommandLine("train", "Trains a soil-carbon model on covariate arrays and writes it with its metrics.", flags);
}

struct Split {
  Rows fit, validation, test;
};

Split split_rows(const cnnlstm::TrainConfig& c, Index rows) {
  if (c.train_index.empty()) throw UsageError("the training rows are required: give --train-index FILE");
  Split s;
  const Rows train = cnnlstm::load_index_file(c.train_index, rows);
  if (!c.test_index.empty()) {
    s.test = cnnlstm::load_index_file(c.test_index, rows);
    cnnlstm::require_disjoint(train, c.train_index, s.test, c.test_index);
  }
  std::tie(s.fit, s.validation) = cnnlstm::split_validation(train, c.val_fraction, c.rand_seed);
  return s;
}

nlohmann::json data_description(const cnnlstm::SoilData<float>& d) {
  nlohmann::json j{{"rows", d.rows}};
  if (d.x_cnn) j["x_cnn"] = {d.x_cnn->dimension(1), d.x_cnn->dimension(2), d.x_cnn->dimension(3)};
  if (d.x_lstm) j["x_lstm"] = {d.x_lstm->dimension(1), d.x_lstm->dimension(2)};
  return j;
}

template <class Model>
void write_results(Model& model, const cnnlstm::TrainConfig& c, const LoadedData& d, const Split& split,
                   const cnnlstm::Trainer<Model>& trainer, const cnnlstm::TrainingSummary& summary) {
  const auto train = evaluate_rows(model, d.data, split.fit);
  const auto validation = evaluate_rows(model, d.data, split.validation);
  const auto test = evaluate_rows(model, d.data, split.test);
  nlohmann::json metrics{{"variant", d.spec.variant_name()},
                         {"epochs_done", summary.epochs_done},
                         {"best_epoch", summary.best_epoch},
                         {"stopped_early", summary.stopped_early},
                         {"rows", {{"train", split.fit.size()}, {"validation", split.validation.size()}, {"test", split.test.size()}}},
                         {"train", metrics_json(train)}};
  if (!validation.empty()) metrics["validation"] = metrics_json(validation);
  if (!test.empty()) metrics["test"] = metrics_json(test);
  const std::string dir = c.out;
  cnnlstm::save_model(dir + "/model.safetensors", model,
                      {{"training", nlohmann::json{{"config", cnnlstm::to_json(c)}, {"data", data_description(d.data)},
                                                   {"metrics", metrics}}.dump()}});
  write_text_file(dir + "/metrics.json", metrics.dump(2) + "\n");
  write_text_file(dir + "/history.csv", history_csv(trainer.history()));
  write_text_file(dir + "/learning_curves.svg", learning_curves_svg(trainer.history()));
  write_text_file(dir + "/observed_vs_predicted.svg",
                  observed_predicted_svg(model, d.data, {{"train", split.fit}, {"validation", split.validation}, {"test", split.test}}));
  std::cout << metrics.dump(2) << "\n";
}

// The configuration a checkpoint was made with must be the one resumed with (epochs may grow).
void require_same_config(const std::string& checkpoint, const cnnlstm::TrainConfig& c) {
  const auto meta = cnnlstm::SafetensorsFile::open(checkpoint).metadata();
  if (!meta.count("config")) throw cnnlstm::FormatError(checkpoint + ": the checkpoint records no configuration");
  auto saved = nlohmann::json::parse(meta.at("config"));
  auto now = cnnlstm::to_json(c);
  saved.erase("epochs");
  now.erase("epochs");
  if (saved != now)
    throw cnnlstm::ConfigError(checkpoint + ": the run was started with another configuration; resume with the same flags "
                               "(saved: " + saved.dump() + ")");
}

template <class Model>
int train(Model& model, const cnnlstm::TrainConfig& c, const LoadedData& d, bool resume, bool quiet) {
  const Split split = split_rows(c, d.data.rows);
  start_model(model, c);
  cnnlstm::Trainer<Model> trainer(model, c.trainer_options());
  const std::string checkpoint = c.out + "/checkpoint.safetensors";
  if (resume) {
    if (!std::filesystem::exists(checkpoint)) throw UsageError("--resume: there is no " + checkpoint + " to resume from");
    require_same_config(checkpoint, c);
    trainer.restore(cnnlstm::load_checkpoint(checkpoint, model));
  }
  ProgressReport progress(quiet);
  trainer.on_epoch = [&](const cnnlstm::EpochProgress& p) { progress(p); };
  trainer.on_evaluation = [&](const cnnlstm::EvaluationRecord&) {
    cnnlstm::save_checkpoint(checkpoint, model, trainer.state(), {{"config", cnnlstm::to_json(c).dump()}});
  };
  cnnlstm::TrainingSummary summary;
  try {
    summary = trainer.fit({cnnlstm::inputs_for<Model>(d.data), *d.data.y}, split.fit, split.validation);
  } catch (const cnnlstm::NumericalError&) {
    progress.finish();
    cnnlstm::save_model(c.out + "/model.safetensors", model, {{"note", "training diverged; this is the best model before"}});
    write_text_file(c.out + "/history.csv", history_csv(trainer.history()));
    throw;
  }
  if (summary.stopped_early) progress.finish();
  write_results(model, c, d, split, trainer, summary);
  return 0;
}

}  // namespace

int run_train(const Arguments& args) {
  CommandLine cl = train_command_line();
  if (!cl.parse(args)) return 0;
  const cnnlstm::TrainConfig c = effective_config(cl);
  if (cl.has("print-config")) {
    std::cout << cnnlstm::to_json(c).dump(2) << "\n";
    return 0;
  }
  if (c.out.empty()) throw UsageError("an output folder is required: give --out DIR");
  const LoadedData d = load_training_data(c);
  output_folder(c.out);
  auto model = cnnlstm::build_model<float>(d.spec);
  return std::visit([&](auto& m) { return train(m, c, d, cl.has("resume"), cl.has("quiet")); }, model);
}

}  // namespace soc
