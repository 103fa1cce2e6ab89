// Malformed and unsupported .npy files: each must be rejected with an error that names the file
// and the problem.

#include <doctest/doctest.h>

#include <cnnlstm/io/npy.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "io_test_support.hpp"

using namespace cnnlstm;
using namespace std::string_literals;
using io_test::check_error;
using io_test::le_bytes;
using io_test::npy_file;
using io_test::TempDir;
using io_test::write_bytes;

namespace {

const std::string six_floats(24, '\0');

std::string dict_with(const std::string& descr, const std::string& fortran,
                      const std::string& shape) {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
}

// Writes `bytes` to a file and checks that loading it throws a FormatError naming the file and
// every fragment.
void check_rejected(const std::string& bytes, std::vector<std::string> fragments) {
  TempDir dir;
  const std::string path = dir.file("bad.npy");
  write_bytes(path, bytes);
  fragments.push_back(path);
  check_error<FormatError>([&] { load_npy<float>(path); }, fragments);
  check_error<FormatError>([&] { load_npy_tensor<double, 2>(path); }, fragments);
}

// A header whose dict is `dict`, followed by six floats' worth of data.
std::string six_float_file(const std::string& dict) { return npy_file(1, dict, six_floats); }

}  // namespace

TEST_CASE("npy rejects a file that does not start with the magic string") {
  check_rejected("\x93NUMPZ\x01\x00"s + std::string(100, ' '), {"bad magic"});
  check_rejected("PK\x03\x04 a zip archive", {"bad magic"});
}

TEST_CASE("npy rejects an empty file and files cut inside the preamble") {
  check_rejected("", {"truncated header", "magic string"});
  check_rejected("\x93NUMPY\x01", {"truncated header", "version"});
  check_rejected("\x93NUMPY\x01\x00\x76"s, {"truncated header", "length"});
}

TEST_CASE("npy rejects unsupported versions") {
  const std::string dict = dict_with("<f4", "False", "(2, 3)");
  std::string v4 = npy_file(3, dict, six_floats);
  v4[6] = 4;
  check_rejected(v4, {"unsupported .npy version 4.0"});
  std::string v1_1 = npy_file(1, dict, six_floats);
  v1_1[7] = 1;
  check_rejected(v1_1, {"unsupported .npy version 1.1"});
  std::string v0 = npy_file(1, dict, six_floats);
  v0[6] = 0;
  check_rejected(v0, {"unsupported .npy version 0.0"});
}

TEST_CASE("npy rejects a header longer than the file") {
  const std::string whole = npy_file(1, dict_with("<f4", "False", "(2, 3)"), "");
  check_rejected(whole.substr(0, 40), {"truncated header", "header dict", "after 30 of its 118"});
}

TEST_CASE("npy rejects an absurd header length") {
  check_rejected("\x93NUMPY\x02\x00"s + le_bytes(0xFFFFFFF0, 4) + "{}",
                 {"header length 4294967280", "limit"});
}

TEST_CASE("npy rejects a header that is not a dict") {
  check_rejected(six_float_file("['<f4', False, (2, 3)]"), {"not a Python dict"});
  check_rejected(six_float_file(""), {"not a Python dict"});
}

TEST_CASE("npy rejects header syntax errors") {
  check_rejected(six_float_file("{'descr' '<f4', 'fortran_order': False, 'shape': (2, 3)}"),
                 {"expected ':' after key 'descr'"});
  check_rejected(six_float_file("{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3)}"),
                 {"expected ',' or '}'"});
  check_rejected(six_float_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)"),
                 {"expected ',' or '}'"});
  check_rejected(six_float_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}"),
                 {"expected ',' or ')'"});
  check_rejected(six_float_file("{'descr': '<f4', 'fortran_order': no, 'shape': (2, 3)}"),
                 {"True or False"});
  check_rejected(six_float_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} x"),
                 {"unexpected text after the header dict"});
  check_rejected(six_float_file("{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}"),
                 {"'shape' must be a tuple"});
  check_rejected(six_float_file("{'descr': '<f4', 'fortran_order': False, 'shape': (6)}"),
                 {"(6) is not a tuple"});
  check_rejected(six_float_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2.0, 3)}"),
                 {"expected ',' or ')'"});
}

TEST_CASE("npy rejects missing, unknown and repeated keys") {
  check_rejected(six_float_file("{'descr': '<f4', 'shape': (2, 3), }"),
                 {"missing key 'fortran_order'"});
  check_rejected(six_float_file("{'descr': '<f4', 'fortran_order': False, }"),
                 {"missing key 'shape'"});
  check_rejected(
      six_float_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}"),
      {"unexpected key 'x'"});
  check_rejected(
      six_float_file("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}"),
      {"key 'descr' appears twice"});
}

TEST_CASE("npy rejects unsupported and big-endian dtypes") {
  check_rejected(six_float_file(dict_with("<c8", "False", "(2, 3)")),
                 {"unsupported dtype '<c8'"});
  check_rejected(six_float_file(dict_with("<f2", "False", "(2, 3)")),
                 {"unsupported dtype '<f2'"});
  check_rejected(six_float_file(dict_with(">f4", "False", "(2, 3)")),
                 {"big-endian dtype '>f4'"});
  check_rejected(
      six_float_file("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 3)}"),
      {"'descr'", "expected a quoted string"});
}

TEST_CASE("npy rejects Fortran-order arrays") {
  check_rejected(six_float_file(dict_with("<f4", "True", "(2, 3)")), {"fortran_order is True"});
}

TEST_CASE("npy rejects negative and absurd dimensions") {
  check_rejected(six_float_file(dict_with("<f4", "False", "(2, -3)")),
                 {"negative dimension"});
  check_rejected(six_float_file(dict_with("<f4", "False", "(99999999999999999999, 1)")),
                 {"dimension in 'shape' is too large"});
  check_rejected(six_float_file(dict_with("<f4", "False", "(4294967296, 4294967296)")),
                 {"shape (4294967296, 4294967296) is absurd"});
  check_rejected(six_float_file(dict_with("<f4", "False", "(2305843009213693952, 1)")),
                 {"absurd"});
}

TEST_CASE("npy rejects data shorter or longer than the shape says") {
  const std::string dict = dict_with("<f4", "False", "(2, 3)");
  check_rejected(npy_file(1, dict, std::string(20, '\0')),
                 {"truncated data", "(2, 3)", "needs 24 bytes", "has 20"});
  check_rejected(npy_file(1, dict, std::string(25, '\0')), {"trailing data", "has 25"});
  check_rejected(npy_file(1, dict, ""), {"truncated data", "has 0"});
}

TEST_CASE("npy refuses to load float data as integers") {
  TempDir dir;
  const std::string path = dir.file("floats.npy");
  const float values[] = {1.5f, 2.f};
  save_npy(path, values, {2});
  check_error<FormatError>([&] { load_npy<std::int64_t>(path); },
                           {path, "<f4", "I64", "dropping fractions"});
}

TEST_CASE("npy refuses integers the target type cannot hold") {
  TempDir dir;
  const std::string path = dir.file("ints.npy");
  const std::int64_t values[] = {1, std::int64_t{1} << 40};
  save_npy(path, values, {2});
  check_error<DataError>([&] { load_npy<std::int32_t>(path); }, {path, "I32 cannot represent"});
  const std::int32_t negative[] = {-1};
  save_npy(path, negative, {1});
  check_error<DataError>([&] { load_npy<std::uint8_t>(path); }, {path, "U8"});
}

TEST_CASE("npy rejects boolean bytes other than 0 and 1") {
  TempDir dir;
  const std::string path = dir.file("bools.npy");
  write_bytes(path, npy_file(1, dict_with("|b1", "False", "(3,)"), "\x01\x00\x02"s));
  check_error<DataError>([&] { load_npy<std::uint8_t>(path); }, {path, "U8 cannot represent"});
  check_error<DataError>([&] { load_npy_tensor<bool, 1>(path); }, {path, "BOOL cannot represent"});
}

TEST_CASE("npy reports a missing file as an IoError") {
  TempDir dir;
  const std::string path = dir.file("absent.npy");
  check_error<IoError>([&] { load_npy<float>(path); }, {path, "No such file or directory"});
}
