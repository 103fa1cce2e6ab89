// Inputs found by the fuzz harnesses (tests/fuzz), minimised: each once escaped the parsers as
// something other than a cnnlstm::Error (a JSON library exception, std::out_of_range, undefined
// behaviour, a huge allocation). Each must now be a clear error naming the file and the problem.

#include <doctest/doctest.h>

#include <cnnlstm/io/safetensors.hpp>
#include <cnnlstm/io/model_file.hpp>
#include <cnnlstm/train/train_config.hpp>
#include <map>
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

// One F32 tensor entry of a header: "name":{"dtype":"F32","shape":[...],"data_offsets":[b,e]}.
std::string f32_entry(const std::string& name, const std::string& shape, std::size_t begin,
                      std::size_t end) {
  return "\"" + name + R"(":{"dtype":"F32","shape":[)" + shape + R"(],"data_offsets":[)" +
         std::to_string(begin) + "," + std::to_string(end) + "]}";
}

// Writes `bytes` and checks that load_model<float> throws E naming the file and every fragment.
template <class E>
void check_model_rejected(const std::string& bytes, std::vector<std::string> fragments) {
  TempDir dir;
  const std::string path = dir.file("fuzz.safetensors");
  write_bytes(path, bytes);
  fragments.push_back(path);
  check_error<E>([&] { load_model<float>(path); }, fragments);
}

// A small LSTM model (input 1, hidden 1, one layer) saved with the given "model" metadata entry.
std::string lstm_file_with_model_metadata(const TempDir& dir, const std::string& model_json) {
  ModelSpec spec;
  spec.lstm = LstmBranchOptions{};
  spec.lstm->input_size = 1;
  spec.lstm->hidden_size = 1;
  spec.lstm->num_layers = 1;
  spec.lstm->features = 2;
  spec.lstm->fc_name = "fc_1";
  spec.head.name = "fc_2";
  const auto model = build_model<float>(spec);
  const std::string path = dir.file("model.safetensors");
  std::visit(
      [&](const auto& m) {
        write_parameters(path, m.parameters(), {{"format", "cnnlstm-model"}, {"model", model_json}});
      },
      model);
  return path;
}

}  // namespace

TEST_CASE("fuzz: a safetensors header with a number beyond double is a FormatError") {
  // Was nlohmann::json::out_of_range (406, number overflow) escaping SafetensorsFile::open.
  TempDir dir;
  const std::string path = dir.file("fuzz.safetensors");
  write_bytes(path, le_bytes(8, 8) + "[7e308<<");
  check_error<FormatError>([&] { SafetensorsFile::open(path); },
                           {path, "header is not valid JSON", "number overflow", "7e308"});
  write_bytes(path, safetensors_file(R"({"__metadata__":{"a":"b"},"w":{"dtype":"F32","shape":[1e999]}})", 0));
  check_error<FormatError>([&] { SafetensorsFile::open(path); }, {path, "not valid JSON", "1e999"});
}

TEST_CASE("fuzz: model metadata with a number beyond double is a FormatError") {
  TempDir dir;
  const std::string path = lstm_file_with_model_metadata(dir, R"({"variant": "LSTM_evi", "x": 1e999})");
  check_error<FormatError>([&] { load_model<float>(path); },
                           {path, "the metadata entry \"model\" is not valid JSON", "number overflow"});
}

TEST_CASE("fuzz: model metadata asking for far larger layers than the file holds allocates nothing") {
  // Was a 16 TB allocation (lstm.hidden_size 999999) from a 1 kB file: the model was built from
  // the metadata before its tensors were compared with the file's.
  TempDir dir;
  const std::string path = lstm_file_with_model_metadata(
      dir, R"({"variant": "LSTM_evi", "lstm": {"input_size": 1, "hidden_size": 99999, "num_layers": 1,
               "features": 2, "fc_name": "fc_1"}, "head": {"name": "fc_2"}})");
  check_error<ShapeError>([&] { load_model<float>(path); },
                          {path, "the tensors do not match the model",
                           "tensor 'lstm.weight_hh_l0' has shape (4, 1), the model expects (399996, 99999)"});
  // Larger still, the model could not exist at all: a FormatError before anything is allocated.
  const std::string huge = lstm_file_with_model_metadata(
      dir, R"({"variant": "LSTM_evi", "lstm": {"input_size": 1, "hidden_size": 999999, "num_layers": 1,
               "features": 2, "fc_name": "fc_1"}, "head": {"name": "fc_2"}})");
  check_error<FormatError>([&] { load_model<float>(huge); },
                           {huge, "the model it describes is impossible", "makes the model larger than"});
}

TEST_CASE("fuzz: model metadata with an absurd conv width is a FormatError") {
  // Was a signed overflow (undefined behaviour) declaring the parameters of a 2^62-channel conv.
  TempDir dir;
  const std::string path = lstm_file_with_model_metadata(
      dir, R"({"cnn": {"in_channels": 2, "patch": 2, "conv_channels": [4611686018427387904]},
               "lstm": {"input_size": 1}})");
  check_error<FormatError>([&] { load_model<float>(path); },
                           {path, "key \"model.cnn.conv_channels\" must be in [1, 1000000], got 4611686018427387904"});
}

TEST_CASE("fuzz: an export whose tensors have the wrong rank or an empty dimension is a FormatError") {
  // Were std::out_of_range (lstm.weight_ih_l0 of rank 1), a read through a null pointer (conv2.weight
  // of rank 0), a heap overflow (fc1.weight of rank 1) and a signed overflow (lstm.weight_hh_l0 of
  // shape (0, 2^62), which holds no data) while inferring the architecture.
  check_model_rejected<FormatError>(
      safetensors_file("{" + f32_entry("lstm.weight_ih_l0", "4", 0, 16) + "}", 16),
      {"tensor 'lstm.weight_ih_l0' has shape (4)", "2 positive dimensions"});
  check_model_rejected<FormatError>(
      safetensors_file("{" + f32_entry("conv1.weight", "1,1,1,1", 0, 4) + "," +
                           f32_entry("conv2.weight", "", 4, 8) + "," + f32_entry("fc1.weight", "1,1", 8, 12) + "}",
                       12),
      {"tensor 'conv2.weight' has shape ()", "4 positive dimensions"});
  check_model_rejected<FormatError>(
      safetensors_file("{" + f32_entry("conv1.weight", "1,1,1,1", 0, 4) + "," + f32_entry("fc1.weight", "1", 4, 8) + "}",
                       8),
      {"tensor 'fc1.weight' has shape (1)", "2 positive dimensions"});
  check_model_rejected<FormatError>(
      safetensors_file("{" + f32_entry("lstm.weight_ih_l0", "4,1", 0, 16) + "," +
                           f32_entry("lstm.weight_hh_l0", "0,4611686018427387904", 16, 16) + "," +
                           f32_entry("fc_1.weight", "1,1", 16, 20) + "," + f32_entry("fc_2.weight", "1,1", 20, 24) +
                           "}",
                       24),
      {"tensor 'lstm.weight_hh_l0' has shape (0, 4611686018427387904)", "2 positive dimensions"});
}

TEST_CASE("fuzz: a configuration number beyond the key's type is a ConfigError, not wrapped around") {
  // "threads": 1e10 was a float-to-int overflow (undefined behaviour); 4294967297 wrapped to 1.
  const auto error = [](const std::string& json) {
    TrainConfig c;
    try {
      apply_train_config(nlohmann::json::parse(json), "c.json", c);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return "accepted, threads " + std::to_string(c.threads);
  };
  const std::string int_range = "must be a whole number from -2147483648 to 2147483647, got ";
  CHECK(error(R"({"threads": 1e10})") == "c.json: key \"threads\" " + int_range + "10000000000.0");
  CHECK(error(R"({"threads": 4294967297})") == "c.json: key \"threads\" " + int_range + "4294967297");
  CHECK(error(R"({"threads": 18446744073709551615})") ==
        "c.json: key \"threads\" " + int_range + "18446744073709551615");
  CHECK(error(R"({"rand_seed": -1})") ==
        "c.json: key \"rand_seed\" must be a whole number from 0 to 18446744073709551615, got -1");
  CHECK(error(R"({"threads": 4.0})") == "accepted, threads 4");
  CHECK(error(R"({"head_hidden": [2000000]})") ==
        "c.json: key \"head_hidden\" must be in [1, 1000000], got 2000000");
}
