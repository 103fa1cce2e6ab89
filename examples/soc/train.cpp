// soc train: trains a model and writes DIR/model.safetensors (the selected model),
// DIR/metrics.json, DIR/history.csv, DIR/learning_curves.svg, DIR/observed_vs_predicted.svg and
// DIR/checkpoint.safetensors (the last state, for --resume).
// With --ensemble K it trains K members (seeds seed, seed + 1, ...; with --bootstrap each on a
// bootstrap resample of the training rows), writes DIR/member_k.safetensors, and calibrates a 90%
// prediction interval on the validation rows (split conformal, uncertainty.hpp), stored in every
// member so that soc predict and soc map give the interval. The interval is cut at the target's
// lower limit (--lower-limit; by default 0 when no training target is negative, as for SOC).

#include "commands.hpp"
#include "workflow.hpp"

#include <cnnlstm/uncertainty.hpp>

#include <cmath>
#include <optional>

namespace soc {
namespace {

CommandLine train_command_line() {
  auto flags = config_flags();
  flags.insert(flags.end(),
               {{"train-index", "FILE", "rows to train on (.npy of integers)"},
                {"test-index", "FILE", "rows to test on, never used for selection"},
                {"init", "FILE", "start from these weights (a cnnlstm model or a PyTorch state_dict export)"},
                {"ensemble", "K", "train K members and a calibrated 90% prediction interval (default 1)"},
                {"bootstrap", "", "with --ensemble: each member trains on a bootstrap resample"},
                {"lower-limit", "X|none",
                 "with --ensemble: the interval never goes below X (default 0 if no training target is negative)"},
                {"out", "DIR", "output folder"},
                {"resume", "", "continue from the checkpoints in DIR"},
                {"print-config", "", "print the effective configuration as JSON and exit"}});
  return CommandLine("train", "Trains a soil-carbon model on covariate arrays and writes it with its metrics.", flags);
}

struct Split {
  Rows fit, validation, test;
};

Split split_rows(const cnnlstm::TrainConfig& c, Index rows) {
  if (c.train_index.empty()) throw UsageError("train: the training rows are required: give --train-index FILE");
  Split s;
  const Rows train = cnnlstm::load_index_file(c.train_index, rows);
  if (!c.test_index.empty()) {
    s.test = cnnlstm::load_index_file(c.test_index, rows);
    cnnlstm::require_disjoint(train, c.train_index, s.test, c.test_index);
  }
  std::tie(s.fit, s.validation) = cnnlstm::split_validation(train, c.val_fraction, c.rand_seed);
  return s;
}

// --lower-limit: not given (automatic: 0 when no training target is negative), none, or X.
struct LowerLimitChoice {
  bool automatic = true;
  std::optional<double> value;
};

struct EnsembleOptions {
  Index members = 1;
  bool bootstrap = false;
  bool resume = false;
  bool quiet = false;
  LowerLimitChoice lower_limit;
};

// The target's lower limit for the interval: as given (checked against every training target,
// so a wrong limit fails before training, naming the row), or 0 when no training target is
// negative.
std::optional<double> interval_lower_limit(const EnsembleOptions& e, const cnnlstm::SoilData<float>& data,
                                           const Split& split) {
  const Rows* sets[] = {&split.fit, &split.validation};
  std::optional<std::pair<double, std::int64_t>> lowest;  // (target, row)
  for (const Rows* rows : sets)
    for (const std::int64_t r : *rows)
      if (const double y = (*data.y)(r, 0); !lowest || y < lowest->first) lowest = {y, r};
  if (e.lower_limit.automatic) return lowest && lowest->first >= 0 ? std::optional<double>(0.0) : std::nullopt;
  const std::optional<double> limit = e.lower_limit.value;
  if (limit && lowest && lowest->first < *limit)
    throw cnnlstm::DataError("train: --lower-limit " + cnnlstm::message_number(*limit) + " is above the target of row " +
                             std::to_string(lowest->second) + " (" + cnnlstm::message_number(lowest->first) +
                             "): give the target's true limit, or none for a target that can be negative");
  return limit;
}

LowerLimitChoice lower_limit_flag(const CommandLine& cl) {
  if (!cl.has("lower-limit")) return {};
  if (cl.text("lower-limit") == "none") return {false, std::nullopt};
  return {false, cl.number("lower-limit", -HUGE_VAL, HUGE_VAL)};
}

// File names: a single model keeps the plain names, ensemble members are numbered.
std::string member_file(const std::string& dir, const std::string& stem, Index k, Index members) {
  return dir + "/" + stem + (members == 1 ? "" : "_" + std::to_string(k + 1)) + ".safetensors";
}

// Rows a member trains on: all fit rows, or a seeded bootstrap resample of them.
Rows member_rows(const Rows& fit, Index k, const EnsembleOptions& e, std::uint64_t seed) {
  if (!e.bootstrap) return fit;
  cnnlstm::Rng rng(seed + static_cast<std::uint64_t>(k) * 7919);
  Rows out;
  for (std::size_t i = 0; i < fit.size(); ++i) out.push_back(fit[rng.below(fit.size())]);
  return out;
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
struct Member {
  Model model;
  std::vector<cnnlstm::EvaluationRecord> history;
  cnnlstm::TrainingSummary summary;
};

// Trains member k (seed + k) with checkpoints; on divergence saves the best model and rethrows.
template <class Model>
Member<Model> train_member(Model model, cnnlstm::TrainConfig c, const LoadedData& d, const Rows& fit, const Rows& validation,
                           Index k, const EnsembleOptions& e) {
  const std::string checkpoint = member_file(c.out, "checkpoint", k, e.members);
  c.rand_seed += static_cast<std::uint64_t>(k);
  start_model(model, c);
  cnnlstm::Trainer<Model> trainer(model, c.trainer_options());
  if (e.resume && std::filesystem::exists(checkpoint)) {
    require_same_config(checkpoint, c);
    trainer.restore(cnnlstm::load_checkpoint(checkpoint, model));
  }
  ProgressReport progress(e.quiet);
  trainer.on_epoch = [&](const cnnlstm::EpochProgress& p) { progress(p); };
  trainer.on_evaluation = [&](const cnnlstm::EvaluationRecord&) {
    cnnlstm::save_checkpoint(checkpoint, model, trainer.state(), {{"config", cnnlstm::to_json(c).dump()}});
  };
  if (e.members > 1 && !e.quiet) std::cerr << "member " << k + 1 << " of " << e.members << "\n";
  Member<Model> m{model, {}, {}};
  try {
    m.summary = trainer.fit({cnnlstm::inputs_for<Model>(d.data), *d.data.y}, fit, validation);
  } catch (const cnnlstm::NumericalError&) {
    progress.finish();
    cnnlstm::save_model(member_file(c.out, "model", k, e.members), model,
                        {{"note", "training diverged; this is the best model before"}});
    write_text_file(c.out + "/history.csv", history_csv(trainer.history()));
    throw;
  }
  if (m.summary.stopped_early) progress.finish();
  m.model = model;
  m.history = trainer.history();
  return m;
}

// Predictions of every member at the rows: (rows) x (members), first output.
template <class Model>
std::vector<std::vector<double>> member_predictions(std::vector<Member<Model>>& members, const cnnlstm::SoilData<float>& data,
                                                    const Rows& rows) {
  std::vector<std::vector<double>> out(rows.size());
  for (auto& m : members) {
    const auto p = cnnlstm::predict_rows(m.model, cnnlstm::inputs_for<Model>(data), rows);
    for (std::size_t i = 0; i < rows.size(); ++i) out[i].push_back(p(static_cast<Index>(i), 0));
  }
  return out;
}

std::vector<double> observed_at(const cnnlstm::SoilData<float>& data, const Rows& rows) {
  std::vector<double> y;
  for (auto r : rows) y.push_back((*data.y)(r, 0));
  return y;
}

// Ensemble metrics (of the members' mean) and, with a calibration, the interval's coverage.
template <class Model>
nlohmann::json ensemble_metrics(std::vector<Member<Model>>& members, const cnnlstm::SoilData<float>& data, const Rows& rows,
                                const std::optional<cnnlstm::ConformalCalibration>& calibration) {
  const auto predictions = member_predictions(members, data, rows);
  std::vector<cnnlstm::PredictionBands> bands;
  std::vector<double> means;
  double width = 0;
  for (const auto& p : predictions) {
    bands.push_back(cnnlstm::prediction_bands(p, calibration));
    means.push_back(bands.back().mean);
    width += bands.back().q95 - bands.back().q05;
  }
  const auto observed = observed_at(data, rows);
  nlohmann::json j = cnnlstm::to_json(cnnlstm::compute_metrics(observed, means));
  j["picp_90"] = cnnlstm::interval_coverage(bands, observed);
  j["mean_interval_width"] = width / static_cast<double>(rows.size());
  return j;
}

nlohmann::json data_description(const cnnlstm::SoilData<float>& d) {
  nlohmann::json j{{"rows", d.rows}};
  if (d.x_cnn) j["x_cnn"] = {d.x_cnn->dimension(1), d.x_cnn->dimension(2), d.x_cnn->dimension(3)};
  if (d.x_lstm) j["x_lstm"] = {d.x_lstm->dimension(1), d.x_lstm->dimension(2)};
  return j;
}

std::string all_histories_csv(const std::vector<std::vector<cnnlstm::EvaluationRecord>>& histories) {
  if (histories.size() == 1) return history_csv(histories[0]);
  std::string out;
  for (std::size_t k = 0; k < histories.size(); ++k) {
    std::istringstream lines(history_csv(histories[k]));
    std::string line;
    for (bool header = true; std::getline(lines, line); header = false)
      if (!header || k == 0) out += (header ? "member," : std::to_string(k + 1) + ",") + line + "\n";
  }
  return out;
}

template <class Model>
void write_results(std::vector<Member<Model>>& members, const cnnlstm::TrainConfig& c, const LoadedData& d, const Split& split,
                   const std::optional<cnnlstm::ConformalCalibration>& calibration) {
  const auto k_members = static_cast<Index>(members.size());
  nlohmann::json metrics{{"variant", d.spec.variant_name()},
                         {"members", k_members},
                         {"rows", {{"train", split.fit.size()}, {"validation", split.validation.size()}, {"test", split.test.size()}}}};
  if (k_members == 1) {
    auto& m = members[0];
    metrics["epochs_done"] = m.summary.epochs_done;
    metrics["best_epoch"] = m.summary.best_epoch;
    metrics["stopped_early"] = m.summary.stopped_early;
    for (const auto& [name, rows] : {std::pair{"train", &split.fit}, {"validation", &split.validation}, {"test", &split.test}})
      if (!rows->empty()) metrics[name] = metrics_json(evaluate_rows(m.model, d.data, *rows));
  } else {
    for (const auto& [name, rows] : {std::pair{"train", &split.fit}, {"validation", &split.validation}, {"test", &split.test}})
      if (!rows->empty()) metrics[name] = ensemble_metrics(members, d.data, *rows, calibration);
    if (calibration) metrics["conformal"] = cnnlstm::to_json(*calibration);
  }
  std::vector<std::vector<cnnlstm::EvaluationRecord>> histories;
  for (Index k = 0; k < k_members; ++k) {
    auto& m = members[static_cast<std::size_t>(k)];
    std::map<std::string, std::string> meta{
        {"training", nlohmann::json{{"config", cnnlstm::to_json(c)}, {"data", data_description(d.data)}, {"metrics", metrics}}.dump()}};
    if (k_members > 1) {
      nlohmann::json ensemble{{"size", k_members}, {"member", k + 1}};
      if (calibration) ensemble["conformal"] = cnnlstm::to_json(*calibration);
      meta["ensemble"] = ensemble.dump();
    }
    cnnlstm::save_model(member_file(c.out, "model", k, k_members), m.model, meta);
    histories.push_back(m.history);
  }
  write_text_file(c.out + "/metrics.json", metrics.dump(2) + "\n");
  write_text_file(c.out + "/history.csv", all_histories_csv(histories));
  write_text_file(c.out + "/learning_curves.svg", learning_curves_svg(histories[0]));
  write_text_file(c.out + "/observed_vs_predicted.svg",
                  observed_predicted_svg(members[0].model, d.data,
                                         {{"train", split.fit}, {"validation", split.validation}, {"test", split.test}}));
  std::cout << metrics.dump(2) << "\n";
}

template <class Model>
int train(const Model& blank, const cnnlstm::TrainConfig& c, const LoadedData& d, const EnsembleOptions& e) {
  const Split split = split_rows(c, d.data.rows);
  const std::optional<double> lower_limit = interval_lower_limit(e, d.data, split);
  if (e.resume && !std::filesystem::exists(member_file(c.out, "checkpoint", 0, e.members)))
    throw UsageError("train: --resume: there is no " + member_file(c.out, "checkpoint", 0, e.members) + " to resume from");
  std::vector<Member<Model>> members;
  for (Index k = 0; k < e.members; ++k)
    members.push_back(train_member(blank, c, d, member_rows(split.fit, k, e, c.rand_seed), split.validation, k, e));
  std::optional<cnnlstm::ConformalCalibration> calibration;
  if (e.members > 1 && !split.validation.empty())
    calibration = cnnlstm::calibrate_conformal(member_predictions(members, d.data, split.validation),
                                               observed_at(d.data, split.validation), 0.1, lower_limit);
  else if (e.members > 1)
    std::cerr << "soc: note: without validation rows the interval is the members' own spread, not calibrated\n";
  write_results(members, c, d, split, calibration);
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
  if (c.out.empty()) throw UsageError("train: an output folder is required: give --out DIR");
  const EnsembleOptions e{cl.integer("ensemble", 1, 1000).value_or(1), cl.has("bootstrap"), cl.has("resume"),
                          cl.has("quiet"), lower_limit_flag(cl)};
  if (e.bootstrap && e.members == 1) throw UsageError("train: --bootstrap needs --ensemble K with K > 1");
  if (!e.lower_limit.automatic && e.members == 1) throw UsageError("train: --lower-limit needs --ensemble K with K > 1");
  const LoadedData d = load_training_data(c);
  // One calibration per ensemble, in the units of one target: several outputs would share it.
  if (const Index outputs = d.data.y->dimension(1); e.members > 1 && outputs > 1)
    throw UsageError("train: --ensemble calibrates the interval of one target, but " + c.y + " has " +
                     std::to_string(outputs) + " columns: train one ensemble per column");
  output_folder(c.out);
  const auto model = cnnlstm::build_model<float>(d.spec);
  return std::visit([&](const auto& m) { return train(m, c, d, e); }, model);
}

}  // namespace soc
