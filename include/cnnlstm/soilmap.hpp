#pragma once
// Umbrella header: training (train.hpp) and the soil-mapping room (soilmap/): ensembles in one file,
// permutation importance, model inputs from raster windows, the simulated region, the training
// domain (input ranges, area of applicability).

#include "soilmap/applicability.hpp"
#include "soilmap/ensemble.hpp"
#include "soilmap/importance.hpp"
#include "soilmap/input_ranges.hpp"
#include "soilmap/nearest_neighbour.hpp"
#include "soilmap/raster_window.hpp"
#include "soilmap/simulate.hpp"
#include "soilmap/training_domain.hpp"
#include "train.hpp"
