#pragma once
// What soc predict and soc map do with the training domain a model file carries
// (cnnlstm/soilmap/training_domain.hpp): refuse inputs outside the training ranges, unless the
// user allows it, and find the area of applicability when --aoa asks for it.

#include <cnnlstm/soilmap/training_domain.hpp>

#include "command_line.hpp"

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

namespace soc {

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

// Refuses inputs given in another order than at training: the names the model records, permuted.
// Other names (new files for the same covariates, say) are only noted; lists of other lengths, or
// unknown names (an empty list), are left to the shape checks.
inline void check_input_order(const std::vector<std::string>& trained, const std::vector<std::string>& given,
                              const std::string& what, const std::string& command) {
  if (trained.empty() || trained.size() != given.size() || trained == given) return;
  std::size_t k = 0;
  while (trained[k] == given[k]) ++k;
  auto sorted_trained = trained, sorted_given = given;
  std::sort(sorted_trained.begin(), sorted_trained.end());
  std::sort(sorted_given.begin(), sorted_given.end());
  if (sorted_trained != sorted_given) {
    std::cerr << "soc " << command << ": note: " << what << " " << k << " is '" << given[k] << "', the model was trained on '"
              << trained[k] << "' (other names than at training; the order is not checked)\n";
    return;
  }
  std::string order;
  for (const auto& name : trained) order += (order.empty() ? "" : ", ") + name;
  throw cnnlstm::DataError(command + ": " + what + " " + std::to_string(k) + " is '" + given[k] + "', but the model was trained on '" +
                           trained[k] + "' there: the same inputs in another order (the training order: " + order + ")");
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
