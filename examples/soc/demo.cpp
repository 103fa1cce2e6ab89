// soc demo: the whole workflow on simulated data in one go: soc simulate, then soc train of the
// paper's CNN-LSTM with the default recipe on the simulated training sites, reporting test metrics.

#include "commands.hpp"
#include "workflow.hpp"

namespace soc {

int run_demo(const Arguments& args) {
  CommandLine cl("demo", "Simulates a data set (DIR/data) and trains the paper's CNN-LSTM on it (DIR/model).",
                 {{"out", "DIR", "output folder (default: soc-demo)"},
                  {"n", "N", "number of simulated sites (default 2000)"},
                  {"seed", "N", "seed of the simulation and the training (default 314)"},
                  {"threads", "N", "OpenMP threads (0: default)"}});
  if (!cl.parse(args)) return 0;
  const std::string dir = cl.text("out", "soc-demo"), data = dir + "/data";
  const std::string n = cl.text("n", "2000"), seed = cl.text("seed", "314");
  if (int code = run_simulate({"--n", n, "--seed", seed, "--out", data}); code != 0) return code;
  Arguments train{"--x-cnn", data + "/x_cnn.npy", "--x-lstm", data + "/x_lstm.npy", "--y", data + "/y.npy",
                  "--train-index", data + "/train_index.npy", "--test-index", data + "/test_index.npy",
                  "--seed", seed, "--out", dir + "/model"};
  if (cl.has("threads")) train.insert(train.end(), {"--threads", cl.text("threads")});
  std::cerr << "soc demo: training CNN-LSTM_evi_lsp; model, metrics and plots go to " << dir << "/model\n";
  return run_train(train);
}

}  // namespace soc
