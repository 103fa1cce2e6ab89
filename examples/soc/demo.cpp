// soc demo: the whole job on simulated data in one go. With GDAL, the real path of a soil mapper:
//   soc simulate --rasters   the region as GeoTIFFs (one file per static covariate, UTM) and its
//                            sample table in lon/lat (DIR/rasters), plus the arrays (DIR/data)
//   soc extract              the sites' covariates cut from the rasters (DIR/sites)
//   soc train                the paper's CNN-LSTM with the default recipe: an ensemble with a
//                            calibrated 90% interval, test metrics (DIR/model)
//   soc map                  the map with its interval and AOA bands and a quick-look PNG (DIR/map)
// Without GDAL: simulate, then train on the simulated arrays (no rasters, no map), saying why.
// Like soc simulate it replaces only files it wrote itself (OwnedFolder), unless --force.

#include "common_flags.hpp"
#include "commands.hpp"
#include "output_guard.hpp"
#include "workflow.hpp"

namespace soc {
namespace {

struct DemoOptions {
  std::string dir, n, seed, threads;  // threads "" for the default
  bool force = false;
};

Arguments with_common(Arguments args, const DemoOptions& d, bool threads) {
  if (threads && !d.threads.empty()) args.insert(args.end(), {"--threads", d.threads});
  if (d.force) args.push_back("--force");
  return args;
}

// soc train into DIR/model, recording what it wrote there (also when it fails: its checkpoint).
int train_step(Arguments train, const DemoOptions& d, const OwnedFolder& model) {
  train.insert(train.end(), {"--seed", d.seed, "--out", model.folder()});
  if (!d.threads.empty()) train.insert(train.end(), {"--threads", d.threads});
  std::cerr << "soc demo: training CNN-LSTM_evi_lsp; model, metrics and plots go to " << model.folder() << "\n";
  try {
    const int code = run_train(train);
    model.wrote_all();
    return code;
  } catch (...) {
    model.wrote_all();
    throw;
  }
}

#ifndef SOC_WITH_GDAL
int arrays_only(const DemoOptions& d, const OwnedFolder& model) {
  const std::string data = d.dir + "/data";
  if (int code = run_simulate(with_common({"--n", d.n, "--seed", d.seed, "--out", data}, d, false)); code != 0) return code;
  return train_step({"--x-cnn", data + "/x_cnn.npy", "--x-lstm", data + "/x_lstm.npy", "--y", data + "/y.npy",
                     "--train-index", data + "/train_index.npy", "--test-index", data + "/test_index.npy"},
                    d, model);
}
#else
// The rasters soc simulate --rasters writes, in channel and feature order.
std::vector<std::string> simulated_files(const std::string& rasters, const std::string& prefix) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(rasters)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(prefix) && name.ends_with(".tif")) files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The map step: the trained ensemble over the simulated rasters, with its interval bands and its
// area of applicability.
int map_step(const DemoOptions& d, const std::string& model, const std::vector<std::string>& statics,
             const std::vector<std::string>& series) {
  const OwnedFolder out(output_folder(d.dir) + "/map", "demo", {"soc_map.tif", "soc_map.png"}, d.force);
  Arguments map{"--model", model, "--out", out.path("soc_map.tif"), "--quicklook", out.path("soc_map.png"), "--aoa", "--quiet",
                "--static"};
  map.insert(map.end(), statics.begin(), statics.end());
  map.push_back("--series");
  map.insert(map.end(), series.begin(), series.end());
  if (int code = run_map(with_common(map, d, true)); code != 0) return code;
  out.wrote("soc_map.tif");
  out.wrote("soc_map.png");
  std::cerr << "soc demo: map (bands mean, Q0.05, Q0.5, Q0.95: the 90% interval; DI and AOA: the area of applicability) -> "
            << out.path("soc_map.tif")
            << ", quick-look -> " << out.path("soc_map.png") << "\n";
  return 0;
}

int real_path(const DemoOptions& d, const OwnedFolder& model) {
  const std::string data = d.dir + "/data", rasters = d.dir + "/rasters", sites = d.dir + "/sites";
  Arguments simulate{"--n", d.n, "--seed", d.seed, "--out", data, "--rasters", rasters};
  if (int code = run_simulate(with_common(simulate, d, false)); code != 0) return code;
  const auto statics = simulated_files(rasters, "static_"), series = simulated_files(rasters, "series_");
  Arguments extract{"--samples", rasters + "/samples.csv", "--target", "soc", "--seed", d.seed, "--out", sites, "--static"};
  extract.insert(extract.end(), statics.begin(), statics.end());
  extract.push_back("--series");
  extract.insert(extract.end(), series.begin(), series.end());
  if (int code = run_extract(with_common(extract, d, false)); code != 0) return code;
  const int trained = train_step({"--x-cnn", sites + "/x_cnn.npy", "--x-lstm", sites + "/x_lstm.npy", "--y", sites + "/y.npy",
                                  "--train-index", sites + "/train_index.npy", "--test-index", sites + "/test_index.npy"},
                                 d, model);
  if (trained != 0) return trained;
  return map_step(d, model.path("model.safetensors"), statics, series);
}
#endif

}  // namespace

int run_demo(const Arguments& args) {
  CommandLine cl("demo",
                 "The whole job on a simulated region. With GDAL: a lon/lat sample table and covariate rasters\n"
                 "(DIR/rasters) -> soc extract (DIR/sites) -> soc train, an ensemble with a 90% interval (DIR/model)\n"
                 "-> soc map with the interval and AOA bands and a quick-look PNG (DIR/map). Without GDAL: the simulated\n"
                 "arrays (DIR/data) -> soc train.",
                 {{"out", "DIR", "output folder (default: soc-demo)"},
                  {"n", "N", "number of simulated sites (default 2000)"},
                  {"seed", "N", "seed of the simulation, the split and the training (default 314)"},
                  flags::threads,
                  flags::force("demo")});
  if (!cl.parse(args)) return 0;
  const DemoOptions d{cl.text("out", "soc-demo"), cl.text("n", "2000"), cl.text("seed", "314"), cl.text("threads"), cl.has("force")};
  const OwnedFolder model(output_folder(d.dir) + "/model", "demo", {}, d.force);  // before anything is written
#ifdef SOC_WITH_GDAL
  return real_path(d, model);
#else
  std::cerr << "soc demo: this soc was built without GDAL, so the demo trains on the simulated arrays only (no sample "
               "table, rasters or map); install GDAL (scripts/setup.sh does by default) and rebuild for the whole path\n";
  return arrays_only(d, model);
#endif
}

}  // namespace soc
