#pragma once
// What soc predict and soc map do with the training domain a model file carries
// (cnnlstm/soilmap/training_domain.hpp): refuse inputs outside the training ranges, unless the
// user allows it, and find the area of applicability when --aoa asks for it.

#include <cnnlstm/soilmap/training_domain.hpp>

#include "command_line.hpp"

#include <iostream>
#include <string>

namespace soc {

inline const Flag allow_out_of_range_flag{
    "allow-out-of-range", "", "go on when inputs lie mostly outside the training ranges (wrong units?), only warning"};

// Throws a DataError listing the check's problems, or (allowed) prints them as warnings.
inline void enforce_input_ranges(const cnnlstm::InputRangeCheck& check, bool allowed, const std::string& command,
                                 const std::vector<std::string>& channel_names = {},
                                 const std::vector<std::string>& feature_names = {}) {
  const auto problems = check.problems(channel_names, feature_names);
  if (problems.empty()) return;
  std::string text;
  for (const auto& p : problems) text += "\n  " + p;
  if (allowed) {
    std::cerr << "soc " << command << ": WARNING: inputs outside the model's training ranges:" << text << "\n";
    return;
  }
  throw cnnlstm::DataError(command + ": the inputs do not look like the ones the model was trained on:" + text +
                           "\n(check the covariates' units, scale factors and nodata values; --allow-out-of-range to go on)");
}

// The area of applicability the model file stores, or a UsageError saying why there is none.
inline cnnlstm::AreaOfApplicability required_aoa(const cnnlstm::TrainingDomain& domain, const std::string& path,
                                                 const std::string& command) {
  if (!domain.aoa)
    throw UsageError(command + ": --aoa: " + path + " holds no area of applicability (a PyTorch export, or a model "
                     "trained by an older soc): train it again with soc train");
  return *domain.aoa;
}

}  // namespace soc
