#pragma once
// The flags several soc commands share, each with its one help line (command_line.hpp), so that
// the same flag reads the same in every command's --help.

#include "command_line.hpp"

#include <string>

namespace soc::flags {

inline const Flag x_cnn{"x-cnn", "FILE", "static covariate patches (N, C, P, P) .npy"};
inline const Flag x_lstm{"x-lstm", "FILE", "yearly series (N, T, F) .npy, EVI first"};
inline const Flag threads{"threads", "N", "OpenMP threads (0: default)"};
inline const Flag quiet{"quiet", "", "no progress output"};
inline const Flag static_covariates{
    "static", "FILE...", "static covariates: one stack, or one file per channel, in channel order (as at extraction)", true};
inline const Flag series{"series", "FILE...", "one file per series feature (EVI first), one band per year", true};
inline const Flag edge{"edge", "MODE", "windows crossing the raster's edge: 'nodata' (default: their pixel or site gets none) or 'reflect' (mirrored)"};
inline const Flag allow_out_of_range{
    "allow-out-of-range", "", "go on when inputs lie mostly outside the training ranges (wrong units?), only warning"};

// --force of a command that writes a folder of its own files.
inline Flag force(const std::string& command, const std::string& where = "DIR") {
  return {"force", "", "replace files in " + where + " that soc " + command + " did not write (by default refused)"};
}

}  // namespace soc::flags
