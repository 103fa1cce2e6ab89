#pragma once
// Helpers shared by the libFuzzer harnesses (see run_fuzzers.sh).

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace cnnlstm_fuzz {

// A fixed per-process file under /tmp that holds the current fuzz input, for readers that only
// take file names; removed when the process exits normally.
class InputFile {
 public:
  explicit InputFile(const std::string& extension)
      : path_("/tmp/cnnlstm-fuzz-" + std::to_string(::getpid()) + extension) {}
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile() { std::remove(path_.c_str()); }

  // Overwrites the file with the input and returns its path. The file is rewritten in place and
  // then cut to size rather than truncated first: on ext4, truncating to zero and rewriting
  // forces the data to disk on close, which would make every execution wait for the disk.
  const std::string& write(const std::uint8_t* data, std::size_t size) const {
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    bool ok = fd >= 0;
    for (std::size_t done = 0; ok && done < size;) {
      const ssize_t n = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
      ok = n > 0;
      if (ok) done += static_cast<std::size_t>(n);
    }
    ok = ok && ::ftruncate(fd, static_cast<off_t>(size)) == 0;
    if (fd >= 0) ok = ::close(fd) == 0 && ok;
    if (!ok) {
      std::fprintf(stderr, "fuzz harness: cannot write %s\n", path_.c_str());
      std::abort();
    }
    return path_;
  }

 private:
  std::string path_;
};

// Stops the run with a message: a broken invariant is a finding, like a crash.
[[noreturn]] inline void invariant_broken(const std::string& what) {
  std::fprintf(stderr, "fuzz harness: invariant broken: %s\n", what.c_str());
  std::abort();
}

}  // namespace cnnlstm_fuzz
