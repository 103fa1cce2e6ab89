// soc export: writes one member of an ensemble file (or a single model) as a single-model file:
// its tensors under PyTorch's state_dict names, so that
//   model.load_state_dict(safetensors.torch.load_file("member.safetensors"))
// loads it into the paper's PyTorch module. The target and input scalings stay in the file's
// metadata ("target_scaling", "input_scaling"): a PyTorch user standardises the inputs with them
// and maps the output back (prediction = output * scale + mean), as soc predict does.

#include "commands.hpp"
#include "output_guard.hpp"

#include <cnnlstm/soilmap/ensemble.hpp>

namespace soc {

using cnnlstm::Index;

int run_export(const Arguments& args) {
  CommandLine cl("export", "Writes one member of an ensemble as a single model with PyTorch's state_dict names.",
                 {{"model", "FILE", "model or ensemble file (.safetensors)"},
                  {"member", "K", "which member, from 1 (default 1)"},
                  {"out", "FILE", "the single-model file to write (.safetensors)"}});
  if (!cl.parse(args)) return 0;
  const std::string in = cl.required("model"), out = cl.required("out");
  check_outputs({{out, "--out"}}, {in});
  const auto ensemble = cnnlstm::load_ensemble<float>({in});
  const auto size = static_cast<Index>(ensemble.members.size());
  const Index k = cl.integer("member", 1, 1'000'000).value_or(1);
  if (k > size)
    throw UsageError("export: --member " + std::to_string(k) + ": " + in + " holds " + std::to_string(size) + " member" +
                     (size == 1 ? "" : "s"));
  const auto& member = ensemble.members[static_cast<std::size_t>(k - 1)];
  std::map<std::string, std::string> meta;
  if (ensemble.metadata.count("training")) meta["training"] = ensemble.metadata.at("training");
  meta["exported_from"] = nlohmann::json{{"file", in}, {"member", k}, {"members", size}}.dump();
  cnnlstm::save_model(out, member.model, meta);
  std::cerr << "soc export: member " << k << " of " << size << " written to " << out << "\n";
  return 0;
}

}  // namespace soc
