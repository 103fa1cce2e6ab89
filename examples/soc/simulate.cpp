// soc simulate: writes a simulated soil-mapping data set like the paper's (see soilmap/simulate.hpp for
// the fields and the SOC formula): x_cnn.npy, x_lstm.npy, y.npy, coordinates.npy,
// train_index.npy, test_index.npy, samples.csv and covariates.json (the channel and feature names);
// with --rasters DIR also the region as GeoTIFFs and its sample table in lon/lat
// (simulated_rasters.cpp), the inputs of soc extract.
// It replaces only files it wrote itself (OwnedFolder, output_guard.hpp), unless --force.

#include "common_flags.hpp"
#include "commands.hpp"
#include "output_guard.hpp"
#include "simulated_rasters.hpp"
#include "workflow.hpp"

#include <cnnlstm/io/npy.hpp>
#include <cnnlstm/soilmap/simulate.hpp>

#include <optional>

namespace soc {

int run_simulate(const Arguments& args) {
  CommandLine cl("simulate", "Writes a simulated data set: 10-channel 5x5 covariate patches, 10 years of EVI and\n"
                             "11 phenology metrics, SOC from spatial context and temporal dynamics plus noise.",
                 {{"n", "N", "number of sites (default 2000)"},
                  {"seed", "N", "random seed (default 314)"},
                  {"noise", "SD", "SD of the SOC noise in g/kg (default 2.8)"},
                  {"test-fraction", "X", "share of sites in the test split (default 0.2)"},
                  {"out", "DIR", "output folder"},
                  {"rasters", "DIR", "also write the region as GeoTIFFs and its sample table in lon/lat, DIR/samples.csv (needs GDAL)"},
                  flags::force("simulate", "the folders")});
  if (!cl.parse(args)) return 0;
  cnnlstm::SimulationOptions o;
  o.samples = cl.integer("n", 10, 10'000'000).value_or(o.samples);
  o.seed = static_cast<std::uint64_t>(cl.integer("seed", 0, std::numeric_limits<long long>::max()).value_or(314));
  o.noise_sd = cl.number("noise", 0, 1e3).value_or(o.noise_sd);
  o.test_fraction = cl.number("test-fraction", 0, 1, true, true).value_or(o.test_fraction);
  if (cl.has("rasters")) require_raster_support();
  const OwnedFolder folder(cl.required("out"), "simulate",
                           {"x_cnn.npy", "x_lstm.npy", "y.npy", "coordinates.npy", "train_index.npy", "test_index.npy",
                            "samples.csv", "covariates.json"},
                           cl.has("force"));
  std::optional<OwnedFolder> rasters;
  if (cl.has("rasters")) rasters.emplace(cl.text("rasters"), "simulate", simulated_raster_files(), cl.has("force"));
  const auto d = cnnlstm::simulate_soil_data(o);
  const Index n = o.samples;
  const auto save = [&](const std::string& name, const auto* values, std::vector<Index> shape) {
    cnnlstm::save_npy(folder.path(name), values, shape);
    folder.wrote(name);
  };
  save("x_cnn.npy", d.x_cnn.data(), {n, d.x_cnn.dimension(1), d.x_cnn.dimension(2), d.x_cnn.dimension(3)});
  save("x_lstm.npy", d.x_lstm.data(), {n, d.x_lstm.dimension(1), d.x_lstm.dimension(2)});
  save("y.npy", d.y.data(), {n});
  save("coordinates.npy", d.coordinates.data(), {n, 2});
  save("train_index.npy", d.train_index.data(), {static_cast<Index>(d.train_index.size())});
  save("test_index.npy", d.test_index.data(), {static_cast<Index>(d.test_index.size())});
  std::ostringstream csv;
  csv.precision(10);
  csv << "id,x,y,soc\n";
  for (Index i = 0; i < n; ++i) csv << i << ',' << d.coordinates(i, 0) << ',' << d.coordinates(i, 1) << ',' << d.y(i) << '\n';
  write_text_file(folder.path("samples.csv"), csv.str());
  folder.wrote("samples.csv");
  write_text_file(folder.path("covariates.json"),
                  nlohmann::json{{"x_cnn_channels", d.static_names}, {"x_lstm_features", d.series_names}}.dump(2) + "\n");
  folder.wrote("covariates.json");
  if (rasters) write_simulated_rasters(cnnlstm::simulate_region(o), d, *rasters);
  std::cerr << "soc simulate: " << n << " sites (" << d.train_index.size() << " train, " << d.test_index.size()
            << " test) -> " << folder.folder() << "\n";
  return 0;
}

}  // namespace soc
