// libFuzzer harness for the configuration parser: the input parsed as JSON (a syntax error is the
// caller's to report, so such inputs are skipped), then apply_train_config, model_spec_from_json
// and target_scaling_from_json on it. A configuration that is accepted must also be accepted, and
// read back the same, from its own JSON form. Every cnnlstm::Error is an expected rejection;
// anything else is a finding.

#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "cnnlstm/core/errors.hpp"
#include "cnnlstm/io/model_file.hpp"
#include "cnnlstm/model/model_spec.hpp"
#include "cnnlstm/train/train_config.hpp"
#include "fuzz_support.hpp"

namespace {

void train_config(const nlohmann::json& j) {
  cnnlstm::TrainConfig config;
  try {
    cnnlstm::apply_train_config(j, "fuzz.json", config);
  } catch (const cnnlstm::Error&) {
    return;
  }
  const nlohmann::json printed = cnnlstm::to_json(config);
  cnnlstm::TrainConfig back;
  try {
    cnnlstm::apply_train_config(printed, "printed", back);
  } catch (const cnnlstm::Error& e) {
    cnnlstm_fuzz::invariant_broken(std::string("an accepted configuration's JSON is refused: ") +
                                   e.what());
  }
  if (cnnlstm::to_json(back) != printed)
    cnnlstm_fuzz::invariant_broken("an accepted configuration reads back differently");
}

void model_spec(const nlohmann::json& j) {
  cnnlstm::ModelSpec spec;
  try {
    spec = cnnlstm::model_spec_from_json(j, "fuzz.json", "model");
  } catch (const cnnlstm::Error&) {
    return;
  }
  const nlohmann::json printed = cnnlstm::to_json(spec);
  try {
    if (cnnlstm::model_spec_from_json(printed, "printed") != spec)
      cnnlstm_fuzz::invariant_broken("an accepted model spec reads back differently");
  } catch (const cnnlstm::Error& e) {
    cnnlstm_fuzz::invariant_broken(std::string("an accepted model spec's JSON is refused: ") +
                                   e.what());
  }
}

void target_scaling(const nlohmann::json& j) {
  try {
    (void)cnnlstm::target_scaling_from_json(j, "fuzz.json");
  } catch (const cnnlstm::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  train_config(j);
  model_spec(j);
  target_scaling(j);
  return 0;
}
