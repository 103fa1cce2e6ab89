#pragma once
// The soc program's subcommands; each takes the arguments after its name and returns the exit code.

#include <string>
#include <vector>

namespace soc {

using Arguments = std::vector<std::string>;

int run_simulate(const Arguments& args);
int run_train(const Arguments& args);
int run_predict(const Arguments& args);
int run_evaluate(const Arguments& args);
int run_cv(const Arguments& args);
int run_demo(const Arguments& args);

}  // namespace soc
