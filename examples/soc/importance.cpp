// soc importance: permutation importance of each CNN channel, each series feature and each year
// for a model on given data (importance.hpp): DIR/importance.csv, DIR/importance.json and a bar
// chart DIR/importance.svg.

#include "commands.hpp"
#include "workflow.hpp"

#include <cnnlstm/importance.hpp>

namespace soc {
namespace {

// Names from soc simulate's covariates.json when it is given; generic names otherwise.
std::pair<std::vector<std::string>, std::vector<std::string>> covariate_names(const CommandLine& cl) {
  if (!cl.has("names")) return {};
  const auto j = read_json_file(cl.text("names"));
  try {
    return {j.value("x_cnn_channels", std::vector<std::string>{}), j.value("x_lstm_features", std::vector<std::string>{})};
  } catch (const nlohmann::json::exception& e) {
    throw cnnlstm::ConfigError(cl.text("names") + ": expected lists \"x_cnn_channels\" and \"x_lstm_features\": " + e.what());
  }
}

}  // namespace

int run_importance(const Arguments& args) {
  CommandLine cl("importance", "Permutation importance: the rise in RMSE when one channel, feature or year is shuffled.",
                 {{"model", "FILE", "model (.safetensors)"},
                  {"x-cnn", "FILE", "static covariate patches (N, C, P, P) .npy"},
                  {"x-lstm", "FILE", "yearly series (N, T, F) .npy"},
                  {"y", "FILE", "observed targets .npy"},
                  {"index", "FILE", "rows to evaluate on, e.g. the test rows (default: all)"},
                  {"names", "FILE", "JSON with x_cnn_channels and x_lstm_features name lists (soc simulate's covariates.json)"},
                  {"repeats", "N", "shuffles per input (default 5)"},
                  {"seed", "N", "seed of the shuffles (default 314)"},
                  {"out", "DIR", "output folder"}});
  if (!cl.parse(args)) return 0;
  const std::string dir = output_folder(cl.required("out"));
  const std::string model_path = cl.required("model"), x_cnn = cl.text("x-cnn"), x_lstm = cl.text("x-lstm");
  auto loaded = cnnlstm::load_model<float>(model_path);
  auto data = cnnlstm::load_soil_data<float>({loaded.spec.cnn ? x_cnn : "", loaded.spec.lstm ? x_lstm : "", cl.required("y")});
  cnnlstm::fit_data_to_spec(data, loaded.spec, x_lstm);
  if (cl.has("index")) data = cnnlstm::select_rows(data, cnnlstm::load_index_file(cl.text("index"), data.rows));
  const auto [channels, features] = covariate_names(cl);
  const Index repeats = cl.integer("repeats", 1, 10'000).value_or(5);
  const auto seed = static_cast<std::uint64_t>(cl.integer("seed", 0, std::numeric_limits<long long>::max()).value_or(314));
  const auto importance = std::visit(
      [&](auto& model) { return cnnlstm::permutation_importance(model, data, repeats, seed, channels, features); }, loaded.model);
  std::ostringstream csv;
  csv << "group,index,name,rmse_increase\n";
  nlohmann::json j = nlohmann::json::array();
  std::vector<std::string> labels;
  std::vector<double> values;
  for (const auto& i : importance) {
    csv << i.group << ',' << i.index << ',' << i.name << ',' << i.rmse_increase << '\n';
    j.push_back({{"group", i.group}, {"index", i.index}, {"name", i.name}, {"rmse_increase", i.rmse_increase}});
    labels.push_back(i.group + ": " + i.name);
    values.push_back(i.rmse_increase);
  }
  write_text_file(dir + "/importance.csv", csv.str());
  write_text_file(dir + "/importance.json", j.dump(2) + "\n");
  const int height = 120 + 18 * static_cast<int>(labels.size());
  write_text_file(dir + "/importance.svg",
                  cnnlstm::bar_chart_svg({"Permutation importance", "RMSE increase (target units)", "", 760, height}, labels, values));
  std::cout << csv.str();
  return 0;
}

}  // namespace soc
