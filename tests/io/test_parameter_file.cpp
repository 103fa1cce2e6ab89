#include <doctest/doctest.h>

#include <cnnlstm/io/parameter_file.hpp>
#include <string>
#include <vector>

#include "io_test_support.hpp"

using namespace cnnlstm;
using io_test::check_error;
using io_test::TempDir;

namespace {

const std::string data_dir = std::string(CNNLSTM_TEST_DATA_DIR) + "/safetensors/";

// A small model's layout: a convolution and a linear layer.
ParameterLayout small_layout() {
  ParameterLayout layout;
  layout.add("conv1.weight", {2, 1, 2, 2});
  layout.add("conv1.bias", {2});
  layout.add("fc.weight", {1, 8});
  layout.add("fc.bias", {1});
  return layout;
}

template <class T>
Parameters<T> counting_parameters(const ParameterLayout& layout, T scale) {
  Parameters<T> params(layout);
  for (std::size_t i = 0; i < params.values().size(); ++i)
    params.values()[i] = scale * static_cast<T>(i);
  return params;
}

}  // namespace

TEST_CASE("write_parameters and read_parameters round-trip a model") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  const auto saved = counting_parameters<double>(small_layout(), 0.1);
  write_parameters(path, saved, {{"model", "small"}}, DType::F64);
  const auto file = SafetensorsFile::open(path);
  CHECK(file.names() ==
        std::vector<std::string>{"conv1.weight", "conv1.bias", "fc.weight", "fc.bias"});
  CHECK(file.info("conv1.weight").shape == std::vector<Index>{2, 1, 2, 2});
  CHECK(file.metadata().at("model") == "small");
  Parameters<double> loaded(small_layout());
  read_parameters(file, loaded);
  CHECK(loaded.values() == saved.values());
}

TEST_CASE("write_parameters stores F32 by default, which loads into either precision") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  const auto saved = counting_parameters<double>(small_layout(), 0.5);  // exact in float
  write_parameters(path, saved, {});
  CHECK(SafetensorsFile::open(path).info("fc.weight").dtype == DType::F32);
  Parameters<float> as_float(small_layout());
  load_parameters(path, as_float);
  CHECK(as_float.values()[11] == 5.5f);
  Parameters<double> as_double(small_layout());
  load_parameters(path, as_double);
  CHECK(as_double.values() == saved.values());
}

TEST_CASE("read_parameters lists every missing, unexpected and mis-shaped tensor") {
  TempDir dir;
  const std::string path = dir.file("other.safetensors");
  ParameterLayout other;
  other.add("conv1.weight", {2, 1, 3, 3});  // mis-shaped
  other.add("conv1.bias", {2});
  other.add("fc.weight", {1, 8});
  other.add("fc2.bias", {4});  // extra; fc.bias is missing
  write_parameters(path, counting_parameters<float>(other, 1.f), {});

  auto params = counting_parameters<float>(small_layout(), -1.f);
  const auto before = params.values();
  check_error<ShapeError>(
      [&] { load_parameters(path, params); },
      {path, "3 problems",
       "tensor 'conv1.weight' has shape (2, 1, 3, 3), the model expects (2, 1, 2, 2)",
       "missing tensor 'fc.bias' (the model expects shape (1))",
       "unexpected tensor 'fc2.bias' with shape (4)"});
  CHECK(params.values() == before);
}

TEST_CASE("read_parameters that fails on a later tensor leaves the parameters unchanged") {
  TempDir dir;
  const std::string path = dir.file("ints.safetensors");
  ParameterLayout layout;
  layout.add("a", {2});
  layout.add("b", {2});
  const std::int64_t values[] = {1, 2};
  save_safetensors<std::int64_t>(path,
                                 {{"a", DType::I64, {2}, values}, {"b", DType::F32, {2}, values}});
  Parameters<std::int64_t> int_params(layout);
  // "a" loads, then "b" is refused: nothing may have changed.
  check_error<FormatError>([&] { load_parameters(path, int_params); }, {path, "'b'", "F32", "I64"});
  CHECK(int_params.values()[0] == 0);
}

TEST_CASE("read_parameters loads a PyTorch-style file whose order differs from the model's") {
  ParameterLayout layout;
  layout.add("fc.weight", {2, 3});
  layout.add("fc.bias", {2});
  Parameters<float> params(layout);
  load_parameters(data_dir + "linear.safetensors", params);
  const std::vector<float> expected{0, 0.5f, 1, 1.5f, 2, 2.5f, 0.25f, -1.5f};
  CHECK(std::vector<float>(params.values().begin(), params.values().end()) == expected);
}
