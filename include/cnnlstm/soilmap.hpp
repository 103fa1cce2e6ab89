#pragma once
// Umbrella header: training (train.hpp) and the soil-mapping room (soilmap/): ensembles in one file,
// permutation importance, model inputs from raster windows, the simulated region.

#include "soilmap/ensemble.hpp"
#include "soilmap/importance.hpp"
#include "soilmap/raster_window.hpp"
#include "soilmap/simulate.hpp"
#include "train.hpp"
