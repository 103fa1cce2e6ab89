// soc cv: cross-validation. Repeats training over fixed splits (the paper's five train/test index
// pairs, --split TRAIN.npy:TEST.npy, repeatable) or k random folds (--folds K) and reports each
// fold's test metrics and their mean and standard deviation. Inside each fold the default recipe
// runs on that fold's training rows only (its own internal cross-validation; with --cv-folds 0 a
// validation share of them selects the model), never on its test rows. --spatial-blocks
// keeps near neighbours on one side of every split (train/folds.hpp). Under mpirun the folds are
// shared among the ranks (mpi_tasks.hpp), their metrics gathered, and rank 0 writes cv.json.

#include "commands.hpp"
#include "mpi_job.hpp"
#include "mpi_tasks.hpp"
#include "output_guard.hpp"
#include "workflow.hpp"

#include <cnnlstm/train/folds.hpp>
#include <cnnlstm/train/recipe.hpp>

#include <cmath>
#include <cstring>
#include <type_traits>

namespace soc {
namespace {

std::vector<cnnlstm::Fold> fixed_splits(const CommandLine& cl, Index rows) {
  std::vector<cnnlstm::Fold> folds;
  for (const std::string& pair : cl.all("split")) {
    const auto colon = pair.find(':');
    if (colon == std::string::npos) throw UsageError("cv: --split takes TRAIN.npy:TEST.npy, got '" + pair + "'");
    cnnlstm::Fold f{"split " + std::to_string(folds.size() + 1), cnnlstm::load_index_file(pair.substr(0, colon), rows),
                    cnnlstm::load_index_file(pair.substr(colon + 1), rows)};
    cnnlstm::require_disjoint(f.train, pair.substr(0, colon), f.test, pair.substr(colon + 1));
    folds.push_back(std::move(f));
  }
  return folds;
}

// The folds the flags ask for: fixed splits, k random folds, or k spatial-block folds.
std::vector<cnnlstm::Fold> make_folds(const CommandLine& cl, Index rows, std::uint64_t seed) {
  const int ways = cl.has("split") + (cl.has("folds") && !cl.has("spatial-blocks")) + cl.has("spatial-blocks");
  if (ways != 1)
    throw UsageError("cv: give one of --split (repeatable), --folds K, or --spatial-blocks SIZE with --folds K and --coordinates");
  if (cl.has("split")) return fixed_splits(cl, rows);
  const Index k = *cl.integer("folds", 2, 1'000'000);
  if (!cl.has("spatial-blocks")) return cnnlstm::random_folds(k, rows, seed);
  const std::string path = cl.required("coordinates");
  const auto coordinates = cnnlstm::load_npy_tensor<double, 2>(path);
  if (coordinates.dimension(0) != rows)
    throw cnnlstm::ShapeError(path + ": has " + std::to_string(coordinates.dimension(0)) + " rows, the data " + std::to_string(rows));
  return cnnlstm::spatial_block_folds(coordinates, *cl.number("spatial-blocks", 0, 1e12, true), k, seed);
}

// The default recipe inside the fold's training rows; the members' mean (cut at 0 when no
// training target is negative, as soc train does) on its test rows.
template <class Model>
std::vector<cnnlstm::Metrics> run_recipe_fold(const Model& blank, const cnnlstm::TrainConfig& c, const LoadedData& d,
                                              const cnnlstm::Fold& fold) {
  const cnnlstm::TensorRef<float, 2> y(*d.data.y);
  double lowest = HUGE_VAL;
  for (auto r : fold.train)
    for (Index k = 0; k < y.dimension(1); ++k) lowest = std::min(lowest, static_cast<double>(y(r, k)));
  const std::optional<double> floor = lowest >= 0 ? std::optional<double>(0.0) : std::nullopt;
  auto result = cnnlstm::train_recipe(blank, {cnnlstm::inputs_for<Model>(d.data), y}, fold.train, c.recipe_options(floor));
  cnnlstm::Matrix<double> mean = cnnlstm::Matrix<double>::Zero(static_cast<Index>(fold.test.size()), blank.outputs());
  for (auto& m : result.members) mean += cnnlstm::predict_rows(m, cnnlstm::inputs_for<Model>(d.data), fold.test);
  mean /= static_cast<double>(result.members.size());
  if (floor) mean = mean.cwiseMax(*floor);
  return cnnlstm::metrics_per_output(mean, y, fold.test);
}

template <class Model>
std::vector<cnnlstm::Metrics> run_fold(Model& model, const cnnlstm::TrainConfig& c, const LoadedData& d, const cnnlstm::Fold& fold,
                                       bool quiet) {
  if (c.uses_recipe()) return run_recipe_fold(model, c, d, fold);
  start_model(model, c);
  const auto [fit, validation] = cnnlstm::split_validation(fold.train, c.val_fraction, c.rand_seed);
  cnnlstm::Trainer<Model> trainer(model, c.trainer_options());
  ProgressReport progress(quiet);
  trainer.on_epoch = [&](const cnnlstm::EpochProgress& p) { progress(p); };
  if (trainer.fit({cnnlstm::inputs_for<Model>(d.data), *d.data.y}, fit, validation).stopped_early) progress.finish();
  return evaluate_rows(model, d.data, fold.test);
}

// Mean and sample standard deviation of one metric over the folds.
nlohmann::json summarise(const std::vector<std::vector<cnnlstm::Metrics>>& per_fold, double cnnlstm::Metrics::*metric) {
  double sum = 0, sum_sq = 0;
  for (const auto& m : per_fold) sum += m[0].*metric;
  const double n = static_cast<double>(per_fold.size()), mean = sum / n;
  for (const auto& m : per_fold) sum_sq += (m[0].*metric - mean) * (m[0].*metric - mean);
  return {{"mean", mean}, {"sd", per_fold.size() > 1 ? std::sqrt(sum_sq / (n - 1)) : 0.0}};
}

// A fold's metrics as bytes and back, to travel between ranks.
std::string bytes_of(const std::vector<cnnlstm::Metrics>& metrics) {
  static_assert(std::is_trivially_copyable_v<cnnlstm::Metrics>);
  return std::string(reinterpret_cast<const char*>(metrics.data()), metrics.size() * sizeof(cnnlstm::Metrics));
}

std::vector<cnnlstm::Metrics> metrics_of(const std::string& bytes) {
  std::vector<cnnlstm::Metrics> metrics(bytes.size() / sizeof(cnnlstm::Metrics));
  std::memcpy(metrics.data(), bytes.data(), metrics.size() * sizeof(cnnlstm::Metrics));
  return metrics;
}

}  // namespace

int run_cv(const Arguments& args) {
  auto flags = config_flags();
  flags.insert(flags.end(), {{"split", "TRAIN:TEST", "a fixed split as two index files", true},
                             {"folds", "K", "k random folds over all rows (instead of --split)"},
                             {"spatial-blocks", "SIZE", "with --folds: deal square blocks of SIZE map units to the folds"},
                             {"coordinates", "FILE", "site coordinates (N, 2) .npy, x and y in map units"},
                             {"out", "DIR", "output folder for cv.json"}});
  CommandLine cl("cv", "Cross-validation: trains one model per split or fold and reports test metrics, mean +- SD.", flags);
  if (!cl.parse(args)) return 0;
  const cnnlstm::TrainConfig c = effective_config(cl);
  const std::string dir = job_root() ? output_folder(cl.required("out")) : cl.required("out");
  if (job_root())  // rank 0 writes cv.json
    check_outputs({{dir + "/cv.json", "--out"}},
                  {c.x_cnn, c.x_lstm, c.y, c.init, cl.text("config"), cl.text("coordinates")});
  const LoadedData d = load_training_data(c);
  const auto folds = make_folds(cl, d.data.rows, c.rand_seed);
  if (job_size() > 1) {
    std::string seen = cnnlstm::to_json(c).dump();
    for (const auto& f : folds)
      seen.append(reinterpret_cast<const char*>(f.train.data()), f.train.size() * sizeof f.train[0])
          .append(reinterpret_cast<const char*>(f.test.data()), f.test.size() * sizeof f.test[0]);
    require_same_on_all_ranks(seen, "data files, folds or flags");
  }
  const bool quiet = cl.has("quiet") || !job_root();
  const auto say = [](const cnnlstm::Fold& fold, const std::vector<cnnlstm::Metrics>& m) {
    std::cerr << fold.name << ": test RMSE " << m[0].rmse << ", R2 " << m[0].r2 << "\n";
  };
  const auto fold_results = tasks_on_ranks(run_tasks_in_turn)(static_cast<Index>(folds.size()), [&](Index f) {
    const cnnlstm::Fold& fold = folds[static_cast<std::size_t>(f)];
    auto model = cnnlstm::build_model<float>(d.spec);
    const auto metrics = std::visit([&](auto& m) { return run_fold(m, c, d, fold, quiet); }, model);
    if (job_size() == 1) say(fold, metrics);  // alone, as each fold ends; else once gathered
    return bytes_of(metrics);
  });
  if (!job_root()) return 0;
  std::vector<std::vector<cnnlstm::Metrics>> results;
  nlohmann::json report{{"variant", d.spec.variant_name()}, {"folds", nlohmann::json::array()}};
  for (std::size_t f = 0; f < folds.size(); ++f) {
    const cnnlstm::Fold& fold = folds[f];
    results.push_back(metrics_of(fold_results[f]));
    report["folds"].push_back({{"name", fold.name}, {"train_rows", fold.train.size()}, {"test_rows", fold.test.size()},
                               {"test", metrics_json(results.back())}});
    if (job_size() > 1) say(fold, results.back());
  }
  for (const auto& [name, member] : {std::pair{"rmse", &cnnlstm::Metrics::rmse}, {"mae", &cnnlstm::Metrics::mae},
                                     {"me", &cnnlstm::Metrics::me}, {"r2", &cnnlstm::Metrics::r2},
                                     {"ccc", &cnnlstm::Metrics::ccc}, {"rpiq", &cnnlstm::Metrics::rpiq}})
    report["summary"][name] = summarise(results, member);
  write_text_file(dir + "/cv.json", report.dump(2) + "\n");
  std::cout << report["summary"].dump(2) << "\n";
  return 0;
}

}  // namespace soc
