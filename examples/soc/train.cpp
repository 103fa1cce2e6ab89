// soc train: trains a model and writes DIR/model.safetensors (the whole result: one network, or
// every member of an ensemble with its interval calibration), DIR/metrics.json, DIR/history.csv,
// DIR/learning_curves.svg and DIR/observed_vs_predicted.svg.
// By default it follows the recipe (cnnlstm/train/recipe.hpp): the epochs are chosen by an internal
// cross-validation over the training rows, --ensemble K networks (10) are refit on all of them,
// and their 90% interval is calibrated on the out-of-fold predictions (cut at the target's lower
// limit: --lower-limit; by default 0 when no training target is negative, as for SOC).
// With --cv-folds 0 (or a warm start, --init) it trains networks with model selection on a
// validation split instead, writing DIR/checkpoint.safetensors for --resume; K > 1 members are
// then calibrated on the validation rows (split conformal).

#include "commands.hpp"
#include "mpi_gradients.hpp"
#include "mpi_job.hpp"
#include "mpi_tasks.hpp"
#include "output_guard.hpp"
#include "workflow.hpp"

#include <cnnlstm/soilmap/ensemble.hpp>
#include <cnnlstm/soilmap/training_domain.hpp>
#include <cnnlstm/train/recipe.hpp>
#include <cnnlstm/train/uncertainty.hpp>

#include <cmath>
#include <optional>
#include <fstream>
#include <regex>

namespace soc {
namespace {

CommandLine train_command_line() {
  auto flags = config_flags();
  flags.insert(flags.end(),
               {{"train-index", "FILE", "rows to train on (.npy of integers)"},
                {"test-index", "FILE", "rows to test on, never used for selection"},
                {"init", "FILE", "start from these weights (a cnnlstm model or a PyTorch state_dict export)"},
                {"bootstrap", "", "with --cv-folds 0 and --ensemble: each member trains on a bootstrap resample"},
                {"lower-limit", "X|none",
                 "predictions and intervals never go below X (default 0 if no training target is negative)"},
                {"names", "FILE", "JSON naming the inputs (x_cnn_channels, x_lstm_features), stored in the model "
                                  "(default: the bands.json soc extract wrote beside --x-cnn or --x-lstm)"},
                {"out", "DIR", "output folder"},
                {"resume", "", "with --cv-folds 0: continue from the checkpoints in DIR"},
                {"data-parallel", "PARTS",
                 "with --cv-folds 0: every batch in PARTS parts, shared among the ranks of mpirun (the model depends "
                 "on PARTS, not on the ranks)"},
                {"print-config", "", "print the effective configuration as JSON and exit"}});
  return CommandLine("train", "Trains a soil-carbon model on covariate arrays and writes it with its metrics.", flags);
}

struct Split {
  Rows fit, validation, test;
};

// The training rows (with a validation split unless the recipe runs) and the test rows.
Split split_rows(const cnnlstm::TrainConfig& c, Index rows) {
  if (c.train_index.empty()) throw UsageError("train: the training rows are required: give --train-index FILE");
  Split s;
  const Rows train = cnnlstm::load_index_file(c.train_index, rows);
  if (!c.test_index.empty()) {
    s.test = cnnlstm::load_index_file(c.test_index, rows);
    cnnlstm::require_disjoint(train, c.train_index, s.test, c.test_index);
  }
  if (c.uses_recipe()) s.fit = train;
  else std::tie(s.fit, s.validation) = cnnlstm::split_validation(train, c.val_fraction, c.rand_seed);
  return s;
}

// --lower-limit: not given (automatic: 0 when no training target is negative), none, or X.
struct LowerLimitChoice {
  bool automatic = true;
  std::optional<double> value;
};

struct RunOptions {
  bool bootstrap = false;
  bool resume = false;
  bool quiet = false;
  LowerLimitChoice lower_limit;
  Index data_parallel = 0;                    // parts of every batch (0: not data parallel)
  std::optional<cnnlstm::InputNames> names;  // of the inputs, if known
};

// The inputs' names for the model file: --names FILE, else the bands.json soc extract wrote
// beside the arrays, if any. Lists of another length than the arrays' are refused.
std::optional<cnnlstm::InputNames> input_names(const CommandLine& cl, const cnnlstm::TrainConfig& c, const LoadedData& d) {
  std::string file = cl.text("names");
  for (const std::string& array : {c.x_cnn, c.x_lstm})
    if (file.empty() && !array.empty()) {
      const auto beside = std::filesystem::path(array).parent_path() / "bands.json";
      if (std::filesystem::exists(beside)) file = beside.string();
    }
  if (file.empty()) return std::nullopt;
  const auto j = read_json_file(file);
  cnnlstm::InputNames names;
  try {
    names.channels = j.value("x_cnn_channels", std::vector<std::string>{});
    names.features = j.value("x_lstm_features", std::vector<std::string>{});
  } catch (const nlohmann::json::exception& e) {
    throw cnnlstm::ConfigError(file + ": expected lists of names \"x_cnn_channels\" and \"x_lstm_features\": " + e.what());
  }
  const Index channels = d.data.x_cnn ? d.data.x_cnn->dimension(1) : 0, features = d.data.x_lstm ? d.data.x_lstm->dimension(2) : 0;
  if (!d.data.x_cnn) names.channels.clear();
  if (!d.data.x_lstm) names.features.clear();
  const auto count = static_cast<Index>(names.features.size());
  if (!names.channels.empty() && static_cast<Index>(names.channels.size()) != channels)
    throw cnnlstm::ShapeError(file + ": " + std::to_string(names.channels.size()) + " x_cnn_channels, but " + c.x_cnn +
                              " has " + std::to_string(channels) + " channels");
  if (count > 0 && count != features && cnnlstm::first_series_feature(count, features) < 0)
    throw cnnlstm::ShapeError(file + ": " + std::to_string(count) + " x_lstm_features, but the model reads " +
                              std::to_string(features) + " series features of " + c.x_lstm);
  return names;
}

// The targets' lower limit for predictions and intervals: as given (checked against every
// training target, so a wrong limit fails before training, naming the row), or 0 when no
// training target is negative.
std::optional<double> lower_limit_of(const RunOptions& e, const cnnlstm::SoilData<float>& data, const Split& split) {
  std::optional<std::pair<double, std::int64_t>> lowest;  // (target, row)
  for (const Rows* rows : {&split.fit, &split.validation})
    for (const std::int64_t r : *rows)
      for (Index k = 0; k < data.y->dimension(1); ++k)
        if (const double y = (*data.y)(r, k); !lowest || y < lowest->first) lowest = {y, r};
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

std::string checkpoint_file(const std::string& dir, Index k, Index members) {
  return dir + "/checkpoint" + (members == 1 ? "" : "_" + std::to_string(k + 1)) + ".safetensors";
}

// Files an earlier run in the folder may have left that this run's result replaces: the
// numbered member files of older multi-file ensembles, and checkpoints of members beyond `members`.
void remove_stale_files(const std::string& dir, Index members) {
  static const std::regex numbered(R"((model|checkpoint)_([0-9]+)\.safetensors)");
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::smatch m;
    const std::string name = entry.path().filename().string();
    if (!std::regex_match(name, m, numbered)) continue;
    if (m[1] == "model" || std::stoll(m[2]) > members) std::filesystem::remove(entry.path());
  }
  if (members > 1) std::filesystem::remove(dir + "/checkpoint.safetensors");
}

// Rows a member trains on: all fit rows, or a seeded bootstrap resample of them.
Rows member_rows(const Rows& fit, Index k, const RunOptions& e, std::uint64_t seed) {
  if (!e.bootstrap) return fit;
  cnnlstm::Rng rng(seed + static_cast<std::uint64_t>(k) * 7919);
  Rows out;
  for (std::size_t i = 0; i < fit.size(); ++i) out.push_back(fit[rng.below(fit.size())]);
  return out;
}

// The data files a run reads, as key -> path (the configuration's keys).
std::vector<std::pair<std::string, std::string>> input_files(const cnnlstm::TrainConfig& c) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& [key, path] : {std::pair{"x_cnn", &c.x_cnn}, {"x_lstm", &c.x_lstm}, {"y", &c.y}, {"train_index", &c.train_index},
                                  {"test_index", &c.test_index}, {"init", &c.init}})
    if (!path->empty()) files.emplace_back(key, *path);
  return files;
}

// Size and FNV-1a hash of a file's bytes: what a checkpoint records of each input, so that a
// resume on changed data is refused.
nlohmann::json file_fingerprint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw cnnlstm::IoError("cannot read '" + path + "': " + std::strerror(errno));
  std::uint64_t hash = 0xCBF29CE484222325ull, size = 0;
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    for (std::streamsize i = 0; i < in.gcount(); ++i) hash = (hash ^ static_cast<unsigned char>(buffer[i])) * 0x100000001B3ull;
    size += static_cast<std::uint64_t>(in.gcount());
  }
  return {{"size", size}, {"fnv1a", hash}};
}

nlohmann::json input_fingerprints(const cnnlstm::TrainConfig& c) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [key, path] : input_files(c)) j[key] = file_fingerprint(path);
  return j;
}

// A checkpoint resumes only the run it was made by: the same configuration (epochs may grow;
// paths compare as files, not spellings) and the same bytes in every input file.
void require_same_run(const std::string& checkpoint, const cnnlstm::TrainConfig& c) {
  const auto meta = cnnlstm::SafetensorsFile::open(checkpoint).metadata();
  if (!meta.count("config") || !meta.count("inputs"))
    throw cnnlstm::FormatError(checkpoint + ": the checkpoint records no configuration or inputs to resume with");
  const auto saved = nlohmann::json::parse(meta.at("config"));
  const auto now = cnnlstm::to_json(c);
  std::string differ;
  for (const auto& [key, value] : now.items()) {
    if (key == "epochs" || (saved.contains(key) && saved.at(key) == value)) continue;
    const bool paths = value.is_string() && saved.contains(key) && saved.at(key).is_string();
    if (paths && (same_file(value.get<std::string>(), saved.at(key).get<std::string>()) ||
                  absolute_spelling(value.get<std::string>()) == absolute_spelling(saved.at(key).get<std::string>())))
      continue;
    differ += (differ.empty() ? "" : ", ") + key + " (was " + (saved.contains(key) ? saved.at(key).dump() : "unset") +
              ", now " + value.dump() + ")";
  }
  if (!differ.empty())
    throw cnnlstm::ConfigError(checkpoint + ": the run was started with another configuration: " + differ +
                               "; resume with the same flags");
  const auto before = nlohmann::json::parse(meta.at("inputs"));
  for (const auto& [key, path] : input_files(c))
    if (!before.contains(key) || before.at(key) != file_fingerprint(path))
      throw cnnlstm::DataError(checkpoint + ": " + path + " (" + key + ") is not the file the run was started on (its size or "
                               "content changed): a resume would continue on other data; start a new run");
}
// Trains member k of a validation-split run (seed + k) with checkpoints.
template <class Model>
Model train_member(Model model, cnnlstm::TrainConfig c, const LoadedData& d, const Rows& fit, const Rows& validation, Index k,
                   Index members, const RunOptions& e, std::vector<cnnlstm::EvaluationRecord>& history) {
  const std::string checkpoint = checkpoint_file(c.out, k, members);
  c.rand_seed += static_cast<std::uint64_t>(k);
  start_model(model, c);
  cnnlstm::Trainer<Model> trainer(model, c.trainer_options());
  if (e.data_parallel > 0) trainer.share_gradients = gradients_on_ranks<typename Model::Scalar>(e.data_parallel);
  if (e.resume && std::filesystem::exists(checkpoint)) {
    require_same_run(checkpoint, c);
    trainer.restore(cnnlstm::load_checkpoint(checkpoint, model));
  }
  ProgressReport progress(e.quiet || !job_root());
  trainer.on_epoch = [&](const cnnlstm::EpochProgress& p) { progress(p); };
  const std::string inputs = input_fingerprints(c).dump();
  trainer.on_evaluation = [&](const cnnlstm::EvaluationRecord&) {
    if (job_root())  // rank 0 writes
      cnnlstm::save_checkpoint(checkpoint, model, trainer.state(), {{"config", cnnlstm::to_json(c).dump()}, {"inputs", inputs}});
  };
  if (members > 1 && !e.quiet && job_root()) std::cerr << "member " << k + 1 << " of " << members << "\n";
  try {
    if (trainer.fit({cnnlstm::inputs_for<Model>(d.data), *d.data.y}, fit, validation).stopped_early) progress.finish();
  } catch (const cnnlstm::NumericalError&) {
    progress.finish();
    if (job_root()) write_text_file(c.out + "/history.csv", history_csv(trainer.history()));
    throw;  // a run that failed writes no model
  }
  history = trainer.history();
  return model;
}

// Each member's predictions at the rows, (rows, outputs) in target units.
template <class Model>
std::vector<cnnlstm::Matrix<double>> member_predictions(std::vector<Model>& members, const cnnlstm::SoilData<float>& data,
                                                        const Rows& rows) {
  std::vector<cnnlstm::Matrix<double>> out;
  for (auto& m : members) out.push_back(cnnlstm::predict_rows(m, cnnlstm::inputs_for<Model>(data), rows));
  return out;
}

std::vector<double> observed_at(const cnnlstm::SoilData<float>& data, const Rows& rows, Index output) {
  std::vector<double> y;
  for (auto r : rows) y.push_back((*data.y)(r, output));
  return y;
}

// The members' values of one site and output.
std::vector<double> site_values(const std::vector<cnnlstm::Matrix<double>>& members, Index i, Index output) {
  std::vector<double> v;
  for (const auto& m : members) v.push_back(m(i, output));
  return v;
}

// The ensemble's mean of one output at every row (cut at the calibration's lower limit).
std::vector<double> ensemble_means(const std::vector<cnnlstm::Matrix<double>>& members, Index output,
                                   const std::optional<cnnlstm::ConformalCalibration>& calibration) {
  std::vector<double> means;
  for (Index i = 0; i < members[0].rows(); ++i)
    means.push_back(cnnlstm::prediction_bands(site_values(members, i, output), calibration).mean);
  return means;
}

std::optional<cnnlstm::ConformalCalibration> calibration_of(const std::vector<cnnlstm::ConformalCalibration>& c, Index k) {
  if (c.empty()) return std::nullopt;
  return c[static_cast<std::size_t>(k)];
}

// Metrics of the ensemble's mean per output and, with a calibration, the interval's coverage and
// mean width: one object for one output, a list for several.
nlohmann::json ensemble_metrics(const std::vector<cnnlstm::Matrix<double>>& members, const cnnlstm::SoilData<float>& data,
                                const Rows& rows, const std::vector<cnnlstm::ConformalCalibration>& calibrations) {
  nlohmann::json list = nlohmann::json::array();
  for (Index k = 0; k < data.y->dimension(1); ++k) {
    const auto calibration = calibration_of(calibrations, k);
    std::vector<cnnlstm::PredictionBands> bands;
    std::vector<double> means;
    double width = 0;
    for (Index i = 0; i < static_cast<Index>(rows.size()); ++i) {
      bands.push_back(cnnlstm::prediction_bands(site_values(members, i, k), calibration));
      means.push_back(bands.back().mean);
      width += bands.back().q95 - bands.back().q05;
    }
    const auto observed = observed_at(data, rows, k);
    nlohmann::json j = cnnlstm::to_json(cnnlstm::compute_metrics(observed, means));
    if (calibration) {
      j["picp_90"] = cnnlstm::interval_coverage(bands, observed);
      j["mean_interval_width"] = width / static_cast<double>(rows.size());
    }
    list.push_back(j);
  }
  return list.size() == 1 ? list[0] : list;
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

// The training sites' input ranges and area of applicability (cnnlstm/soilmap/training_domain.hpp),
// for the model file; each site's cross-validation fold, or none for leave-one-out.
template <class Model>
cnnlstm::TrainingDomain training_domain(std::vector<Model>& members, const cnnlstm::TrainConfig& c, const LoadedData& d,
                                        const Rows& fit, std::vector<std::int64_t> fold_of_site,
                                        const std::optional<cnnlstm::InputNames>& names) {
  if (fold_of_site.empty())
    for (std::size_t i = 0; i < fit.size(); ++i) fold_of_site.push_back(static_cast<std::int64_t>(i));
  auto domain = cnnlstm::fit_training_domain(std::span<Model>(members), d.data, fit, std::move(fold_of_site), c.rand_seed);
  domain.names = names;
  return domain;
}

// What every run writes: the model file (one network, or an ensemble in one file, with the
// training domain), metrics.json and the observed-against-predicted chart; history and learning
// curves are the caller's. sets: the training rows first.
template <class Model>
void write_result(std::vector<Model>& members, const std::vector<cnnlstm::ConformalCalibration>& calibrations,
                  nlohmann::json metrics, const cnnlstm::TrainConfig& c, const LoadedData& d,
                  const std::vector<std::pair<std::string, Rows>>& sets, const cnnlstm::TrainingDomain& domain) {
  std::vector<ObservedPredicted> chart;
  for (const auto& [name, rows] : sets) {
    if (rows.empty()) continue;
    const auto predicted = member_predictions(members, d.data, rows);
    metrics[name] = ensemble_metrics(predicted, d.data, rows, calibrations);
    chart.push_back({name, observed_at(d.data, rows, 0), ensemble_means(predicted, 0, calibration_of(calibrations, 0))});
  }
  if (!calibrations.empty()) {
    metrics["conformal"] = nlohmann::json::array();
    for (const auto& cal : calibrations) metrics["conformal"].push_back(cnnlstm::to_json(cal));
  }
  if (domain.aoa)
    metrics["area_of_applicability"] = {{"threshold", domain.aoa->threshold()}, {"sites", domain.aoa->sites()}};
  std::map<std::string, std::string> meta{
      {"training", nlohmann::json{{"config", cnnlstm::to_json(c)}, {"data", data_description(d.data)}, {"metrics", metrics}}.dump()}};
  meta.merge(cnnlstm::training_domain_metadata(domain));
  const std::string model_file = c.out + "/model.safetensors";
  if (members.size() == 1 && calibrations.empty()) cnnlstm::save_model(model_file, members[0], meta);
  else cnnlstm::save_ensemble(model_file, members, calibrations, meta);
  remove_stale_files(c.out, c.uses_recipe() ? 0 : c.ensemble);
  write_text_file(c.out + "/metrics.json", metrics.dump(2) + "\n");
  write_text_file(c.out + "/observed_vs_predicted.svg", observed_predicted_svg(chart));
  std::cout << metrics.dump(2) << "\n";
}

// The default: internal cross-validation, members refit on all training rows, cross-conformal
// interval (cnnlstm::Recipe). Under mpirun the folds and the members are shared among the ranks
// (mpi_tasks.hpp); rank 0 writes the outputs.
template <class Model>
int train_by_recipe(const Model& blank, const cnnlstm::TrainConfig& c, const LoadedData& d, const RunOptions& e) {
  const Split split = split_rows(c, d.data.rows);
  cnnlstm::Recipe<Model> recipe(c.recipe_options(lower_limit_of(e, d.data, split)));
  recipe.run_tasks = tasks_on_ranks(cnnlstm::run_tasks_here);
  const std::string on_ranks = job_size() == 1 ? "" : " (rank 0's share of " + std::to_string(job_size()) + " ranks)";
  recipe.on_progress = [&](const cnnlstm::RecipeProgress& p) {
    if (!e.quiet && job_root())
      std::cerr << "soc train: " << p.stage << " " << p.done << " of " << p.total << " trained" << on_ranks << "\n";
  };
  if (!e.quiet && job_root())
    std::cerr << "soc train: choosing the epochs by " << c.cv_folds << "-fold cross-validation over " << split.fit.size()
              << " training rows, then " << c.ensemble << " networks on all of them\n";
  auto result = recipe.fit(blank, {cnnlstm::inputs_for<Model>(d.data), *d.data.y}, split.fit);
  if (!job_root()) return 0;
  nlohmann::json metrics{{"variant", d.spec.variant_name()},
                         {"members", c.ensemble},
                         {"recipe", {{"cv_folds", c.cv_folds}, {"epochs", result.epochs}}},
                         {"rows", {{"train", split.fit.size()}, {"test", split.test.size()}}}};
  metrics["cv"] = ensemble_metrics({result.out_of_fold}, d.data, split.fit, result.calibration);
  std::ostringstream history;
  history.precision(8);
  history << "epoch,cv_score\n";
  cnnlstm::PlotSeries curve{"cross-validated RMSE / SD", {}, {}};
  for (const auto& p : result.cv_curve) {
    history << p.epoch << ',' << p.score << '\n';
    curve.x.push_back(static_cast<double>(p.epoch));
    curve.y.push_back(p.score);
  }
  const auto domain = training_domain(result.members, c, d, split.fit, result.fold_of_site, e.names);
  write_result(result.members, result.calibration, metrics, c, d, {{"train", split.fit}, {"test", split.test}}, domain);
  write_text_file(c.out + "/history.csv", history.str());
  write_text_file(c.out + "/learning_curves.svg",
                  cnnlstm::line_chart_svg({"Cross-validation curve", "epoch", "out-of-fold RMSE / target SD"}, {curve}));
  return 0;
}

// --cv-folds 0 or a warm start: networks selected on a validation split, checkpointed; several
// members are calibrated on the validation rows (split conformal).
template <class Model>
int train_with_validation(const Model& blank, const cnnlstm::TrainConfig& c, const LoadedData& d, const RunOptions& e) {
  const Split split = split_rows(c, d.data.rows);
  const std::optional<double> lower_limit = lower_limit_of(e, d.data, split);
  if (e.resume && !std::filesystem::exists(checkpoint_file(c.out, 0, c.ensemble)))
    throw UsageError("train: --resume: there is no " + checkpoint_file(c.out, 0, c.ensemble) + " to resume from");
  std::vector<Model> members;
  std::vector<std::vector<cnnlstm::EvaluationRecord>> histories(static_cast<std::size_t>(c.ensemble));
  for (Index k = 0; k < c.ensemble; ++k)
    members.push_back(train_member(blank, c, d, member_rows(split.fit, k, e, c.rand_seed), split.validation, k, c.ensemble, e,
                                   histories[static_cast<std::size_t>(k)]));
  if (!job_root()) return 0;  // data parallel: rank 0 writes
  std::vector<cnnlstm::ConformalCalibration> calibrations;
  if (c.ensemble > 1 && !split.validation.empty()) {
    const auto predicted = member_predictions(members, d.data, split.validation);
    for (Index k = 0; k < d.data.y->dimension(1); ++k) {
      std::vector<std::vector<double>> sites;
      for (Index i = 0; i < static_cast<Index>(split.validation.size()); ++i) sites.push_back(site_values(predicted, i, k));
      calibrations.push_back(
          cnnlstm::calibrate_conformal(sites, observed_at(d.data, split.validation, k), 0.1, lower_limit));
    }
  } else if (c.ensemble > 1) {
    std::cerr << "soc: note: without validation rows the interval is the members' own spread, not calibrated\n";
  }
  nlohmann::json metrics{{"variant", d.spec.variant_name()},
                         {"members", c.ensemble},
                         {"rows", {{"train", split.fit.size()}, {"validation", split.validation.size()}, {"test", split.test.size()}}}};
  if (c.ensemble == 1) {
    const auto& h = histories[0];
    metrics["epochs_done"] = h.empty() ? 0 : h.back().epoch;
  }
  write_result(members, calibrations, metrics, c, d, {{"train", split.fit}, {"validation", split.validation}, {"test", split.test}},
               training_domain(members, c, d, split.fit, {}, e.names));
  write_text_file(c.out + "/history.csv", all_histories_csv(histories));
  write_text_file(c.out + "/learning_curves.svg", learning_curves_svg(histories[0]));
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
  RunOptions e{cl.has("bootstrap"), cl.has("resume"), cl.has("quiet"), lower_limit_flag(cl),
               cl.integer("data-parallel", 1, 4096).value_or(0), std::nullopt};
  if (e.data_parallel > 0 && c.uses_recipe())
    throw UsageError("train: --data-parallel trains networks selected on a validation split: add --cv-folds 0 (the "
                     "recipe shares its folds and members among the ranks instead)");
  if (c.uses_recipe() && (e.bootstrap || e.resume))
    throw UsageError(std::string("train: --") + (e.bootstrap ? "bootstrap" : "resume") +
                     " applies to networks selected on a validation split: add --cv-folds 0 (the default recipe "
                     "takes seconds, rerun it instead of resuming)");
  if (e.bootstrap && c.ensemble == 1) throw UsageError("train: --bootstrap needs --ensemble K with K > 1");
  if (!e.lower_limit.automatic && !c.uses_recipe() && c.ensemble == 1)
    throw UsageError("train: --lower-limit applies to ensembles: a single network (--cv-folds 0 --ensemble 1) has no interval");
  if (job_size() > 1 && !c.uses_recipe() && e.data_parallel == 0)
    throw UsageError("train: under mpirun the default recipe's folds and members are shared among the ranks, or with "
                     "--data-parallel PARTS every batch; --cv-folds 0 and --init without it train in one process: run "
                     "them without mpirun");
  if (job_root()) {  // rank 0 writes every output
    output_folder(c.out);
    std::vector<OutputPath> outputs;
    for (const char* name : {"model.safetensors", "metrics.json", "history.csv", "learning_curves.svg", "observed_vs_predicted.svg"})
      outputs.push_back({c.out + "/" + name, "--out"});
    check_outputs(outputs, {c.x_cnn, c.x_lstm, c.y, c.train_index, c.test_index, c.init, cl.text("config"), cl.text("names")});
  }
  const LoadedData d = load_training_data(c);
  if (job_size() > 1) require_same_on_all_ranks(cnnlstm::to_json(c).dump() + input_fingerprints(c).dump(), "data files or flags");
  e.names = input_names(cl, c, d);
  if (d.spec.cnn && d.spec.cnn->patch % 2 == 0)
    throw cnnlstm::ShapeError(c.x_cnn + ": its patches are " + std::to_string(d.spec.cnn->patch) + "x" +
                              std::to_string(d.spec.cnn->patch) + "; soc map centres the window on each pixel, which needs an "
                              "odd size (3, 5, 7, ...): cut the patches with a centre pixel");
  const auto model = cnnlstm::build_model<float>(d.spec);
  return std::visit(
      [&](const auto& m) { return c.uses_recipe() ? train_by_recipe(m, c, d, e) : train_with_validation(m, c, d, e); }, model);
}

}  // namespace soc
