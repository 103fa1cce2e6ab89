#pragma once
// Outputs never destroy inputs (docs/errors.md, "Nothing is lost"). Every path a command will
// write is checked before any work starts:
//  - it is not the same file as any input (compared as files, not spellings: symlinks are
//    followed and hard links found), nor the same as another output of the run;
//  - its folder exists, and it is not a folder, not write-protected (cnnlstm::check_replaceable).
// A folder that a command fills with files of fixed names (soc simulate, soc demo) is an
// OwnedFolder: it replaces only the files it wrote itself.

#include <cnnlstm/io/atomic_file.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "command_line.hpp"
#include "output_files.hpp"

namespace soc {

// A path the run will write, with the flag that named it (for messages).
struct OutputPath {
  std::string path;
  std::string flag;  // "--out", "--quicklook"
};

// True when both exist and are one file.
inline bool same_file(const std::string& a, const std::string& b) {
  std::error_code error;
  return std::filesystem::equivalent(a, b, error) && !error;
}

inline std::filesystem::path absolute_spelling(const std::string& path) {
  std::error_code error;
  const auto p = std::filesystem::weakly_canonical(path, error);
  return error ? std::filesystem::absolute(path) : p;
}

inline void require_folder_of(const OutputPath& out) {
  const auto folder = std::filesystem::path(out.path).parent_path();
  std::error_code error;
  if (!folder.empty() && !std::filesystem::is_directory(folder, error))
    throw cnnlstm::IoError("cannot write " + out.flag + " '" + out.path + "': the folder '" + folder.string() +
                           "' does not exist");
}

// Throws before any work when an output would destroy an input, another output, or a file it
// must not replace. Empty input paths (flags not given) are skipped.
inline void check_outputs(const std::vector<OutputPath>& outputs, const std::vector<std::string>& inputs) {
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const OutputPath& out = outputs[i];
    for (const std::string& in : inputs)
      if (!in.empty() && same_file(out.path, in))
        throw UsageError(out.flag + " '" + out.path + "' is the input file '" + in +
                         "': writing it would destroy the input; choose another output");
    for (std::size_t j = 0; j < i; ++j)
      if (same_file(out.path, outputs[j].path) || absolute_spelling(out.path) == absolute_spelling(outputs[j].path))
        throw UsageError(out.flag + " '" + out.path + "' and " + outputs[j].flag + " '" + outputs[j].path +
                         "' are the same file; give each output its own");
    require_folder_of(out);
    cnnlstm::check_replaceable(out.path);
  }
}

// A folder a command fills with files of fixed names. It replaces a file there only if it wrote
// it itself and nobody changed it since: each file it writes is recorded with its size and
// modification time in FOLDER/.soc-written.json. Any other file it would replace (the user's own
// y.npy, or one edited since) makes it refuse before anything is written, naming the file;
// `force` (--force) replaces such files anyway.
class OwnedFolder {
 public:
  static constexpr const char* record_name = ".soc-written.json";

  // Creates the folder if needed and checks the files `names` it will write; an empty list
  // stands for every file the folder holds (for a command whose file names another one decides).
  OwnedFolder(const std::string& folder, std::string command, std::vector<std::string> names, bool force)
      : folder_(output_folder(folder)), command_(std::move(command)) {
    if (names.empty()) names = present_files();
    const nlohmann::json record = read_record();
    for (const std::string& name : names) check_file(name, record, force);
  }

  const std::string& folder() const { return folder_; }
  std::string path(const std::string& name) const { return folder_ + "/" + name; }

  // Records `name` as this command's. Called right after each file is written, so the files of
  // an interrupted run still count as its own when it is run again.
  void wrote(const std::string& name) const {
    nlohmann::json record = read_record();
    record["files"][name] = signature(path(name));
    record["written_by"] = "soc";
    write_text_file(path(record_name), record.dump(2) + "\n");
  }

  // Records every file the folder now holds.
  void wrote_all() const {
    for (const std::string& name : present_files()) wrote(name);
  }

 private:
  // What identifies the file as written: a later edit changes its size or modification time.
  static nlohmann::json signature(const std::string& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) return nullptr;
    return {{"size", info.st_size}, {"modified_ns", info.st_mtim.tv_sec * 1'000'000'000LL + info.st_mtim.tv_nsec}};
  }

  // The record, or an empty one when there is none or it cannot be read: then no file counts as
  // written by soc, the safe side.
  nlohmann::json read_record() const {
    std::error_code error;
    if (!std::filesystem::exists(path(record_name), error)) return nlohmann::json::object();
    try {
      nlohmann::json record = read_json_file(path(record_name));
      if (record.is_object() && record.value("files", nlohmann::json()).is_object()) return record;
    } catch (const cnnlstm::Error&) {
    }
    return nlohmann::json::object();
  }

  std::vector<std::string> present_files() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(folder_)) {
      const std::string name = entry.path().filename().string();
      if (!name.starts_with(".")) names.push_back(name);  // the record, temporaries
    }
    return names;
  }

  void check_file(const std::string& name, const nlohmann::json& record, bool force) const {
    const std::string file = path(name);
    std::error_code error;
    if (!std::filesystem::exists(std::filesystem::symlink_status(file, error))) return;
    cnnlstm::check_replaceable(file);
    const bool ours = record.contains("files") && record["files"].contains(name) && record["files"][name] == signature(file);
    if (ours || force) return;
    throw UsageError(command_ + ": '" + file + "' exists and was not written by soc " + command_ + " (or was changed since): " +
                     "it is not replaced; give another --out, or --force to replace it");
  }

  std::string folder_, command_;
};

}  // namespace soc
