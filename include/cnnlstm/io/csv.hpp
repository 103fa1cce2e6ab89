#pragma once
// A sample table in CSV: a header row naming the columns, then one row per sampling site, e.g.
//   id,x,y,soc
//   17,512375.0,4398625.0,12.4
// Fields may be quoted ("a, b" and "" for a quote). Columns are picked by name; numbers must
// parse completely and be finite, or the error names the file, line and column.

#include <cmath>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "../errors.hpp"
#include "../json_reader.hpp"

namespace cnnlstm {

class CsvTable {
 public:
  static CsvTable read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw IoError("cannot read '" + path + "': " + std::strerror(errno));
    CsvTable table(path);
    std::string line;
    std::size_t line_number = 0;
    while (std::getline(in, line)) {
      ++line_number;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      auto fields = table.split(line, line_number);
      if (table.header_.empty()) {
        table.header_ = std::move(fields);
        table.check_header(line_number);
        continue;
      }
      if (fields.size() != table.header_.size())
        throw FormatError(path + ": line " + std::to_string(line_number) + " has " + std::to_string(fields.size()) +
                          " fields, the header has " + std::to_string(table.header_.size()));
      table.rows_.push_back(std::move(fields));
      table.lines_.push_back(line_number);
    }
    if (table.header_.empty()) throw FormatError(path + ": the file is empty (no header row)");
    return table;
  }

  const std::vector<std::string>& header() const { return header_; }
  std::size_t rows() const { return rows_.size(); }
  bool has_column(const std::string& name) const { return index_of(name) < header_.size(); }

  // The column's values as numbers; every one must parse completely and be finite.
  std::vector<double> numbers(const std::string& column) const {
    const std::size_t c = require_column(column);
    std::vector<double> out;
    out.reserve(rows_.size());
    for (std::size_t r = 0; r < rows_.size(); ++r) out.push_back(parse_number(rows_[r][c], r, column));
    return out;
  }

  std::vector<std::string> text(const std::string& column) const {
    const std::size_t c = require_column(column);
    std::vector<std::string> out;
    for (const auto& row : rows_) out.push_back(row[c]);
    return out;
  }

 private:
  explicit CsvTable(std::string path) : path_(std::move(path)) {}

  std::vector<std::string> split(const std::string& line, std::size_t line_number) const {
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
      const char ch = line[i];
      if (quoted) {
        if (ch == '"' && i + 1 < line.size() && line[i + 1] == '"') {
          fields.back() += '"';
          ++i;
        } else if (ch == '"') {
          quoted = false;
        } else {
          fields.back() += ch;
        }
      } else if (ch == '"' && fields.back().empty()) {
        quoted = true;
      } else if (ch == ',') {
        fields.emplace_back();
      } else {
        fields.back() += ch;
      }
    }
    if (quoted) throw FormatError(path_ + ": line " + std::to_string(line_number) + " has an unclosed quote");
    return fields;
  }

  void check_header(std::size_t line_number) const {
    for (std::size_t i = 0; i < header_.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (header_[i] == header_[j])
          throw FormatError(path_ + ": line " + std::to_string(line_number) + " names column '" + header_[i] + "' twice");
  }

  std::size_t index_of(const std::string& name) const {
    std::size_t i = 0;
    while (i < header_.size() && header_[i] != name) ++i;
    return i;
  }

  std::size_t require_column(const std::string& name) const {
    const std::size_t c = index_of(name);
    if (c < header_.size()) return c;
    const std::string hint = closest_match(name, header_);
    std::string columns;
    for (const auto& h : header_) columns += (columns.empty() ? "" : ", ") + h;
    throw DataError(path_ + ": no column named '" + name + "'" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)") +
                    "; the columns are " + columns);
  }

  double parse_number(const std::string& field, std::size_t row, const std::string& column) const {
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(field, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    const std::string where = path_ + ": line " + std::to_string(lines_[row]) + ", column '" + column + "'";
    if (used == 0 || used != field.size()) throw DataError(where + ": '" + field + "' is not a number");
    if (!std::isfinite(v)) throw DataError(where + ": " + field + " is not a finite number");
    return v;
  }

  std::string path_;
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<std::size_t> lines_;  // file line of each row, for messages
};

}  // namespace cnnlstm
