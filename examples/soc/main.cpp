// soc: train, evaluate and apply CNN-LSTM soil organic carbon models from the command line.
//   soc simulate | extract | train | predict | evaluate | cv | importance | export | demo | map   (each with --help)
// Exit codes: 0 success, 1 training diverged or another runtime failure, 2 bad usage or
// configuration, 3 bad data or file content, 4 a file could not be read or written.

#include <cnnlstm/core/errors.hpp>
#include <cnnlstm/io/temporary_files.hpp>

#include <cstdio>
#include <iostream>
#include <map>
#include <new>

#include "command_line.hpp"
#include "commands.hpp"
#include "mpi_job.hpp"

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
  if (soc::job_size() > 1 && command != "map" && command != "train" && command != "cv")
    throw soc::UsageError("soc " + command + " runs in one process; of the commands only map, train and cv share their "
                          "work among the ranks of mpirun or srun: run it without them");
  return it->second(args);
}

// The error's message, and its exit code for this process; with several ranks the message names
// the rank and the whole job ends (soc::abort_job), so that no rank waits for one that failed.
int fail(int code, const std::string& message) {
  if (soc::job_size() == 1) {
    std::cerr << "soc: " << message << "\n";
    return code;
  }
  // One write: the launcher forwards each rank's output in pieces, and may print its own between them.
  const std::string line = "soc (rank " + std::to_string(soc::job_rank()) + " of " + std::to_string(soc::job_size()) +
                           "): " + message + "\n";
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
  soc::abort_job(code);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    print_usage();
    return argc < 2 ? 2 : 0;
  }
  soc::JobSession job(argc, argv);  // MPI's init and finalize when mpirun or srun started soc
  const soc::Arguments args(argv + 2, argv + argc);
  cnnlstm::install_temporary_cleanup();  // Ctrl-C, kill or a closed terminal leaves no temporary file
  try {
    return dispatch(argv[1], args);
  } catch (const cnnlstm::ConfigError& e) {
    return fail(2, e.what());
  } catch (const cnnlstm::IoError& e) {
    return fail(4, e.what());
  } catch (const cnnlstm::NumericalError& e) {
    return fail(1, e.what());
  } catch (const cnnlstm::Error& e) {  // ShapeError, FormatError, DataError
    return fail(3, e.what());
  } catch (const std::bad_alloc&) {
    return fail(1, "out of memory");
  } catch (const std::exception& e) {
    return fail(1, std::string("internal error: ") + e.what());
  }
}
