#pragma once
// Writes a file so that readers see either the old content or the complete new one, never a
// partial file: the data goes to a uniquely named temporary file in the destination's folder,
// which commit() flushes to disk and renames over the destination. A writer destroyed before
// commit() (for example by an exception) removes its temporary and leaves the destination as
// it was; a signal or SIGKILL is handled as temporary_files.hpp says. A destination that is a
// folder, not a regular file, or write-protected is refused before anything is written
// (check_replaceable).
//
//   AtomicFile file("model.safetensors");
//   file.write(header.data(), header.size());
//   file.write(values, bytes);
//   file.commit();

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>

#include "../core/errors.hpp"
#include "file_handle.hpp"
#include "temporary_files.hpp"

namespace cnnlstm {

// Throws an IoError unless a new file may be put at `path`: nothing there, or a regular file the
// user may write. A file whose mode allows nobody to write it (chmod a-w, 0444) counts as
// protected even for root, whom the system lets write anything: such a file was made read-only
// on purpose, and is never replaced.
inline void check_replaceable(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return;
    throw os_error("write", path, errno);
  }
  if (S_ISDIR(info.st_mode)) throw IoError("cannot write '" + path + "': it is a folder, not a file");
  if (!S_ISREG(info.st_mode)) throw IoError("cannot write '" + path + "': it is not a regular file");
  if ((info.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) == 0 || ::access(path.c_str(), W_OK) != 0)
    throw IoError("cannot replace '" + path + "': it is write-protected (make it writable, or write elsewhere)");
}

class AtomicFile {
 public:
  explicit AtomicFile(std::string destination)
      : destination_(replaceable(std::move(destination))), file_(create_temporary(destination_)) {}
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
    registration_.release();
    sync_folder();
  }

 private:
  static std::string replaceable(std::string destination) {
    check_replaceable(destination);
    return destination;
  }

  // Creates "<folder>/.<name>.tmp-<pid>-<random>" exclusively, so no two writers share a
  // temporary, after removing those that killed runs left for the same destination.
  FileHandle create_temporary(const std::string& destination) {
    remove_stale_temporaries(destination);
    constexpr int attempts = 100;
    for (int i = 0; i < attempts; ++i) {
      const auto path = temporary_name(destination);
      const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd >= 0) {
        registration_ = TemporaryRegistration(path);
        return {fd, path};
      }
      if (errno != EEXIST) throw os_error("create a temporary file for", destination, errno);
    }
    throw IoError("cannot create a temporary file for '" + destination +
                  "': every candidate name is taken");
  }

  // Makes the rename itself durable. Best effort: the new file is already in place, and some
  // file systems cannot sync a folder.
  void sync_folder() const {
    const int fd = ::open(detail::folder_of(destination_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
  }

  std::string destination_;
  TemporaryRegistration registration_;  // declared before file_: create_temporary() fills it
  FileHandle file_;
  bool committed_ = false;
};

}  // namespace cnnlstm
