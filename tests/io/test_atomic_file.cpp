#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cnnlstm/io/atomic_file.hpp>
#include <cnnlstm/io/safetensors.hpp>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "io_test_support.hpp"

using namespace cnnlstm;
using io_test::check_error;
using io_test::read_bytes;
using io_test::TempDir;
using io_test::write_bytes;

TEST_CASE("AtomicFile shows the destination only once committed") {
  TempDir dir;
  const std::string path = dir.file("out.bin");
  AtomicFile file(path);
  file.write("hello ", 6);
  file.write("world", 5);
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK(std::filesystem::path(file.temporary_path()).parent_path() ==
        std::filesystem::path(path).parent_path());
  CHECK(dir.listing().size() == 1);
  file.commit();
  CHECK(read_bytes(path) == "hello world");
  CHECK(dir.listing() == std::set<std::string>{"out.bin"});
}

TEST_CASE("AtomicFile replaces an existing file") {
  TempDir dir;
  const std::string path = dir.file("out.bin");
  write_bytes(path, "old content that is longer");
  AtomicFile file(path);
  file.write("new", 3);
  file.commit();
  CHECK(read_bytes(path) == "new");
  CHECK(dir.listing() == std::set<std::string>{"out.bin"});
}

TEST_CASE("AtomicFile gives two writers of the same destination distinct temporaries") {
  TempDir dir;
  AtomicFile first(dir.file("out.bin"));
  AtomicFile second(dir.file("out.bin"));
  CHECK(first.temporary_path() != second.temporary_path());
}

TEST_CASE("An exception mid-write leaves the old file byte-identical and no temporary") {
  TempDir dir;
  const std::string path = dir.file("model.bin");
  const std::string old_content("\x00\x01old\xff\n", 7);
  write_bytes(path, old_content);
  try {
    AtomicFile file(path);
    file.write("partial new content", 19);
    throw std::runtime_error("interrupted");
  } catch (const std::runtime_error&) {
  }
  CHECK(read_bytes(path) == old_content);
  CHECK(dir.listing() == std::set<std::string>{"model.bin"});
}

TEST_CASE("A library writer that fails mid-write leaves the old file and no temporary") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  write_bytes(path, "previous checkpoint");
  const std::int64_t small[] = {1, 2, 3};
  const std::int64_t huge[] = {std::int64_t{1} << 40};
  // The second tensor's value does not fit I32: detected after the header and the first
  // tensor's bytes were written.
  check_error<DataError>(
      [&] {
        save_safetensors<std::int64_t>(
            path, {{"small", DType::I32, {3}, small}, {"huge", DType::I32, {1}, huge}});
      },
      {path, "'huge'", "I32"});
  CHECK(read_bytes(path) == "previous checkpoint");
  CHECK(dir.listing() == std::set<std::string>{"model.safetensors"});
}

TEST_CASE("AtomicFile reports a folder it cannot create files in") {
  TempDir dir;
  const std::string path = dir.file("missing/out.bin");
  check_error<IoError>([&] { AtomicFile file(path); }, {path, "No such file or directory"});
}

TEST_CASE("AtomicFile reports a failed rename and removes its temporary") {
  TempDir dir;
  const std::string path = dir.file("taken");
  check_error<IoError>(
      [&] {
        AtomicFile file(path);
        file.write("data", 4);
        std::filesystem::create_directory(path);  // appears while the file is written
        write_bytes(dir.file("taken/inside"), "x");
        file.commit();
      },
      {"rename", path, "Is a directory"});
  CHECK(dir.listing() == std::set<std::string>{"taken"});
  CHECK(read_bytes(dir.file("taken/inside")) == "x");
}

TEST_CASE("AtomicFile gives the file the permissions of any newly created file") {
  TempDir dir;
  write_bytes(dir.file("plain"), "x");
  AtomicFile file(dir.file("atomic"));
  file.commit();
  struct stat plain {};
  struct stat atomic {};
  REQUIRE(::stat(dir.file("plain").c_str(), &plain) == 0);
  REQUIRE(::stat(dir.file("atomic").c_str(), &atomic) == 0);
  CHECK((atomic.st_mode & 0777) == (plain.st_mode & 0777));
}
