#pragma once
// An open POSIX file that closes itself, with whole-buffer reads and writes that report every
// operating-system failure as an IoError naming the file and the system's reason.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>
#include <utility>

#include "../core/errors.hpp"

namespace cnnlstm {

// "cannot open 'model.safetensors': No such file or directory"
inline IoError os_error(const std::string& action, const std::string& path, int error) {
  return IoError("cannot " + action + " '" + path + "': " + std::system_category().message(error));
}

class FileHandle {
 public:
  FileHandle() = default;
  FileHandle(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;
  FileHandle(FileHandle&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}
  FileHandle& operator=(FileHandle&& other) noexcept {
    std::swap(fd_, other.fd_);
    std::swap(path_, other.path_);
    return *this;
  }
  ~FileHandle() {
    if (fd_ >= 0) ::close(fd_);
  }

  static FileHandle open_for_reading(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw os_error("open", path, errno);
    return {fd, path};
  }

  const std::string& path() const { return path_; }

  std::uint64_t size() const {
    struct stat info {};
    if (::fstat(fd_, &info) != 0) throw os_error("query the size of", path_, errno);
    return static_cast<std::uint64_t>(info.st_size);
  }

  // Reads exactly `size` bytes starting at `offset`; safe to call from several threads at once.
  void read_at(void* buffer, std::size_t size, std::uint64_t offset) const {
    auto* out = static_cast<char*>(buffer);
    while (size > 0) {
      const ssize_t n = ::pread(fd_, out, size, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw os_error("read", path_, errno);
      if (n == 0) throw IoError("cannot read '" + path_ + "': the file ended early (changed?)");
      out += n;
      size -= static_cast<std::size_t>(n);
      offset += static_cast<std::uint64_t>(n);
    }
  }

  void write_all(const void* buffer, std::size_t size) {
    const auto* in = static_cast<const char*>(buffer);
    while (size > 0) {
      const ssize_t n = ::write(fd_, in, size);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw os_error("write", path_, errno);
      in += n;
      size -= static_cast<std::size_t>(n);
    }
  }

  void sync() {
    if (::fsync(fd_) != 0) throw os_error("flush to disk", path_, errno);
  }

  // Closes now and reports a failure (some file systems report write errors only here).
  void close() {
    const int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0) throw os_error("close", path_, errno);
  }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace cnnlstm
