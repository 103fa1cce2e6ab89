#pragma once
// The soc program's subcommands; each takes the arguments after its name and returns the exit code.

#include <iostream>
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
int run_importance(const Arguments& args);
int run_export(const Arguments& args);

// soc map and soc extract read rasters with GDAL: without it (SOC_WITH_GDAL undefined) they
// only say so.
#ifdef SOC_WITH_GDAL
int run_map(const Arguments& args);
int run_extract(const Arguments& args);
#else
inline int without_gdal(const char* command) {
  std::cerr << "soc " << command << ": this soc was built without GDAL; install libgdal-dev (Debian; scripts/setup.sh "
               "does by default) and rebuild\n";
  return 2;
}
inline int run_map(const Arguments&) { return without_gdal("map"); }
inline int run_extract(const Arguments&) { return without_gdal("extract"); }
#endif

}  // namespace soc
