// soc: train, evaluate and apply CNN-LSTM soil organic carbon models from the command line.
//   soc simulate | extract | train | predict | evaluate | cv | importance | export | demo | map   (each with --help)
// Exit codes: 0 success, 1 training diverged or another runtime failure, 2 bad usage or
// configuration, 3 bad data or file content, 4 a file could not be read or written.

#include <cnnlstm/core/errors.hpp>
#include <cnnlstm/io/temporary_files.hpp>

#include <iostream>
#include <map>
#include <new>

#include "command_line.hpp"
#include "commands.hpp"

namespace {

void print_usage() {
  std::cout << "usage: soc COMMAND [flags]\n\n"
               "Soil organic carbon mapping with the CNN-LSTM of Zhang et al. (2022).\n\n"
               "commands:\n"
               "  simulate   write a simulated soil-mapping data set (covariates, SOC, splits)\n"
               "  extract    cut the sites of a sample table from covariate rasters into arrays (needs GDAL)\n"
               "  train      train a model and write it with its metrics and learning curves\n"
               "  predict    apply a model to covariate arrays\n"
               "  evaluate   metrics of a model on given data and rows\n"
               "  cv         cross-validation over fixed splits, k random folds or spatial blocks\n"
               "  importance permutation importance of each channel, series feature and year\n"
               "  export     write one member of an ensemble as a single model (PyTorch state_dict names)\n"
               "  demo       the whole job on a simulated region: extract, train, map with the interval (needs GDAL;\n"
               "             without it: train on simulated arrays)\n"
               "  map        predict every pixel of covariate rasters into a GeoTIFF map (needs GDAL)\n\n"
               "Run 'soc COMMAND --help' for a command's flags.\n";
}

int dispatch(const std::string& command, const soc::Arguments& args) {
  static const std::map<std::string, int (*)(const soc::Arguments&)> commands{
      {"simulate", soc::run_simulate}, {"train", soc::run_train},   {"predict", soc::run_predict},
      {"evaluate", soc::run_evaluate}, {"cv", soc::run_cv},       {"demo", soc::run_demo},
      {"map", soc::run_map},           {"extract", soc::run_extract},
               {"importance", soc::run_importance}, {"export", soc::run_export}};
  const auto it = commands.find(command);
  if (it == commands.end()) {
    std::vector<std::string> names;
    for (const auto& [name, run] : commands) names.push_back(name);
    const std::string hint = cnnlstm::closest_match(command, names);
    throw soc::UsageError("unknown command '" + command + "'" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)") +
                          "; run 'soc --help'");
  }
  return it->second(args);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    print_usage();
    return argc < 2 ? 2 : 0;
  }
  const soc::Arguments args(argv + 2, argv + argc);
  cnnlstm::install_temporary_cleanup();  // Ctrl-C, kill or a closed terminal leaves no temporary file
  try {
    return dispatch(argv[1], args);
  } catch (const cnnlstm::ConfigError& e) {
    std::cerr << "soc: " << e.what() << "\n";
    return 2;
  } catch (const cnnlstm::IoError& e) {
    std::cerr << "soc: " << e.what() << "\n";
    return 4;
  } catch (const cnnlstm::NumericalError& e) {
    std::cerr << "soc: " << e.what() << "\n";
    return 1;
  } catch (const cnnlstm::Error& e) {  // ShapeError, FormatError, DataError
    std::cerr << "soc: " << e.what() << "\n";
    return 3;
  } catch (const std::bad_alloc&) {
    std::cerr << "soc: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "soc: internal error: " << e.what() << "\n";
    return 1;
  }
}
