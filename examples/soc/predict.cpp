// soc predict: applies a model to covariate arrays and writes predictions as .npy or .csv.
// soc evaluate: metrics of a model on given data (and rows).

#include "commands.hpp"
#include "workflow.hpp"

#include <cnnlstm/io/npy.hpp>

namespace soc {
namespace {

// The model with the arrays it reads, checked against each other.
struct ModelAndData {
  cnnlstm::LoadedModel<float> loaded;
  cnnlstm::SoilData<float> data;
};

ModelAndData load_model_and_data(const CommandLine& cl, const std::string& y, cnnlstm::NodataPolicy policy) {
  const std::string model_path = cl.required("model");
  const std::string x_cnn = cl.text("x-cnn"), x_lstm = cl.text("x-lstm");
  // The patch size of x_cnn, without loading it twice, lets a PyTorch export be checked.
  std::optional<Index> patch;
  if (!x_cnn.empty()) {
    std::ifstream in(x_cnn, std::ios::binary);
    if (!in) throw cnnlstm::IoError("cannot read '" + x_cnn + "': " + std::strerror(errno));
    const auto shape = cnnlstm::read_npy_header(in, x_cnn).shape;
    if (shape.size() == 4) patch = shape[2];  // other ranks are reported when the array loads
  }
  ModelAndData m{cnnlstm::load_model<float>(model_path, patch), {}};
  const auto& spec = m.loaded.spec;
  if (spec.cnn && x_cnn.empty()) throw UsageError("the " + spec.variant_name() + " model reads static covariate patches: give --x-cnn");
  if (spec.lstm && x_lstm.empty()) throw UsageError("the " + spec.variant_name() + " model reads yearly series: give --x-lstm");
  m.data = cnnlstm::load_soil_data<float>({spec.cnn ? x_cnn : "", spec.lstm ? x_lstm : "", y}, policy);
  cnnlstm::fit_data_to_spec(m.data, spec, x_lstm);
  return m;
}

std::string predictions_csv(const cnnlstm::Matrix<double>& p) {
  std::ostringstream csv;
  csv.precision(9);
  csv << "row";
  for (Index k = 0; k < p.cols(); ++k) csv << ",prediction" << (p.cols() > 1 ? "_" + std::to_string(k) : "");
  csv << '\n';
  for (Index i = 0; i < p.rows(); ++i) {
    csv << i;
    for (Index k = 0; k < p.cols(); ++k) csv << ',' << p(i, k);
    csv << '\n';
  }
  return csv.str();
}

void write_predictions(const std::string& path, cnnlstm::Matrix<double> p) {
  if (path.size() >= 4 && path.substr(path.size() - 4) == ".csv") {
    write_text_file(path, predictions_csv(p));
    return;
  }
  if (path.size() < 4 || path.substr(path.size() - 4) != ".npy")
    throw UsageError("--out must end in .npy or .csv, got '" + path + "'");
  std::vector<float> values(p.data(), p.data() + p.size());
  std::vector<Index> shape{p.rows()};
  if (p.cols() > 1) shape.push_back(p.cols());
  cnnlstm::save_npy(path, values.data(), shape);
}

}  // namespace

int run_predict(const Arguments& args) {
  CommandLine cl("predict", "Applies a model to covariate arrays; writes one prediction per row (target units).",
                 {{"model", "FILE", "model (.safetensors from soc train, or a PyTorch state_dict export)"},
                  {"x-cnn", "FILE", "static covariate patches (N, C, P, P) .npy"},
                  {"x-lstm", "FILE", "yearly series (N, T, F) .npy"},
                  {"nodata", "MODE", "rows with NaN/inf covariates: 'error' (default) or 'propagate' (predict NaN)"},
                  {"threads", "N", "OpenMP threads (0: default)"},
                  {"out", "FILE", "predictions, .npy (float32) or .csv"}});
  if (!cl.parse(args)) return 0;
  const std::string out = cl.required("out");
  const std::string mode = cl.text("nodata", "error");
  if (mode != "error" && mode != "propagate") throw UsageError("--nodata must be 'error' or 'propagate', got '" + mode + "'");
  if (auto t = cl.integer("threads", 0, 4096); t && *t > 0) omp_set_num_threads(static_cast<int>(*t));
  auto m = load_model_and_data(cl, "", mode == "propagate" ? cnnlstm::NodataPolicy::propagate : cnnlstm::NodataPolicy::reject);
  Rows usable, missing;
  for (Index r = 0; r < m.data.rows; ++r) (m.data.nodata[static_cast<std::size_t>(r)] ? missing : usable).push_back(r);
  cnnlstm::Matrix<double> predictions = std::visit(
      [&](auto& model) {
        using Model = std::decay_t<decltype(model)>;
        cnnlstm::Matrix<double> all(m.data.rows, model.outputs());
        all.setConstant(std::numeric_limits<double>::quiet_NaN());
        const auto p = cnnlstm::predict_rows(model, cnnlstm::inputs_for<Model>(m.data), usable);
        for (std::size_t i = 0; i < usable.size(); ++i) all.row(usable[i]) = p.row(static_cast<Index>(i));
        return all;
      },
      m.loaded.model);
  write_predictions(out, predictions);
  std::cerr << "soc predict: " << usable.size() << " rows predicted" << (missing.empty() ? "" : ", " + std::to_string(missing.size()) + " nodata rows written as NaN")
            << " -> " << out << "\n";
  return 0;
}

int run_evaluate(const Arguments& args) {
  CommandLine cl("evaluate", "Metrics of a model on given data: RMSE, MAE, ME, R2, CCC, RPIQ (printed as JSON).",
                 {{"model", "FILE", "model (.safetensors)"},
                  {"x-cnn", "FILE", "static covariate patches (N, C, P, P) .npy"},
                  {"x-lstm", "FILE", "yearly series (N, T, F) .npy"},
                  {"y", "FILE", "observed targets (N) or (N, K) .npy"},
                  {"index", "FILE", "rows to evaluate (default: all)"},
                  {"out", "FILE", "also write the metrics to this JSON file"}});
  if (!cl.parse(args)) return 0;
  auto m = load_model_and_data(cl, cl.required("y"), cnnlstm::NodataPolicy::reject);
  const Rows rows = cl.has("index") ? cnnlstm::load_index_file(cl.text("index"), m.data.rows) : cnnlstm::all_rows(m.data.rows);
  const auto metrics = std::visit([&](auto& model) { return evaluate_rows(model, m.data, rows); }, m.loaded.model);
  const nlohmann::json j{{"variant", m.loaded.spec.variant_name()}, {"rows", rows.size()}, {"metrics", metrics_json(metrics)}};
  if (cl.has("out")) write_text_file(cl.text("out"), j.dump(2) + "\n");
  std::cout << j.dump(2) << "\n";
  return 0;
}

}  // namespace soc
