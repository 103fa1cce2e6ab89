#include <doctest/doctest.h>

#include <cnnlstm/io/npy.hpp>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "io_test_support.hpp"

using namespace cnnlstm;
using io_test::check_error;
using io_test::le_bytes;
using io_test::npy_file;
using io_test::raw_bytes;
using io_test::read_bytes;
using io_test::TempDir;
using io_test::write_bytes;

namespace {

const std::string data_dir = std::string(CNNLSTM_TEST_DATA_DIR) + "/npy/";

template <class T>
void check_round_trip(const std::vector<T>& values, const std::vector<Index>& shape) {
  TempDir dir;
  const std::string path = dir.file("a.npy");
  save_npy(path, values.data(), shape);
  const NpyArray<T> loaded = load_npy<T>(path);
  CHECK(loaded.shape == shape);
  CHECK(loaded.data == values);
}

}  // namespace

TEST_CASE("save_npy and load_npy round-trip every dtype") {
  check_round_trip<float>({1.5f, -2.25f, 3e-38f, 1e38f, 0.f, -0.f}, {2, 3});
  check_round_trip<double>({1.0 / 3.0, -1e300, 4.9e-324}, {3});
  check_round_trip<std::int32_t>({INT32_MIN, -1, 0, INT32_MAX}, {2, 1, 2});
  check_round_trip<std::int64_t>({INT64_MIN, 42, INT64_MAX}, {3, 1});
  check_round_trip<std::uint8_t>({0, 7, 255, 128}, {4});
  check_round_trip<double>({2.5}, {});
  check_round_trip<float>({}, {0, 3});
}

TEST_CASE("save_npy writes booleans as '|b1', which load as 0 and 1") {
  TempDir dir;
  const bool flags[] = {true, false, true};
  save_npy(dir.file("b.npy"), flags, {3});
  CHECK(read_bytes(dir.file("b.npy")).find("'descr': '|b1'") != std::string::npos);
  CHECK(load_npy<std::uint8_t>(dir.file("b.npy")).data == std::vector<std::uint8_t>{1, 0, 1});
  CHECK(load_npy<float>(dir.file("b.npy")).data == std::vector<float>{1, 0, 1});
}

TEST_CASE("save_npy writes NumPy's version 1.0 layout, padded to 64 bytes") {
  TempDir dir;
  const float values[] = {1, 2, 3};
  save_npy(dir.file("a.npy"), values, {3});
  const std::string bytes = read_bytes(dir.file("a.npy"));
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
  header.resize(117, ' ');
  header += '\n';
  REQUIRE(bytes.size() == 128 + 12);
  CHECK(bytes.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
  CHECK(bytes.substr(8, 2) == le_bytes(118, 2));
  CHECK(bytes.substr(10, 118) == header);
  CHECK(bytes.substr(128) == raw_bytes(std::vector<float>{1, 2, 3}));
}

TEST_CASE("save_npy writes shapes as Python tuples") {
  TempDir dir;
  const double x = 1;
  using Case = std::pair<std::vector<Index>, std::string>;
  for (const auto& [shape, literal] : {Case{{}, "()"}, Case{{1}, "(1,)"}, Case{{1, 1}, "(1, 1)"}}) {
    save_npy(dir.file("a.npy"), &x, shape);
    CHECK(read_bytes(dir.file("a.npy")).find("'shape': " + literal + ", }") != std::string::npos);
  }
}

TEST_CASE("save_npy switches to version 2.0 when the header exceeds 65535 bytes") {
  TempDir dir;
  const std::vector<Index> shape(22000, 1);  // "(1, 1, ..." takes 66000 characters
  const float x = 7;
  save_npy(dir.file("long.npy"), &x, shape);
  const std::string bytes = read_bytes(dir.file("long.npy"));
  CHECK(bytes[6] == 2);
  CHECK((bytes.size() - 4) % 64 == 0);
  const auto loaded = load_npy<float>(dir.file("long.npy"));
  CHECK(loaded.shape == shape);
  CHECK(loaded.data == std::vector<float>{7});
}

TEST_CASE("save_npy accepts a tensor and load_npy_tensor restores it") {
  TempDir dir;
  Tensor<double, 3> t(2, 3, 4);
  for (Index i = 0; i < t.size(); ++i) t.data()[i] = 0.5 * static_cast<double>(i);
  save_npy(dir.file("t.npy"), t);
  const Tensor<double, 3> back = load_npy_tensor<double, 3>(dir.file("t.npy"));
  CHECK(back.dimensions() == t.dimensions());
  CHECK(back(1, 2, 3) == t(1, 2, 3));
  CHECK(back(0, 1, 0) == 2.0);
}

TEST_CASE("load_npy reads versions 2.0 and 3.0") {
  TempDir dir;
  const std::vector<std::int32_t> values{5, -6, 7, -8};
  for (int major : {2, 3}) {
    CAPTURE(major);
    const std::string path = dir.file(std::to_string(major) + ".npy");
    write_bytes(path, npy_file(major, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }",
                               raw_bytes(values)));
    const auto loaded = load_npy<std::int32_t>(path);
    CHECK(loaded.shape == std::vector<Index>{2, 2});
    CHECK(loaded.data == values);
  }
}

TEST_CASE("read_npy_header reports dtype, shape and where the data starts") {
  std::istringstream in(
      npy_file(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4, 5), }", ""));
  const NpyHeader header = read_npy_header(in, "memory");
  CHECK(header.dtype == DType::F64);
  CHECK(header.shape == std::vector<Index>{4, 5});
  CHECK(header.data_offset == 128);
  CHECK(header.data_size() == 160);
  CHECK(in.tellg() == 128);
}

TEST_CASE("The header parser tolerates spacing, key order, quotes and trailing commas") {
  TempDir dir;
  const std::string path = dir.file("a.npy");
  const std::string data = raw_bytes(std::vector<std::uint8_t>{1, 2, 3, 4, 5, 6});
  for (const std::string dict :
       {"{'shape': (2, 3), 'fortran_order': False, 'descr': '|u1'}",
        "{ \"descr\" : \"<u1\" ,\n 'shape':(2,3,),'fortran_order':False , }",
        "{'descr':'|u1','fortran_order':False,'shape':(2L, 3L)}",
        "\t{'descr': '|u1', 'fortran_order': False, 'shape': ( 2 , 3 ) ,}  "}) {
    CAPTURE(dict);
    write_bytes(path, npy_file(1, dict, data));
    const auto loaded = load_npy<std::uint8_t>(path);
    CHECK(loaded.shape == std::vector<Index>{2, 3});
    CHECK(loaded.data == std::vector<std::uint8_t>{1, 2, 3, 4, 5, 6});
  }
}

TEST_CASE("load_npy converts integer and float dtypes to the requested type") {
  TempDir dir;
  const std::string path = dir.file("a.npy");
  const std::vector<std::int64_t> ints{-3, 0, 1000000};
  save_npy(path, ints.data(), {3});
  CHECK(load_npy<float>(path).data == std::vector<float>{-3, 0, 1e6f});
  CHECK(load_npy<double>(path).data == std::vector<double>{-3, 0, 1e6});
  CHECK(load_npy<std::int32_t>(path).data == std::vector<std::int32_t>{-3, 0, 1000000});

  const std::vector<double> doubles{0.5, -1.25, 1.0 / 3.0};
  save_npy(path, doubles.data(), {3});
  CHECK(load_npy<float>(path).data ==
        std::vector<float>{0.5f, -1.25f, static_cast<float>(1.0 / 3.0)});

  const std::vector<std::uint8_t> bytes{0, 200, 255};
  save_npy(path, bytes.data(), {3});
  CHECK(load_npy<std::int64_t>(path).data == std::vector<std::int64_t>{0, 200, 255});
}

TEST_CASE("load_npy converts long arrays chunk by chunk") {
  TempDir dir;
  std::vector<std::int32_t> values(20000);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<std::int32_t>(i) - 7;
  save_npy(dir.file("a.npy"), values.data(), {100, 200});
  const auto loaded = load_npy<double>(dir.file("a.npy"));
  REQUIRE(loaded.data.size() == values.size());
  bool all_equal = true;
  for (std::size_t i = 0; i < values.size(); ++i) all_equal &= loaded.data[i] == values[i];
  CHECK(all_equal);
}

TEST_CASE("load_npy_tensor checks the rank") {
  TempDir dir;
  const std::string path = dir.file("matrix.npy");
  const float values[] = {1, 2, 3, 4, 5, 6};
  save_npy(path, values, {2, 3});
  check_error<ShapeError>([&] { load_npy_tensor<float, 3>(path); }, {path, "rank 3", "(2, 3)"});
  const auto matrix = load_npy_tensor<float, 2>(path);
  CHECK(matrix(1, 0) == 4);
}

TEST_CASE("load_npy reads files written by NumPy") {
  const auto nchw = load_npy_tensor<float, 4>(data_dir + "f4_nchw.npy");
  CHECK(nchw.dimensions() == Shape<4>{2, 1, 2, 3});
  CHECK(nchw(0, 0, 0, 1) == 0.25f);
  CHECK(nchw(1, 0, 1, 2) == 2.75f);

  const auto ints = load_npy<std::int64_t>(data_dir + "i8_vector.npy");
  CHECK(ints.shape == std::vector<Index>{4});
  CHECK(ints.data == std::vector<std::int64_t>{-3, 0, 7, std::int64_t{1} << 40});

  const auto scalar = load_npy_tensor<double, 0>(data_dir + "f8_scalar.npy");
  CHECK(scalar() == 2.5);
  CHECK(load_npy<float>(data_dir + "f8_scalar.npy").shape.empty());
}
