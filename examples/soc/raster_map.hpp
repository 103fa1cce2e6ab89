#pragma once
// soc map's work: one or more models applied to every pixel of covariate rasters, written as a
// GeoTIFF map (see docs/mapping.md for the rules and the format).
//
//   static stack or files (C bands) --+   block by block, with a halo of P/2    +--> map.tif
//   series files (F, Y bands each) --> windows (soilmap/raster_window.hpp) --> models --> bands
//
// Memory is bounded by the block size: one block of every input band, one of every output band,
// and each thread's batch of windows, whatever the raster's size.

#include <cnnlstm/soilmap/raster_window.hpp>

#include "map_bands.hpp"

#include <string>
#include <vector>

namespace soc {

// The nodata value of every band of the map.
inline constexpr double map_nodata = -9999.0;
// The largest --block (pixels per side); a block's buffers grow with its square.
inline constexpr cnnlstm::Index max_block = 4096;

struct MapOptions {
  std::vector<std::string> models;  // one or more .safetensors files
  std::vector<std::string> statics; // the static covariates: one stack, or several files whose bands
                                    // follow one another, one band per CNN channel (none if no model reads them)
  std::vector<std::string> series;  // one file per series feature, one band per year
  std::string out;                  // the map, a GeoTIFF
  std::string quicklook;            // a PNG to look at ("" for none)
  std::string legend = "SOC (g/kg)";
  cnnlstm::EdgeMode edge = cnnlstm::EdgeMode::nodata;
  cnnlstm::Index block = 256;       // pixels per side of a block
  cnnlstm::Index output = 0;        // which model output to map
  bool progress = true;             // a progress bar (or log lines) on stderr
  bool aoa = false;                 // add the bands DI and AOA (the models' area of applicability)
  bool allow_out_of_range = false;  // inputs outside the training ranges: warn instead of refusing
  Calibration calibration;          // conformal calibration of Q0.05, Q0.95 (map_bands.hpp); if
                                    // unset, the one soc train --ensemble stored in the models
};

struct MapSummary {
  cnnlstm::Index pixels = 0, predicted = 0;  // raster pixels; pixels with a prediction
  double seconds = 0;                        // in all: checking, reading, predicting, writing
  double read_seconds = 0, predict_seconds = 0, write_seconds = 0;
  int threads = 1;                           // map threads, over all ranks
  int ranks = 1;                             // processes of an MPI job (mpirun -n ranks)
  std::vector<std::string> bands;            // the map's band descriptions
};

// Checks the inputs against each other and the models, then writes the map (and the quick-look).
// Under mpirun every rank calls it: the ranks share the blocks, rank 0 writes the map and returns
// the whole job's figures (the others return theirs without seconds).
MapSummary make_map(const MapOptions& options);

}  // namespace soc
