// Writers never destroy what they must not and leave nothing behind: AtomicFile refuses folders
// and write-protected files, removes its temporary on SIGINT, SIGTERM and SIGHUP (checked in a
// forked child that the signal ends), and removes the temporaries that killed runs left.

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cnnlstm/io/atomic_file.hpp>
#include <cnnlstm/io/temporary_files.hpp>

#include <csignal>
#include <filesystem>
#include <string>

#include "io_test_support.hpp"

using namespace cnnlstm;
using io_test::check_error;
using io_test::read_bytes;
using io_test::TempDir;
using io_test::write_bytes;

namespace {

// The id of a process that has ended (a child, waited for): no process has it any more.
pid_t ended_process() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

// Runs `body` in a child process; returns its wait status.
template <class Body>
int in_child(Body body) {
  const pid_t child = ::fork();
  if (child == 0) {
    body();
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return status;
}

}  // namespace

TEST_CASE("AtomicFile refuses a destination that is a folder before writing anything") {
  TempDir dir;
  std::filesystem::create_directory(dir.file("out.npy"));
  check_error<IoError>([&] { AtomicFile file(dir.file("out.npy")); }, {dir.file("out.npy"), "is a folder"});
  CHECK(dir.listing() == std::set<std::string>{"out.npy"});
}

TEST_CASE("AtomicFile never replaces a write-protected file, even as root") {
  TempDir dir;
  const std::string path = dir.file("map.npy");
  write_bytes(path, "the user's file");
  ::chmod(path.c_str(), 0444);
  check_error<IoError>([&] { AtomicFile file(path); }, {path, "write-protected"});
  CHECK(read_bytes(path) == "the user's file");
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0444);
  CHECK(dir.listing() == std::set<std::string>{"map.npy"});
  CHECK_NOTHROW(check_replaceable(dir.file("new.npy")));
}

TEST_CASE("A temporary's name carries the writer's process id") {
  const std::string name = std::filesystem::path(temporary_name("/data/soc.tif", ".tif")).filename().string();
  CHECK(name.starts_with(".soc.tif.tmp-" + std::to_string(::getpid()) + "-"));
  CHECK(name.ends_with(".tif"));
}

TEST_CASE("Temporaries of ended processes are removed; a live writer's and other files are kept") {
  TempDir dir;
  const std::string destination = dir.file("soc.tif");
  const std::string stale = ".soc.tif.tmp-" + std::to_string(ended_process()) + "-17.tif";
  const std::string live_other = ".soc.tif.tmp-1-17.tif";  // process 1 always runs
  const std::string own = ".soc.tif.tmp-" + std::to_string(::getpid()) + "-17.tif";
  for (const auto& name : {stale, stale + ".aux.xml", live_other, own, std::string(".other.tif.tmp-999999999-1"),
                           std::string("soc.tif")})
    write_bytes(dir.file(name), "x");
  CHECK(remove_stale_temporaries(destination) == 2);
  CHECK(dir.listing() == std::set<std::string>{live_other, own, ".other.tif.tmp-999999999-1", "soc.tif"});
}

TEST_CASE("AtomicFile removes what a killed run left for its destination") {
  TempDir dir;
  const std::string stale = ".out.bin.tmp-" + std::to_string(ended_process()) + "-5";
  write_bytes(dir.file(stale), "half a file");
  AtomicFile file(dir.file("out.bin"));
  file.write("new", 3);
  file.commit();
  CHECK(dir.listing() == std::set<std::string>{"out.bin"});
}

TEST_CASE("SIGINT, SIGTERM and SIGHUP remove the temporary, keep the old file, and end the program") {
  for (const int signal_number : {SIGINT, SIGTERM, SIGHUP}) {
    CAPTURE(signal_number);
    TempDir dir;
    const std::string path = dir.file("soc.npy");
    write_bytes(path, "the previous result");
    const int status = in_child([&] {
      std::signal(signal_number, SIG_DFL);  // as in a program; the test runner catches some signals itself
      install_temporary_cleanup();
      AtomicFile file(path);
      file.write("half", 4);
      ::raise(signal_number);
      ::_exit(3);  // not reached: the signal ends the child
    });
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == signal_number);
    CHECK(dir.listing() == std::set<std::string>{"soc.npy"});
    CHECK(read_bytes(path) == "the previous result");
  }
}

TEST_CASE("A signal the program ignores stays ignored (nohup)") {
  TempDir dir;
  const int status = in_child([&] {
    std::signal(SIGHUP, SIG_IGN);
    install_temporary_cleanup();
    AtomicFile file(dir.file("out.bin"));
    ::raise(SIGHUP);
    file.write("done", 4);
    file.commit();
  });
  CHECK(WIFEXITED(status));
  CHECK(read_bytes(dir.file("out.bin")) == "done");
}
