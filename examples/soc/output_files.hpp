#pragma once
// What the soc program writes besides models: text files (JSON, CSV, SVG), each written to a
// temporary name in the destination folder and renamed into place, so no reader ever sees half a file.

#include <cnnlstm/io/atomic_file.hpp>
#include <cnnlstm/core/json_reader.hpp>
#include <cnnlstm/train/metrics.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace soc {

inline void write_text_file(const std::string& path, const std::string& text) {
  cnnlstm::AtomicFile file(path);
  file.write(text.data(), text.size());
  file.commit();
}

inline nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw cnnlstm::IoError("cannot read '" + path + "': " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  return cnnlstm::parse_json_strict(text.str(), path);
}

// A folder for outputs, created if needed.
inline std::string output_folder(const std::string& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error || !std::filesystem::is_directory(path))
    throw cnnlstm::IoError("cannot create the output folder '" + path + "': " + error.message());
  return path;
}

// Metrics per output as JSON: the object itself for one output, a list for several.
inline nlohmann::json metrics_json(const std::vector<cnnlstm::Metrics>& metrics) {
  if (metrics.size() == 1) return cnnlstm::to_json(metrics[0]);
  nlohmann::json list = nlohmann::json::array();
  for (const auto& m : metrics) list.push_back(cnnlstm::to_json(m));
  return list;
}

}  // namespace soc
