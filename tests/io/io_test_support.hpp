#pragma once
// Helpers shared by the file-format tests: a private temporary folder per test, raw byte files,
// and a check that an action throws a given error whose message holds given fragments.

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

namespace io_test {

// A fresh, empty folder under the system's temporary folder, removed with its content at the end.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    std::string name = "cnnlstm-io-test-";
    name += std::to_string(::getpid()) + "-" + std::to_string(counter++);
    path_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  std::string file(const std::string& name) const { return (path_ / name).string(); }

  // Names of everything in the folder.
  std::set<std::string> listing() const {
    std::set<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(path_))
      names.insert(entry.path().filename().string());
    return names;
  }

 private:
  std::filesystem::path path_;
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Little-endian bytes of an unsigned integer.
inline std::string le_bytes(std::uint64_t value, int width) {
  std::string bytes;
  for (int i = 0; i < width; ++i) bytes += static_cast<char>(value >> (8 * i) & 0xFF);
  return bytes;
}

template <class T>
std::string raw_bytes(const std::vector<T>& values) {
  return {reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T)};
}

// A safetensors file built by hand: the 8-byte length, the header text as given, then
// `data_size` zero bytes.
inline std::string safetensors_file(const std::string& header, std::size_t data_size) {
  return le_bytes(header.size(), 8) + header + std::string(data_size, '\0');
}

// An .npy file built by hand: any version, the dict padded with spaces and a newline to 64 bytes.
inline std::string npy_file(int major, const std::string& dict, const std::string& data) {
  const int length_bytes = major == 1 ? 2 : 4;
  std::string header = dict;
  while ((8 + length_bytes + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  return std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0' +
         le_bytes(header.size(), length_bytes) + header + data;
}

// Checks that `action` throws E (any other exception fails the test) and that the message
// contains every fragment.
template <class E, class Action>
void check_error(Action&& action, const std::vector<std::string>& fragments) {
  try {
    action();
    FAIL_CHECK("no exception was thrown; expected one mentioning " << *fragments.begin());
  } catch (const E& e) {
    const std::string message = e.what();
    for (const std::string& fragment : fragments)
      CHECK_MESSAGE(message.find(fragment) != std::string::npos,
                    "message \"" << message << "\" lacks \"" << fragment << "\"");
  }
}

}  // namespace io_test
