// soc map: applies one or more models to every pixel of covariate rasters and writes a GeoTIFF
// map (built only with GDAL; see raster_map.hpp and docs/mapping.md).

#include "common_flags.hpp"
#include "commands.hpp"
#include "command_line.hpp"
#include "domain_checks.hpp"
#include "mpi_job.hpp"
#include "raster_map.hpp"

#include <omp.h>

#include <cstdio>
#include <iostream>

namespace soc {

int run_map(const Arguments& args) {
  CommandLine cl("map",
                 "Predicts every pixel of covariate rasters and writes a tiled, compressed Float32 GeoTIFF with the\n"
                 "inputs' size, geotransform and projection, nodata -9999. One model: band 1 its prediction.\n"
                 "Several models (an ensemble): band 1 their mean, bands 2-4 Q0.05, Q0.5, Q0.95 (the calibrated 90%\n"
                 "interval when the members come from soc train --ensemble, else the members' own quantiles).\n"
                 "A pixel is nodata when its window crosses the edge (--edge nodata) or touches nodata in any band.",
                 {{"model", "FILE", "model (.safetensors from soc train, or a PyTorch export)", true},
                  flags::static_covariates,
                  flags::series,
                  {"out", "FILE", "the map (.tif), written to a temporary name and renamed when complete"},
                  flags::edge,
                  {"block", "N", "pixels per side of a block and of the map's tiles: a multiple of 16 in [16, 4096] (default 256)"},
                  {"output", "K", "which output of a model with several outputs to map, from 0 (default 0)"},
                  flags::threads,
                  {"quicklook", "FILE", "also write a PNG picture of band 1 with a colour bar"},
                  {"legend", "TEXT", "title of the quick-look (default \"SOC (g/kg)\")"},
                  {"aoa", "", "add the bands DI (dissimilarity index) and AOA (1 inside the models' area of applicability, 0 outside)"},
                  flags::allow_out_of_range,
                  flags::quiet});
  if (!cl.parse(spread_values(args, {"--series", "--static"}))) return 0;
  MapOptions o;
  o.models = cl.all("model");
  if (o.models.empty()) throw UsageError("map: --model is required (see soc map --help)");
  o.statics = cl.all("static");
  o.series = cl.all("series");
  o.out = cl.required("out");
  o.edge = cnnlstm::edge_mode_from_string(cl.text("edge", "nodata"));
  o.block = cl.integer("block", 16, max_block).value_or(256);
  o.output = cl.integer("output", 0, 1'000'000).value_or(0);
  o.quicklook = cl.text("quicklook");
  o.legend = cl.text("legend", o.legend);
  o.progress = !cl.has("quiet");
  o.aoa = cl.has("aoa");
  o.allow_out_of_range = cl.has("allow-out-of-range");
  if (auto t = cl.integer("threads", 0, 4096); t && *t > 0) omp_set_num_threads(static_cast<int>(*t));
  const MapSummary s = make_map(o);
  if (!job_root()) return 0;  // rank 0 reports for the whole job
  const std::string ranks = s.ranks == 1 ? "" : " on " + std::to_string(s.ranks) + " ranks";
  std::fprintf(stderr, "soc map: %ld of %ld pixels predicted (%ld nodata) in %.2f s: %.0f pixels/s with %d thread%s%s -> %s\n",
               long(s.predicted), long(s.pixels), long(s.pixels - s.predicted), s.seconds,
               s.seconds > 0 ? double(s.pixels) / s.seconds : 0.0, s.threads, s.threads == 1 ? "" : "s", ranks.c_str(),
               o.out.c_str());
  std::fprintf(stderr, "soc map: reading %.2f s and predicting %.2f s (summed over threads), writing %.2f s\n",
               s.read_seconds, s.predict_seconds, s.write_seconds);
  if (!o.quicklook.empty()) std::fprintf(stderr, "soc map: quick-look -> %s\n", o.quicklook.c_str());
  if (s.predicted == 0)
    std::fprintf(stderr,
                 "soc map: WARNING: every pixel of %s is nodata: no window lay wholly inside the rasters' valid pixels "
                 "(check the inputs' nodata values and NaNs, the raster size against the model's window, and --edge; "
                 "docs/mapping.md, section 6)\n",
                 o.out.c_str());
  return 0;
}

}  // namespace soc
