// Sample tables and configuration files are read strictly: a CSV number is decimal and in range
// (never hexadecimal), spaces around a field count on neither side, a semicolon-separated table
// is recognised, site ids name each site once; a JSON key given twice is an error, at any depth.

#include <doctest/doctest.h>
#include <unistd.h>

#include <cnnlstm/train/dataset.hpp>
#include <cnnlstm/core/json_reader.hpp>

#include <filesystem>
#include <fstream>

using namespace cnnlstm;
namespace fs = std::filesystem;

namespace {

struct TableDir {
  fs::path path = fs::temp_directory_path() / ("cnnlstm_tables_" + std::to_string(::getpid()));
  TableDir() { fs::create_directories(path); }
  ~TableDir() { fs::remove_all(path); }
  std::string text(const std::string& name, const std::string& content) const {
    const auto file = (path / name).string();
    std::ofstream(file) << content;
    return file;
  }
};

// The soc column of a one-row table "id,soc\n1,<field>".
std::vector<double> soc_of(const TableDir& dir, const std::string& field) {
  return CsvTable::read(dir.text("t.csv", "id,soc\n1," + field + "\n")).numbers("soc");
}

}  // namespace

TEST_CASE("CSV numbers are decimal: hexadecimal is refused, not read as 16") {
  TableDir dir;
  CHECK_THROWS_WITH_AS(soc_of(dir, "0x10"), doctest::Contains("'0x10' is not a number (hexadecimal"), DataError);
  CHECK_THROWS_WITH_AS(soc_of(dir, "0x1p4"), doctest::Contains("'0x1p4' is not a number"), DataError);
  CHECK_THROWS_WITH_AS(soc_of(dir, "-0x10"), doctest::Contains("is not a number"), DataError);
  CHECK(soc_of(dir, "12.5") == std::vector<double>{12.5});
  CHECK(soc_of(dir, "+1.5e1") == std::vector<double>{15});
  CHECK(soc_of(dir, "-2") == std::vector<double>{-2});
  CHECK_THROWS_AS(soc_of(dir, "+-2"), DataError);
  CHECK_THROWS_AS(soc_of(dir, ""), DataError);
}

TEST_CASE("CSV: spaces around a number are accepted on both sides alike") {
  TableDir dir;
  CHECK(soc_of(dir, " 5") == std::vector<double>{5});
  CHECK(soc_of(dir, "12.5 ") == std::vector<double>{12.5});
  CHECK(soc_of(dir, "\t7 ") == std::vector<double>{7});
  CHECK_THROWS_AS(soc_of(dir, "1 2"), DataError);
  const auto spaced = dir.text("spaced.csv", "id , soc\n1, 12.5 \n");
  CHECK(targets_from_csv<float>(spaced, {"soc"})(0, 0) == 12.5f);
}

TEST_CASE("CSV: a number beyond a double's range is reported as out of range") {
  TableDir dir;
  CHECK_THROWS_WITH_AS(soc_of(dir, "1e400"), doctest::Contains("line 2, column 'soc': 1e400 is out of the range of a double"),
                       DataError);
  CHECK_THROWS_WITH_AS(soc_of(dir, "-1e400"), doctest::Contains("out of the range"), DataError);
  CHECK_THROWS_WITH_AS(soc_of(dir, "inf"), doctest::Contains("is not a finite number"), DataError);
}

TEST_CASE("CSV: a semicolon-separated table is recognised, and a decimal comma is named") {
  TableDir dir;
  const auto table = CsvTable::read(dir.text("semi.csv", "id;x;y;soc\n1;10;20;12.5\n2;11;21;8\n"));
  CHECK(table.separator() == ';');
  CHECK(table.numbers("soc") == std::vector<double>{12.5, 8});
  const auto comma = dir.text("comma.csv", "id;soc\n1;12,5\n");
  CHECK_THROWS_WITH_AS(CsvTable::read(comma).numbers("soc"), doctest::Contains("a decimal comma? write it with a point: 12.5"),
                       DataError);
  const auto mixed = dir.text("mixed.csv", "id,soc\n1;12.5\n");
  CHECK_THROWS_WITH_AS(CsvTable::read(mixed), doctest::Contains("the separator looks like ';' on this line"), FormatError);
  CHECK(CsvTable::read(dir.text("tab.csv", "id\tsoc\n1\t3\n")).numbers("soc") == std::vector<double>{3});
  CHECK(CsvTable::read(dir.text("quoted.csv", "\"a;b\",soc\n1,2\n")).separator() == ',');
}

TEST_CASE("CSV targets: rows follow the table's order; a site id given twice is refused") {
  TableDir dir;
  // The arrays carry no site ids: row i of the table is row i of the arrays, whatever its id says.
  const auto y = targets_from_csv<float>(dir.text("order.csv", "id,soc\n7,1\n3,2\n5,3\n"), {"soc"});
  CHECK(y(0, 0) == 1.f);
  CHECK(y(1, 0) == 2.f);
  CHECK(y(2, 0) == 3.f);
  const auto twice = dir.text("twice.csv", "id,soc\n7,1\n3,2\n 7,3\n");
  CHECK_THROWS_WITH_AS(targets_from_csv<float>(twice, {"soc"}), doctest::Contains("site id '7' is on line 2 and on line 4"),
                       DataError);
}

TEST_CASE("JSON: a key given twice is refused at any depth, naming its path") {
  CHECK_THROWS_WITH_AS(parse_json_strict(R"({"lr": 0.001, "lr": 10})", "c.json"),
                       doctest::Contains("c.json: key \"lr\" is given twice"), ConfigError);
  CHECK_THROWS_WITH_AS(parse_json_strict(R"({"model": {"lstm": {"layers": 2, "layers": 3}}})", "c.json"),
                       doctest::Contains("key \"model.lstm.layers\" is given twice"), ConfigError);
  CHECK_THROWS_WITH_AS(parse_json_strict(R"({"a": [{"k": 1, "k": 2}]})", "c.json"), doctest::Contains("\"a.k\" is given twice"),
                       ConfigError);
  CHECK_THROWS_WITH_AS(parse_json_strict(R"({"lr": )", "c.json"), doctest::Contains("c.json: not valid JSON"), ConfigError);
  // The same key in sibling objects is two keys.
  const auto ok = parse_json_strict(R"({"a": {"k": 1}, "b": {"k": 2}, "c": [{"k": 3}, {"k": 4}]})", "c.json");
  CHECK(ok["b"]["k"] == 2);
  CHECK(ok["c"][1]["k"] == 4);
}
