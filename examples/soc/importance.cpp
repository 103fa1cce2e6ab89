// soc importance: permutation importance of each CNN channel, each series feature and each year
// for a model (or an ensemble file's mean prediction) on given data (soilmap/importance.hpp): DIR/importance.csv, DIR/importance.json and a bar
// chart DIR/importance.svg.

#include "common_flags.hpp"
#include "commands.hpp"
#include "output_guard.hpp"
#include "training_record.hpp"
#include "workflow.hpp"

#include <cnnlstm/soilmap/ensemble.hpp>
#include <cnnlstm/soilmap/importance.hpp>

namespace soc {
namespace {

using Names = std::vector<std::string>;

// `names` must name every one of `count` things; a list of another length would label the bars
// with the wrong covariates.
void require_count(const Names& names, Index count, const std::string& file, const std::string& key, const std::string& what) {
  if (!names.empty() && static_cast<Index>(names.size()) != count)
    throw cnnlstm::ShapeError(file + ": \"" + key + "\" has " + std::to_string(names.size()) + " names, but " + what + " has " +
                              std::to_string(count));
}

// Names from soc simulate's covariates.json when it is given; generic names otherwise. The
// feature names are those of the series file's columns (all 12 for a file that serves an _evi or
// _lsp model too): the model's own columns are picked from them as from the array.
// `series_columns` is the number of columns of the series file (before the model's were picked).
std::pair<Names, Names> covariate_names(const CommandLine& cl, const cnnlstm::SoilData<float>& data, Index series_columns,
                                        const cnnlstm::ModelSpec& spec) {
  if (!cl.has("names")) return {};
  const std::string file = cl.text("names");
  const auto j = read_json_file(file);
  Names channels, features;
  try {
    channels = j.value("x_cnn_channels", Names{});
    features = j.value("x_lstm_features", Names{});
  } catch (const nlohmann::json::exception& e) {
    throw cnnlstm::ConfigError(file + ": expected lists \"x_cnn_channels\" and \"x_lstm_features\": " + e.what());
  }
  if (!spec.cnn) channels.clear();
  else require_count(channels, data.x_cnn->dimension(1), file, "x_cnn_channels", cl.text("x-cnn") + " (channels)");
  if (!spec.lstm) return {channels, {}};
  const Index have = series_columns, wanted = spec.lstm->input_size;
  require_count(features, have, file, "x_lstm_features", cl.text("x-lstm") + " (series features)");
  if (features.empty() || have == wanted) return {channels, features};
  const auto first = features.begin() + cnnlstm::first_series_feature(have, wanted);
  return {channels, Names(first, first + wanted)};
}

}  // namespace

int run_importance(const Arguments& args) {
  CommandLine cl("importance", "Permutation importance: the rise in RMSE when one channel, feature or year is shuffled.",
                 {{"model", "FILE", "model (.safetensors)"},
                  flags::x_cnn,
                  flags::x_lstm,
                  {"y", "FILE", "observed targets .npy"},
                  {"index", "FILE", "rows to evaluate on, e.g. the test rows (default: all)"},
                  {"names", "FILE", "JSON with x_cnn_channels and x_lstm_features name lists (soc simulate's covariates.json)"},
                  {"repeats", "N", "shuffles per input (default 5)"},
                  {"seed", "N", "seed of the shuffles (default 314)"},
                  {"out", "DIR", "output folder"}});
  if (!cl.parse(args)) return 0;
  const std::string model_path = cl.required("model"), x_cnn = cl.text("x-cnn"), x_lstm = cl.text("x-lstm");
  const std::string dir = output_folder(cl.required("out"));
  check_outputs({{dir + "/importance.csv", "--out"}, {dir + "/importance.json", "--out"}, {dir + "/importance.svg", "--out"}},
                {model_path, x_cnn, x_lstm, cl.text("y"), cl.text("index"), cl.text("names")});
  auto ensemble = cnnlstm::load_ensemble<float>({model_path});  // one model, or every member of an ensemble file
  const cnnlstm::LoadedModel<float>& loaded = ensemble.members.front();
  auto data = cnnlstm::load_soil_data<float>({loaded.spec.cnn ? x_cnn : "", loaded.spec.lstm ? x_lstm : "", cl.required("y")});
  if (data.x_lstm) check_trained_years(ensemble.members, {model_path}, data.x_lstm->dimension(1), x_lstm);
  const Index series_columns = data.x_lstm ? data.x_lstm->dimension(2) : 0;
  cnnlstm::fit_data_to_spec(data, loaded.spec, x_lstm);
  const auto [channels, features] = covariate_names(cl, data, series_columns, loaded.spec);
  if (cl.has("index")) data = cnnlstm::select_rows(data, cnnlstm::load_index_file(cl.text("index"), data.rows));
  const Index repeats = cl.integer("repeats", 1, 10'000).value_or(5);
  const auto seed = static_cast<std::uint64_t>(cl.integer("seed", 0, std::numeric_limits<long long>::max()).value_or(314));
  const auto importance = std::visit(
      [&](const auto& first) {
        using Model = std::decay_t<decltype(first)>;
        std::vector<Model> members;
        for (const auto& m : ensemble.members) members.push_back(std::get<Model>(m.model));
        return cnnlstm::permutation_importance(std::span<Model>(members), data, repeats, seed, channels, features);
      },
      loaded.model);
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
