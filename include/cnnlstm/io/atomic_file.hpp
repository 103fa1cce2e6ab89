#pragma once
// Writes a file so that readers see either the old content or the complete new one, never a
// partial file: the data goes to a uniquely named temporary file in the destination's folder,
// which commit() flushes to disk and renames over the destination. A writer destroyed before
// commit() (for example by an exception) removes its temporary and leaves the destination as
// it was.
//
//   AtomicFile file("model.safetensors");
//   file.write(header.data(), header.size());
//   file.write(values, bytes);
//   file.commit();

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <utility>

#include "../errors.hpp"
#include "file_handle.hpp"

namespace cnnlstm {

class AtomicFile {
 public:
  explicit AtomicFile(std::string destination)
      : destination_(std::move(destination)), file_(create_temporary(destination_)) {}
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile() {
    if (!committed_) ::unlink(file_.path().c_str());
  }

  const std::string& destination() const { return destination_; }
  const std::string& temporary_path() const { return file_.path(); }

  void write(const void* data, std::size_t size) {
    try {
      file_.write_all(data, size);
    } catch (const IoError& e) {
      throw IoError(std::string(e.what()) + " (while writing '" + destination_ + "')");
    }
  }

  // Flushes the data to disk and puts the file in place of the destination.
  void commit() {
    file_.sync();
    file_.close();
    if (std::rename(file_.path().c_str(), destination_.c_str()) != 0)
      throw os_error("rename '" + file_.path() + "' to", destination_, errno);
    committed_ = true;
    sync_folder();
  }

 private:
  static std::filesystem::path folder_of(const std::string& path) {
    const auto folder = std::filesystem::path(path).parent_path();
    return folder.empty() ? std::filesystem::path(".") : folder;
  }

  // Creates "<folder>/.<name>.tmp-<random>" exclusively, so no two writers share a temporary.
  static FileHandle create_temporary(const std::string& destination) {
    const auto name = std::filesystem::path(destination).filename().string();
    std::random_device random;
    constexpr int attempts = 100;
    for (int i = 0; i < attempts; ++i) {
      const auto path =
          (folder_of(destination) / ("." + name + ".tmp-" + std::to_string(random()))).string();
      const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd >= 0) return {fd, path};
      if (errno != EEXIST) throw os_error("create a temporary file for", destination, errno);
    }
    throw IoError("cannot create a temporary file for '" + destination +
                  "': every candidate name is taken");
  }

  // Makes the rename itself durable. Best effort: the new file is already in place, and some
  // file systems cannot sync a folder.
  void sync_folder() const {
    const int fd = ::open(folder_of(destination_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
  }

  std::string destination_;
  FileHandle file_;
  bool committed_ = false;
};

}  // namespace cnnlstm
