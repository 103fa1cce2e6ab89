#pragma once
// The temporary files that writers put next to their destination and rename over it when
// complete ("<folder>/.<name>.tmp-<pid>-<n><extension>"), and what removes them when a run does
// not get that far:
//  - the writer itself, on every failure path (AtomicFile, soc's GeoTIFF and PNG writers);
//  - on SIGINT, SIGTERM and SIGHUP, a handler that unlinks every registered temporary and then
//    lets the signal end the program as it would have (install_temporary_cleanup(): a program
//    opts in once; a library does not take over its caller's signals by itself);
//  - after SIGKILL, which no program can catch, the next writer of the same destination:
//    remove_stale_temporaries() deletes that destination's temporaries whose process id names
//    no running process. The process id in the name is what makes this safe: a live writer's
//    temporary, in this or another process, is never touched.

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>
#include <utility>

namespace cnnlstm {

namespace detail {

// A fixed table, so that the signal handler only reads memory and calls unlink() (both
// async-signal-safe): no allocation, no lock. A slot is free (0), being filled (1) or holds a
// temporary's path (2).
struct TemporarySlot {
  std::atomic<int> state{0};
  char path[4096] = {};
};
inline constexpr std::size_t temporary_slots = 64;
inline TemporarySlot temporary_table[temporary_slots];  // constant-initialised: no guard to take in a handler

inline void remove_temporaries_and_reraise(int signal_number) {
  for (auto& slot : temporary_table)
    if (slot.state.load(std::memory_order_acquire) == 2) ::unlink(slot.path);
  // SA_RESETHAND restored the default action on entry: the signal ends the program once the
  // handler returns, with the status a caller (a shell, a test) expects from that signal.
  ::raise(signal_number);
}

// ".<name>.tmp-": what every temporary of `destination` starts with.
inline std::string temporary_prefix(const std::string& destination) {
  std::string prefix = ".";  // built with += : GCC 12 warns falsely on "." + std::string (bug 105329)
  prefix += std::filesystem::path(destination).filename().string();
  return prefix += ".tmp-";
}

inline std::filesystem::path folder_of(const std::string& path) {
  const auto folder = std::filesystem::path(path).parent_path();
  return folder.empty() ? std::filesystem::path(".") : folder;
}

// The process id in a temporary's file name after its prefix ("<pid>-<n>..."), or 0.
inline pid_t temporary_owner(const std::string& rest) {
  const auto dash = rest.find('-');
  if (dash == 0 || dash == std::string::npos || dash > 9) return 0;
  pid_t pid = 0;
  for (std::size_t i = 0; i < dash; ++i) {
    if (rest[i] < '0' || rest[i] > '9') return 0;
    pid = pid * 10 + (rest[i] - '0');
  }
  return pid;
}

inline bool process_is_gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

}  // namespace detail

// Removes the temporary files and re-raises on SIGINT, SIGTERM and SIGHUP. A signal the program
// ignores (SIGHUP under nohup) stays ignored; one it handles itself keeps its handler.
inline void install_temporary_cleanup() {
  for (int signal_number : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction current {};
    if (::sigaction(signal_number, nullptr, &current) != 0 || current.sa_handler != SIG_DFL) continue;
    struct sigaction action {};
    action.sa_handler = detail::remove_temporaries_and_reraise;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND;
    ::sigaction(signal_number, &action, nullptr);
  }
}

// A temporary's path in the table while it exists. When the table is full (more than 64
// temporaries at once) or the path too long, the file is only cleaned up by its writer.
class TemporaryRegistration {
 public:
  TemporaryRegistration() = default;
  explicit TemporaryRegistration(const std::string& path) {
    if (path.size() >= sizeof(detail::TemporarySlot::path)) return;
    for (auto& slot : detail::temporary_table) {
      int expected = 0;
      if (!slot.state.compare_exchange_strong(expected, 1)) continue;
      std::memcpy(slot.path, path.c_str(), path.size() + 1);
      slot.state.store(2, std::memory_order_release);
      slot_ = &slot;
      return;
    }
  }
  TemporaryRegistration(const TemporaryRegistration&) = delete;
  TemporaryRegistration& operator=(const TemporaryRegistration&) = delete;
  TemporaryRegistration(TemporaryRegistration&& other) noexcept : slot_(std::exchange(other.slot_, nullptr)) {}
  TemporaryRegistration& operator=(TemporaryRegistration&& other) noexcept {
    std::swap(slot_, other.slot_);
    return *this;
  }
  ~TemporaryRegistration() { release(); }

  // The file is gone or renamed: the handler must not unlink that path any more.
  void release() {
    if (slot_) slot_->state.store(0, std::memory_order_release);
    slot_ = nullptr;
  }

 private:
  detail::TemporarySlot* slot_ = nullptr;
};

// A fresh temporary name for `destination`: "<folder>/.<name>.tmp-<pid>-<random><extension>".
inline std::string temporary_name(const std::string& destination, const std::string& extension = "") {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  return (detail::folder_of(destination) / (detail::temporary_prefix(destination) + std::to_string(::getpid()) + "-" +
                                            std::to_string(random() % 1'000'000'000'000ull) + extension))
      .string();
}

// Deletes the temporaries of `destination` left by processes that no longer run (killed with
// SIGKILL, or by a power cut); returns how many. Best effort: a folder it cannot list is left alone.
inline int remove_stale_temporaries(const std::string& destination) {
  const std::string prefix = detail::temporary_prefix(destination);
  int removed = 0;
  std::error_code error;
  for (std::filesystem::directory_iterator it(detail::folder_of(destination), error), end; !error && it != end;
       it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(prefix)) continue;
    const pid_t owner = detail::temporary_owner(name.substr(prefix.size()));
    if (owner <= 0 || owner == ::getpid() || !detail::process_is_gone(owner)) continue;
    std::error_code ignored;
    if (std::filesystem::remove(it->path(), ignored)) ++removed;
  }
  return removed;
}

}  // namespace cnnlstm
