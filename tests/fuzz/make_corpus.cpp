// Writes the generated part of the fuzzers' seed corpus (the rest are copies of tests/data files).
// Not built by CI; the corpus it wrote is committed. From the repository root:
//   g++ -std=c++20 -I include -isystem /usr/include/eigen3 tests/fuzz/make_corpus.cpp -o /tmp/mc
//   /tmp/mc tests/fuzz/corpus
//   cp tests/data/npy/*.npy tests/fuzz/corpus/npy/
//   cp tests/data/safetensors/linear.safetensors tests/fuzz/corpus/safetensors/

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <tuple>
#include <vector>

#include "cnnlstm/io/npy.hpp"
#include "cnnlstm/io/safetensors.hpp"
#include "cnnlstm/io/model_file.hpp"
#include "cnnlstm/train/train_config.hpp"

using namespace cnnlstm;

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void npy_seeds(const std::string& dir) {
  const std::vector<std::uint8_t> bytes{0, 1, 255};
  save_npy(dir + "/u1_vector.npy", bytes.data(), {3});
  const bool flags[4] = {true, false, false, true};
  save_npy(dir + "/b1_matrix.npy", flags, {2, 2});
  const std::vector<std::int32_t> ints{-1, 2, 3, 4, 5, 6};
  save_npy(dir + "/i4_empty_rows.npy", ints.data(), {0, 3});
  // Version 2.0 and 3.0 headers: the same dict with a 4-byte length field.
  const std::string v1 = format_npy_header(DType::F32, {2});
  const std::string data(8, '\0');
  const std::string dict = v1.substr(10, v1.size() - 13) + "\n";  // two padding spaces fewer
  for (char major : {'\x02', '\x03'}) {
    std::string v = v1.substr(0, 6) + major + '\0';
    for (int i = 0; i < 4; ++i) v += static_cast<char>(dict.size() >> (8 * i) & 0xFF);
    write_all(dir + "/f4_version" + std::to_string(major) + ".npy", v + dict + data);
  }
  // Near-valid: Fortran order, a big-endian dtype, data one byte short.
  std::string fortran = v1;
  fortran.replace(fortran.find("False"), 5, "True ");
  write_all(dir + "/fortran_order.npy", fortran + data);
  std::string big_endian = v1;
  big_endian[big_endian.find("<f4") ] = '>';
  write_all(dir + "/big_endian.npy", big_endian + data);
  write_all(dir + "/truncated.npy", v1 + data.substr(1));
}

// A small model of each kind (few parameters, so the files stay small).
ModelSpec tiny_spec(bool cnn, bool lstm) {
  ModelSpec spec;
  if (cnn) {
    spec.cnn = CnnBranchOptions{};
    spec.cnn->in_channels = 2;
    spec.cnn->patch = 2;
    spec.cnn->conv_channels = {2};
    spec.cnn->features = 2;
    if (!lstm) spec.cnn->fc_name = "fc1";
  }
  if (lstm) {
    spec.lstm = LstmBranchOptions{};
    spec.lstm->input_size = 1;
    spec.lstm->hidden_size = 1;
    spec.lstm->num_layers = 1;
    spec.lstm->features = 2;
    if (!cnn) spec.lstm->fc_name = "fc_1";
  }
  spec.head.name = cnn && lstm ? "fc_final" : cnn ? "fc2" : "fc_2";
  return spec;
}

void safetensors_seeds(const std::string& dir) {
  {
    auto model = build_model<float>(tiny_spec(true, true));
    std::visit([](auto& m) { m.initialize(1); }, model);
    save_model(dir + "/cnn_lstm_model.safetensors", model);
  }
  {
    auto model = build_model<float>(tiny_spec(false, true));
    std::visit(
        [](auto& m) {
          m.initialize(2);
          m.set_target_scaling({{1.5}, {0.25}});
        },
        model);
    save_model(dir + "/lstm_model_scaled.safetensors", model);
  }
  // PyTorch-style exports (no cnnlstm metadata): the architecture is inferred.
  for (const auto& [name, cnn, lstm] : {std::tuple{"cnn", true, false}, std::tuple{"lstm", false, true},
                                        std::tuple{"cnn_lstm", true, true}}) {
    auto model = build_model<float>(tiny_spec(cnn, lstm));
    std::visit(
        [&](auto& m) {
          m.initialize(3);
          write_parameters(dir + "/" + name + "_pytorch_export.safetensors", m.parameters(), {});
        },
        model);
  }
  const std::vector<double> f64{1.0, -2.0};
  const std::vector<std::int64_t> i64{7, -7, 1};
  const std::vector<std::uint8_t> u8{0, 1};
  save_safetensors<double>(dir + "/f64_f32.safetensors",
                           {{"a", DType::F64, {2}, f64.data()}, {"b", DType::F32, {2, 1}, f64.data()}},
                           {{"format", "pt"}});
  save_safetensors<std::uint8_t>(dir + "/bool_u8.safetensors",
                                 {{"flag", DType::Bool, {2}, u8.data()}, {"u", DType::U8, {1}, u8.data()}});
  save_safetensors<std::int64_t>(dir + "/i64_i32_u8.safetensors",
                                 {{"i", DType::I64, {3}, i64.data()},
                                  {"j", DType::I32, {1, 3}, i64.data()},
                                  {"k", DType::U8, {0}, i64.data()}});
  // Near-valid: the last data byte dropped (a gap in coverage).
  const std::string whole = read_all(dir + "/f64_f32.safetensors");
  write_all(dir + "/short_data.safetensors", whole.substr(0, whole.size() - 1));
}

void config_seeds(const std::string& dir) {
  write_all(dir + "/train_config.json", to_json(TrainConfig{}).dump(1));
  write_all(dir + "/partial_config.json",
            R"({"model_name": "LSTM_lsp", "lr": 0.001, "batch_size": 64, "epochs": 10,)"
            R"( "head_hidden": [4, 2], "num_channels": 10, "lstm_input_size": 11})");
  write_all(dir + "/config_typo.json", R"({"model_name": "CNN-LSTM_evi", "lstm_hiden_size": 8})");
  write_all(dir + "/config_out_of_range.json", R"({"lstm_dropout": 1.0, "threads": -1})");
  write_all(dir + "/model_spec.json", to_json(paper_spec("CNN-LSTM_evi_lsp")).dump(1));
  write_all(dir + "/model_spec_custom.json",
            R"({"variant": "LSTM_F3", "lstm": {"input_size": 3, "hidden_size": 4}, )"
            R"("head": {"hidden": [8], "outputs": 2}})");
  write_all(dir + "/target_scaling.json", R"({"mean": [1.5, -2], "scale": [0.5, 3e2]})");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_corpus CORPUS_DIR\n";
    return 2;
  }
  const std::string root = argv[1];
  for (const char* name : {"npy", "safetensors", "config"})
    std::filesystem::create_directories(root + "/" + name);
  npy_seeds(root + "/npy");
  safetensors_seeds(root + "/safetensors");
  config_seeds(root + "/config");
  return 0;
}
