#include <doctest/doctest.h>

#include <cnnlstm/io/safetensors.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "io_test_support.hpp"

using namespace cnnlstm;
using io_test::check_error;
using io_test::le_bytes;
using io_test::raw_bytes;
using io_test::read_bytes;
using io_test::TempDir;

namespace {

const std::string data_dir = std::string(CNNLSTM_TEST_DATA_DIR) + "/safetensors/";

template <class T>
std::vector<T> read_all(const SafetensorsFile& file, const std::string& name) {
  const auto& info = file.info(name);
  std::vector<T> values(static_cast<std::size_t>(info.element_count()));
  file.read(name, values.data(), info.shape);
  return values;
}

}  // namespace

TEST_CASE("save_safetensors and SafetensorsFile round-trip F32 and F64 with metadata") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  const std::vector<double> weight{0.1, -0.2, 0.3, 1e-310, 5, 6};
  const std::vector<double> bias{1.0 / 3.0, -7.5};
  save_safetensors<double>(path,
                           {{"fc.weight", DType::F64, {2, 3}, weight.data()},
                            {"fc.bias", DType::F32, {2}, bias.data()}},
                           {{"model", "CNN"}, {"epoch", "10"}});
  const auto file = SafetensorsFile::open(path);
  CHECK(file.path() == path);
  CHECK(file.names() == std::vector<std::string>{"fc.weight", "fc.bias"});
  CHECK(file.metadata() == std::map<std::string, std::string>{{"model", "CNN"}, {"epoch", "10"}});
  CHECK(file.info("fc.weight").dtype == DType::F64);
  CHECK(file.info("fc.weight").shape == std::vector<Index>{2, 3});
  CHECK(file.info("fc.bias").dtype == DType::F32);
  CHECK(read_all<double>(file, "fc.weight") == weight);
  CHECK(read_all<double>(file, "fc.bias") ==
        std::vector<double>{static_cast<float>(1.0 / 3.0), -7.5});
  CHECK(read_all<float>(file, "fc.weight") ==
        std::vector<float>{0.1f, -0.2f, 0.3f, static_cast<float>(1e-310), 5, 6});
}

TEST_CASE("save_safetensors round-trips the integer and boolean dtypes") {
  TempDir dir;
  const std::string path = dir.file("ints.safetensors");
  const std::vector<std::int64_t> values{-5, 255, 0, 1};
  save_safetensors<std::int64_t>(path, {{"i64", DType::I64, {4}, values.data()},
                                        {"i32", DType::I32, {2, 2}, values.data()},
                                        {"u8", DType::U8, {2}, values.data() + 1},
                                        {"flags", DType::Bool, {2}, values.data() + 2}});
  const auto file = SafetensorsFile::open(path);
  CHECK(read_all<std::int64_t>(file, "i64") == values);
  CHECK(read_all<std::int32_t>(file, "i32") == std::vector<std::int32_t>{-5, 255, 0, 1});
  CHECK(read_all<std::uint8_t>(file, "u8") == std::vector<std::uint8_t>{255, 0});
  CHECK(read_all<float>(file, "flags") == std::vector<float>{0, 1});
  CHECK(file.info("flags").dtype == DType::Bool);
}

TEST_CASE("save_safetensors handles scalars, empty tensors and no metadata") {
  TempDir dir;
  const std::string path = dir.file("odd.safetensors");
  const float x = 4.5f;
  save_safetensors<float>(path, {{"empty", DType::F32, {0, 3}, nullptr},
                                 {"scalar", DType::F64, {}, &x}});
  const auto file = SafetensorsFile::open(path);
  CHECK(file.metadata().empty());
  CHECK(file.info("empty").element_count() == 0);
  CHECK(read_all<float>(file, "scalar") == std::vector<float>{4.5f});
  CHECK(SafetensorsFile::open(path).names().size() == 2);

  save_safetensors<float>(path, {});
  CHECK(SafetensorsFile::open(path).names().empty());
}

TEST_CASE("save_safetensors writes the reference layout") {
  TempDir dir;
  const std::string path = dir.file("layout.safetensors");
  const std::vector<float> w{1, 2};
  save_safetensors<float>(path, {{"w", DType::F32, {2}, w.data()}}, {{"format", "pt"}});
  std::string json =
      R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  json.append((8 - json.size() % 8) % 8, ' ');
  CHECK(read_bytes(path) == le_bytes(json.size(), 8) + json + raw_bytes(w));
}

TEST_CASE("SafetensorsFile reads a file laid out like safetensors.torch.save_file") {
  const auto file = SafetensorsFile::open(data_dir + "linear.safetensors");
  CHECK(file.names() == std::vector<std::string>{"fc.bias", "fc.weight"});
  CHECK(file.metadata() == std::map<std::string, std::string>{{"format", "pt"}});
  CHECK(read_all<float>(file, "fc.bias") == std::vector<float>{0.25f, -1.5f});
  double weight[6];
  file.read("fc.weight", weight, {2, 3});
  CHECK(std::vector<double>(weight, weight + 6) == std::vector<double>{0, 0.5, 1, 1.5, 2, 2.5});
}

TEST_CASE("SafetensorsFile::read checks the shape, the name and the dtype") {
  TempDir dir;
  const std::string path = dir.file("m.safetensors");
  const std::vector<float> w{1, 2, 3, 4, 5, 6};
  save_safetensors<float>(path, {{"conv1.weight", DType::F32, {6, 1}, w.data()}});
  const auto file = SafetensorsFile::open(path);
  float out[6];
  check_error<ShapeError>([&] { file.read("conv1.weight", out, {2, 3}); },
                          {path, "'conv1.weight'", "(6, 1)", "(2, 3)"});
  check_error<FormatError>([&] { file.read("conv2.weight", out, {6, 1}); },
                           {path, "no tensor 'conv2.weight'"});
  std::int32_t ints[6];
  check_error<FormatError>([&] { file.read("conv1.weight", ints, {6, 1}); },
                           {path, "'conv1.weight'", "F32", "I32", "dropping fractions"});
  CHECK_FALSE(file.contains("conv2.weight"));
  CHECK(file.contains("conv1.weight"));
}

TEST_CASE("SafetensorsFile::read reports integers the target cannot hold") {
  TempDir dir;
  const std::string path = dir.file("big.safetensors");
  const std::int64_t big[] = {std::int64_t{1} << 40};
  save_safetensors<std::int64_t>(path, {{"big", DType::I64, {1}, big}});
  std::int32_t out[1];
  check_error<DataError>([&] { SafetensorsFile::open(path).read("big", out, {1}); },
                         {path, "'big'", "I32 cannot represent"});
}

TEST_CASE("save_safetensors rejects invalid entries before writing") {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  const float x[] = {1.5f};
  check_error<ConfigError>([&] { save_safetensors<float>(path, {{"x", DType::I32, {1}, x}}); },
                           {path, "'x'", "I32", "fractions"});
  check_error<ConfigError>(
      [&] {
        save_safetensors<float>(path, {{"x", DType::F32, {1}, x}, {"x", DType::F32, {1}, x}});
      },
      {path, "'x' is given twice"});
  check_error<ConfigError>(
      [&] { save_safetensors<float>(path, {{"__metadata__", DType::F32, {1}, x}}); },
      {path, "'__metadata__' is not a valid tensor name"});
  check_error<ShapeError>([&] { save_safetensors<float>(path, {{"x", DType::F32, {-1}, x}}); },
                          {path, "'x'", "(-1)"});
  CHECK(dir.listing().empty());
}
