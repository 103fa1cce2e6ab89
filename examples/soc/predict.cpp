// soc predict: applies a model to covariate arrays and writes predictions as .npy or .csv.
// soc evaluate: metrics of a model on given data (and rows).

#include "common_flags.hpp"
#include "commands.hpp"
#include "domain_checks.hpp"
#include "output_guard.hpp"
#include "training_record.hpp"
#include "workflow.hpp"

#include <cnnlstm/soilmap/ensemble.hpp>
#include <cnnlstm/io/npy.hpp>

namespace soc {
namespace {

// The models (one, or an ensemble of one architecture) with the arrays they read.
struct ModelsAndData {
  cnnlstm::Ensemble<float> ensemble;
  cnnlstm::SoilData<float> data;
  cnnlstm::TrainingDomain domain;  // what the (first) model file records of its training sites
};

ModelsAndData load_models_and_data(const CommandLine& cl, const std::string& y, cnnlstm::NodataPolicy policy) {
  const auto model_paths = cl.all("model");
  if (model_paths.empty()) throw UsageError("--model FILE is required");
  const std::string x_cnn = cl.text("x-cnn"), x_lstm = cl.text("x-lstm");
  // The patch size of x_cnn, without loading it twice, lets a PyTorch export be checked.
  std::optional<Index> patch;
  if (!x_cnn.empty()) {
    std::ifstream in(x_cnn, std::ios::binary);
    if (!in) throw cnnlstm::IoError("cannot read '" + x_cnn + "': " + std::strerror(errno));
    const auto shape = cnnlstm::read_npy_header(in, x_cnn).shape;
    if (shape.size() == 4) patch = shape[2];  // other ranks are reported when the array loads
  }
  ModelsAndData m{cnnlstm::load_ensemble<float>(model_paths, patch), {}, {}};
  for (const auto& note : m.ensemble.notes) std::cerr << "soc: note: " << note << "\n";
  const auto& spec = m.ensemble.spec;
  if (spec.cnn && x_cnn.empty()) throw UsageError("the " + spec.variant_name() + " model reads static covariate patches: give --x-cnn");
  if (spec.lstm && x_lstm.empty()) throw UsageError("the " + spec.variant_name() + " model reads yearly series: give --x-lstm");
  m.data = cnnlstm::load_soil_data<float>({spec.cnn ? x_cnn : "", spec.lstm ? x_lstm : "", y}, policy);
  if (m.data.x_lstm) check_trained_years(m.ensemble.members, model_paths, m.data.x_lstm->dimension(1), x_lstm);
  cnnlstm::fit_data_to_spec(m.data, spec, x_lstm);
  m.domain = cnnlstm::stored_training_domain(m.ensemble.metadata, model_paths.front());
  return m;
}

// Refuses (or with --allow-out-of-range warns of) inputs outside the training ranges.
void check_input_ranges(const ModelsAndData& m, const Rows& rows, const CommandLine& cl, const std::string& command) {
  if (!m.domain.ranges) return;
  cnnlstm::InputRangeCheck check(*m.domain.ranges);
  const auto& c = m.data.x_cnn;
  const auto& s = m.data.x_lstm;
  if (c && check.channels() != c->dimension(1)) return;  // another layout than at training: the model's checks report it
  if (s && check.features() != s->dimension(2)) return;
  for (const auto r : rows) {
    const Index patch = c ? c->dimension(2) : 0, years = s ? s->dimension(1) : 0;
    check.add_sites(c ? c->data() + r * c->size() / c->dimension(0) : nullptr, patch,
                    s ? s->data() + r * s->size() / s->dimension(0) : nullptr, years, 1);
  }
  const cnnlstm::InputNames names = m.domain.names.value_or(cnnlstm::InputNames{});
  const bool all_features = s && static_cast<Index>(names.features.size()) == s->dimension(2);
  enforce_input_ranges(check, cl.has("allow-out-of-range"), command, names.channels,
                       all_features ? names.features : std::vector<std::string>{});
}

// The DI of every row (NaN for rows not given) and whether it lies inside the area of applicability.
std::pair<std::vector<double>, std::vector<double>> applicability_of(const ModelsAndData& m, const Rows& rows,
                                                                     const std::string& path) {
  const auto aoa = required_aoa(m.domain, path, "predict");
  const auto predictors = cnnlstm::applicability_predictors(m.data);
  const Index d = aoa.dimensions();
  if (static_cast<Index>(predictors.size()) != d * m.data.rows)
    throw cnnlstm::ShapeError(path + ": its area of applicability has " + std::to_string(d) +
                              " predictors, the inputs give " + std::to_string(predictors.size() / std::max<Index>(m.data.rows, 1)));
  std::vector<double> di(static_cast<std::size_t>(m.data.rows), std::numeric_limits<double>::quiet_NaN()), inside(di);
  for (const auto r : rows) {
    di[static_cast<std::size_t>(r)] = aoa.dissimilarity(predictors.data() + r * d);
    inside[static_cast<std::size_t>(r)] = aoa.inside(di[static_cast<std::size_t>(r)]) ? 1.0 : 0.0;
  }
  return {di, inside};
}

// Every file the command reads, for check_outputs.
std::vector<std::string> input_files(const CommandLine& cl) {
  std::vector<std::string> files = cl.all("model");
  for (const char* flag : {"x-cnn", "x-lstm", "y", "index"}) files.push_back(cl.text(flag));
  return files;
}

// Predictions of every member at the rows: one (rows, outputs) matrix per member.
std::vector<cnnlstm::Matrix<double>> predict_members(ModelsAndData& m, const Rows& rows) {
  std::vector<cnnlstm::Matrix<double>> out;
  for (auto& member : m.ensemble.members)
    out.push_back(std::visit(
        [&](auto& model) {
          using Model = std::decay_t<decltype(model)>;
          return cnnlstm::predict_rows(model, cnnlstm::inputs_for<Model>(m.data), rows);
        },
        member.model));
  return out;
}

// Bands (mean, q05, q50, q95 per output) for several members or a calibrated ensemble file.
bool with_bands(const cnnlstm::Ensemble<float>& e) { return e.members.size() > 1 || !e.calibrations.empty(); }

// One uncalibrated model: its predictions (rows, outputs). Else per output the columns mean, q05, q50, q95.
cnnlstm::Matrix<double> combine_members(const std::vector<cnnlstm::Matrix<double>>& members,
                                        const cnnlstm::Ensemble<float>& ensemble) {
  if (!with_bands(ensemble)) return members[0];
  const Index rows = members[0].rows(), outputs = members[0].cols();
  cnnlstm::Matrix<double> out(rows, 4 * outputs);
  std::vector<double> values(members.size());
  for (Index i = 0; i < rows; ++i)
    for (Index k = 0; k < outputs; ++k) {
      for (std::size_t j = 0; j < members.size(); ++j) values[j] = members[j](i, k);
      const auto b = cnnlstm::prediction_bands(values, ensemble.calibration(k));
      out.block(i, 4 * k, 1, 4) << b.mean, b.q05, b.q50, b.q95;
    }
  return out;
}

std::vector<std::string> column_names(Index columns, bool bands) {
  const std::vector<std::string> band_names{"mean", "q05", "q50", "q95"};
  const Index outputs = bands ? columns / 4 : columns;
  std::vector<std::string> names;
  for (Index k = 0; k < outputs; ++k) {
    const std::string suffix = outputs > 1 ? std::string("_").append(std::to_string(k)) : std::string();
    if (bands)
      for (const auto& b : band_names) names.push_back(b + suffix);
    else
      names.push_back("prediction" + suffix);
  }
  return names;
}

std::string predictions_csv(const cnnlstm::Matrix<double>& p, const std::vector<std::string>& names) {
  std::ostringstream csv;
  csv.precision(9);
  csv << "row";
  for (const auto& name : names) csv << ',' << name;
  csv << '\n';
  for (Index i = 0; i < p.rows(); ++i) {
    csv << i;
    for (Index k = 0; k < p.cols(); ++k) csv << ',' << p(i, k);
    csv << '\n';
  }
  return csv.str();
}

// .csv with a header row, or .npy (float32): (N) for one column, (N, columns) otherwise.
void write_predictions(const std::string& path, const cnnlstm::Matrix<double>& p, const std::vector<std::string>& names) {
  if (path.ends_with(".csv")) {
    write_text_file(path, predictions_csv(p, names));
    return;
  }
  std::vector<float> values(p.data(), p.data() + p.size());
  std::vector<Index> shape{p.rows()};
  if (p.cols() > 1) shape.push_back(p.cols());
  cnnlstm::save_npy(path, values.data(), shape);
}

}  // namespace

int run_predict(const Arguments& args) {
  CommandLine cl("predict",
                 "Applies a model to covariate arrays; writes one prediction per row (target units). With several\n"
                 "--model files (an ensemble) writes mean, q05, q50 and q95 per row: the 90% interval, calibrated\n"
                 "when the members come from soc train --ensemble.",
                 {{"model", "FILE", "model (.safetensors from soc train, or a PyTorch state_dict export)", true},
                  flags::x_cnn,
                  flags::x_lstm,
                  {"nodata", "MODE", "rows with NaN/inf covariates: 'error' (default) or 'propagate' (predict NaN)"},
                  flags::threads,
                  {"aoa", "", "add the columns DI (dissimilarity index) and AOA (1 inside the area of applicability, 0 outside)"},
                  flags::allow_out_of_range,
                  {"out", "FILE", "predictions, .npy (float32) or .csv"}});
  if (!cl.parse(args)) return 0;
  const std::string out = cl.required("out");
  const std::string mode = cl.text("nodata", "error");
  if (mode != "error" && mode != "propagate") throw UsageError("predict: --nodata must be 'error' or 'propagate', got '" + mode + "'");
  if (!out.ends_with(".npy") && !out.ends_with(".csv")) throw UsageError("predict: --out must end in .npy or .csv, got '" + out + "'");
  check_outputs({{out, "--out"}}, input_files(cl));
  if (auto t = cl.integer("threads", 0, 4096); t && *t > 0) omp_set_num_threads(static_cast<int>(*t));
  auto m = load_models_and_data(cl, "", mode == "propagate" ? cnnlstm::NodataPolicy::propagate : cnnlstm::NodataPolicy::reject);
  Rows usable, missing;
  for (Index r = 0; r < m.data.rows; ++r) (m.data.nodata[static_cast<std::size_t>(r)] ? missing : usable).push_back(r);
  check_input_ranges(m, usable, cl, "predict");
  const auto combined = combine_members(predict_members(m, usable), m.ensemble);
  const Index extra = cl.has("aoa") ? 2 : 0;
  cnnlstm::Matrix<double> all(m.data.rows, combined.cols() + extra);
  all.setConstant(std::numeric_limits<double>::quiet_NaN());
  for (std::size_t i = 0; i < usable.size(); ++i) all.row(usable[i]).head(combined.cols()) = combined.row(static_cast<Index>(i));
  auto names = column_names(combined.cols(), with_bands(m.ensemble));
  if (extra) {
    const auto [di, inside] = applicability_of(m, usable, cl.all("model").front());
    for (Index r = 0; r < m.data.rows; ++r) {
      all(r, combined.cols()) = di[static_cast<std::size_t>(r)];
      all(r, combined.cols() + 1) = inside[static_cast<std::size_t>(r)];
    }
    names.insert(names.end(), {"DI", "AOA"});
  }
  write_predictions(out, all, names);
  std::cerr << "soc predict: " << usable.size() << " rows predicted"
            << (missing.empty() ? "" : ", " + std::to_string(missing.size()) + " nodata rows written as NaN") << " -> " << out << "\n";
  return 0;
}

int run_evaluate(const Arguments& args) {
  CommandLine cl("evaluate", "Metrics of a model on given data: RMSE, MAE, ME, R2, CCC, RPIQ (printed as JSON).",
                 {{"model", "FILE", "model (.safetensors); several: the ensemble's mean and interval coverage", true},
                  flags::x_cnn,
                  flags::x_lstm,
                  {"y", "FILE", "observed targets (N) or (N, K) .npy"},
                  {"index", "FILE", "rows to evaluate (default: all)"},
                  flags::allow_out_of_range,
                  {"out", "FILE", "also write the metrics to this JSON file"}});
  if (!cl.parse(args)) return 0;
  if (cl.has("out")) check_outputs({{cl.text("out"), "--out"}}, input_files(cl));
  auto m = load_models_and_data(cl, cl.required("y"), cnnlstm::NodataPolicy::reject);
  const Rows rows = cl.has("index") ? cnnlstm::load_index_file(cl.text("index"), m.data.rows) : cnnlstm::all_rows(m.data.rows);
  check_input_ranges(m, rows, cl, "evaluate");
  const auto members = predict_members(m, rows);
  const auto combined = combine_members(members, m.ensemble);
  const Index stride = with_bands(m.ensemble) ? 4 : 1;  // the mean is the first column of each output's bands
  std::vector<cnnlstm::Metrics> metrics;
  nlohmann::json coverage = nlohmann::json::array();
  for (Index k = 0; k < m.data.y->dimension(1); ++k) {
    std::vector<double> observed, predicted;
    std::vector<cnnlstm::PredictionBands> bands;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto r = static_cast<Index>(i);
      observed.push_back((*m.data.y)(rows[i], k));
      predicted.push_back(combined(r, stride * k));
      if (stride == 4) bands.push_back({combined(r, 4 * k), combined(r, 4 * k + 1), combined(r, 4 * k + 2), combined(r, 4 * k + 3)});
    }
    metrics.push_back(cnnlstm::compute_metrics(observed, predicted));
    if (stride == 4) coverage.push_back(cnnlstm::interval_coverage(bands, observed));
  }
  nlohmann::json j{{"variant", m.ensemble.spec.variant_name()}, {"models", m.ensemble.members.size()}, {"rows", rows.size()},
                   {"metrics", metrics_json(metrics)}};
  if (stride == 4) j["picp_90"] = coverage.size() == 1 ? coverage[0] : coverage;
  if (cl.has("out")) write_text_file(cl.text("out"), j.dump(2) + "\n");
  std::cout << j.dump(2) << "\n";
  return 0;
}

}  // namespace soc
