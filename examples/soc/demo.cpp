// soc demo: the whole workflow on simulated data in one go: soc simulate, then soc train of the
// paper's CNN-LSTM with the default recipe on the simulated training sites, reporting test metrics.
// Like soc simulate it replaces only files it wrote itself: DIR/data is soc simulate's folder, and
// DIR/model must hold only what an earlier soc demo wrote there (OwnedFolder), unless --force.

#include "commands.hpp"
#include "output_guard.hpp"
#include "workflow.hpp"

namespace soc {

int run_demo(const Arguments& args) {
  CommandLine cl("demo", "Simulates a data set (DIR/data) and trains the paper's CNN-LSTM on it (DIR/model).",
                 {{"out", "DIR", "output folder (default: soc-demo)"},
                  {"n", "N", "number of simulated sites (default 2000)"},
                  {"seed", "N", "seed of the simulation and the training (default 314)"},
                  {"threads", "N", "OpenMP threads (0: default)"},
                  {"force", "", "replace files in DIR that soc demo did not write (by default refused)"}});
  if (!cl.parse(args)) return 0;
  const std::string dir = cl.text("out", "soc-demo"), data = dir + "/data";
  const std::string n = cl.text("n", "2000"), seed = cl.text("seed", "314");
  const bool force = cl.has("force");
  const OwnedFolder model(output_folder(dir) + "/model", "demo", {}, force);  // before simulate writes anything
  Arguments simulate{"--n", n, "--seed", seed, "--out", data};
  if (force) simulate.push_back("--force");
  if (int code = run_simulate(simulate); code != 0) return code;
  Arguments train{"--x-cnn", data + "/x_cnn.npy", "--x-lstm", data + "/x_lstm.npy", "--y", data + "/y.npy",
                  "--train-index", data + "/train_index.npy", "--test-index", data + "/test_index.npy",
                  "--seed", seed, "--out", model.folder()};
  if (cl.has("threads")) train.insert(train.end(), {"--threads", cl.text("threads")});
  std::cerr << "soc demo: training CNN-LSTM_evi_lsp; model, metrics and plots go to " << model.folder() << "\n";
  try {
    const int code = run_train(train);
    model.wrote_all();
    return code;
  } catch (...) {
    model.wrote_all();  // what a failed run wrote (its checkpoint) is the demo's too, for the next run
    throw;
  }
}

}  // namespace soc
