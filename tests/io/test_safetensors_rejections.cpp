// Malformed and unsupported safetensors files: each must be rejected when opened, with a
// FormatError that names the file, the tensor where there is one, and the problem.

#include <doctest/doctest.h>

#include <cnnlstm/io/safetensors.hpp>
#include <string>
#include <vector>

#include "io_test_support.hpp"

using namespace cnnlstm;
using io_test::check_error;
using io_test::le_bytes;
using io_test::safetensors_file;
using io_test::TempDir;
using io_test::write_bytes;

namespace {

void check_rejected(const std::string& bytes, std::vector<std::string> fragments) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  write_bytes(path, bytes);
  fragments.push_back(path);
  check_error<FormatError>([&] { SafetensorsFile::open(path); }, fragments);
}

// A one-tensor header: {"w": {<entry>}}.
std::string one_tensor(const std::string& entry) { return R"({"w":{)" + entry + "}}"; }

}  // namespace

TEST_CASE("safetensors rejects a file shorter than 8 bytes") {
  check_rejected("", {"0 bytes long", "too short"});
  check_rejected(std::string("\x02\x00\x00", 3), {"3 bytes long", "too short"});
}

TEST_CASE("safetensors rejects a header length beyond the file") {
  check_rejected(le_bytes(100, 8) + "{}", {"header length 100", "beyond the end of the file (10"});
  check_rejected(le_bytes(~std::uint64_t{0}, 8) + "{}", {"header length 18446744073709551615"});
}

TEST_CASE("safetensors rejects a header above the 100 MB cap") {
  check_rejected(le_bytes(100'000'001, 8) + "{}", {"header length 100000001", "100 MB limit"});
}

TEST_CASE("safetensors rejects a header that is not JSON or not an object") {
  check_rejected(safetensors_file("{\"w\": ", 0), {"not valid JSON"});
  check_rejected(safetensors_file("not json", 0), {"not valid JSON"});
  check_rejected(safetensors_file("[1, 2]", 0), {"not a JSON object"});
  check_rejected(safetensors_file("\"text\"", 0), {"not a JSON object"});
}

TEST_CASE("safetensors rejects a key that appears twice") {
  const std::string entry = R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  check_rejected(safetensors_file("{\"w\":" + entry + ",\"w\":" + entry + "}", 4),
                 {"'w' twice"});
}

TEST_CASE("safetensors rejects entries that are not objects or lack fields") {
  check_rejected(safetensors_file(R"({"w":[1,2]})", 0), {"tensor 'w' is not a JSON object"});
  check_rejected(safetensors_file(one_tensor(R"("shape":[1],"data_offsets":[0,4])"), 4),
                 {"tensor 'w' lacks 'dtype'"});
  check_rejected(safetensors_file(one_tensor(R"("dtype":"F32","data_offsets":[0,4])"), 4),
                 {"tensor 'w' lacks 'shape'"});
  check_rejected(safetensors_file(one_tensor(R"("dtype":"F32","shape":[1])"), 4),
                 {"tensor 'w' lacks 'data_offsets'"});
  check_rejected(
      safetensors_file(one_tensor(R"("dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1)"), 4),
      {"tensor 'w' has an unexpected key 'x'"});
}

TEST_CASE("safetensors rejects unknown and unsupported dtypes") {
  check_rejected(
      safetensors_file(one_tensor(R"("dtype":"Q7","shape":[1],"data_offsets":[0,4])"), 4),
      {"tensor 'w'", "unsupported dtype 'Q7'"});
  check_rejected(
      safetensors_file(one_tensor(R"("dtype":"F16","shape":[2],"data_offsets":[0,4])"), 4),
      {"tensor 'w'", "unsupported dtype 'F16'"});
  check_rejected(
      safetensors_file(one_tensor(R"("dtype":"BF16","shape":[2],"data_offsets":[0,4])"), 4),
      {"tensor 'w'", "unsupported dtype 'BF16'"});
  check_rejected(safetensors_file(one_tensor(R"("dtype":32,"shape":[1],"data_offsets":[0,4])"), 4),
                 {"tensor 'w'", "dtype is not a string"});
}

TEST_CASE("safetensors rejects negative, non-integer and absurd dimensions") {
  check_rejected(
      safetensors_file(one_tensor(R"("dtype":"F32","shape":[-1,2],"data_offsets":[0,4])"), 4),
      {"tensor 'w'", "shape [-1,2] holds a negative number"});
  check_rejected(
      safetensors_file(one_tensor(R"("dtype":"F32","shape":[1.5],"data_offsets":[0,4])"), 4),
      {"tensor 'w'", "other than integers"});
  check_rejected(safetensors_file(one_tensor(R"("dtype":"F32","shape":3,"data_offsets":[0,4])"), 4),
                 {"tensor 'w'", "shape is not an array"});
  check_rejected(
      safetensors_file(
          one_tensor(R"("dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4])"), 4),
      {"tensor 'w'", "absurdly large"});
}

TEST_CASE("safetensors rejects bad data_offsets") {
  check_rejected(
      safetensors_file(one_tensor(R"("dtype":"F32","shape":[1],"data_offsets":[4,0])"), 4),
      {"tensor 'w'", "[4, 0] begin after they end"});
  check_rejected(
      safetensors_file(one_tensor(R"("dtype":"F32","shape":[1],"data_offsets":[4,8])"), 4),
      {"tensor 'w'", "[4, 8] reach beyond the 4-byte data buffer"});
  check_rejected(
      safetensors_file(one_tensor(R"("dtype":"F32","shape":[1],"data_offsets":[0])"), 4),
      {"tensor 'w'", "must be [begin, end]"});
  check_rejected(
      safetensors_file(one_tensor(R"("dtype":"F32","shape":[1],"data_offsets":[-1,3])"), 4),
      {"tensor 'w'", "negative"});
}

TEST_CASE("safetensors rejects a byte span that does not match dtype and shape") {
  check_rejected(
      safetensors_file(one_tensor(R"("dtype":"F64","shape":[2,3],"data_offsets":[0,24])"), 24),
      {"tensor 'w'", "span 24 bytes", "F64 of shape (2, 3) needs 48"});
}

TEST_CASE("safetensors rejects overlapping tensors") {
  check_rejected(safetensors_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                  R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                  12),
                 {"tensor 'b' at [4, 12] overlaps tensor 'a'"});
}

TEST_CASE("safetensors rejects gaps and uncovered bytes") {
  check_rejected(safetensors_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                  R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                                  12),
                 {"bytes [4, 8)", "belong to no tensor", "gap before tensor 'b'"});
  check_rejected(
      safetensors_file(one_tensor(R"("dtype":"F32","shape":[1],"data_offsets":[4,8])"), 8),
      {"bytes [0, 4)", "gap before tensor 'w'"});
  check_rejected(
      safetensors_file(one_tensor(R"("dtype":"F32","shape":[1],"data_offsets":[0,4])"), 6),
      {"bytes [4, 6) at the end of the data buffer belong to no tensor"});
  check_rejected(safetensors_file("{}", 3), {"bytes [0, 3) at the end"});
}

TEST_CASE("safetensors rejects __metadata__ that is not a string-to-string map") {
  check_rejected(safetensors_file(R"({"__metadata__":["a"]})", 0),
                 {"__metadata__ is not a JSON object"});
  check_rejected(safetensors_file(R"({"__metadata__":{"epoch":12}})", 0),
                 {"__metadata__ must map strings to strings", "'epoch' holds 12"});
}

TEST_CASE("safetensors reports a missing file as an IoError") {
  TempDir dir;
  const std::string path = dir.file("absent.safetensors");
  check_error<IoError>([&] { SafetensorsFile::open(path); }, {path, "No such file or directory"});
}
