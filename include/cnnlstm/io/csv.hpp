#pragma once
// A sample table in CSV: a header row naming the columns, then one row per sampling site, e.g.
//   id,x,y,soc
//   17,512375.0,4398625.0,12.4
// Fields may be quoted ("a, b" and "" for a quote). The separator is the comma, or the semicolon
// (or tab) when the header row holds no comma but one of those, as spreadsheets write in locales
// with a decimal comma. Columns are picked by name. Spaces around a field are not part of it, on
// either side. Numbers are decimal, optionally signed, with an exponent, finite and within the
// range of a double; anything else (0x10, 0x1p4, 12,5, 1e400, nan) is an error naming the file,
// line and column.

#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "../core/errors.hpp"
#include "../core/json_reader.hpp"

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
      if (table.header_.empty()) table.separator_ = separator_of(line);
      auto fields = table.split(line, line_number);
      if (table.header_.empty()) {
        table.header_ = std::move(fields);
        table.check_header(line_number);
        continue;
      }
      if (fields.size() != table.header_.size())
        throw FormatError(path + ": line " + std::to_string(line_number) + " has " + std::to_string(fields.size()) +
                          " fields, the header has " + std::to_string(table.header_.size()) + table.separator_hint(line));
      table.rows_.push_back(std::move(fields));
      table.lines_.push_back(line_number);
    }
    if (table.header_.empty()) throw FormatError(path + ": the file is empty (no header row)");
    return table;
  }

  const std::vector<std::string>& header() const { return header_; }
  char separator() const { return separator_; }
  std::size_t line_of_row(std::size_t row) const { return lines_[row]; }
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

  // The column's values as numbers, with an empty field (or NA) as missing; anything else must
  // parse completely and be finite, as in numbers().
  std::vector<std::optional<double>> optional_numbers(const std::string& column) const {
    const std::size_t c = require_column(column);
    std::vector<std::optional<double>> out;
    out.reserve(rows_.size());
    for (std::size_t r = 0; r < rows_.size(); ++r) {
      const std::string field = trim(rows_[r][c]);
      if (field.empty() || field == "NA") out.emplace_back();
      else out.emplace_back(parse_number(field, r, column));
    }
    return out;
  }

  std::vector<std::string> text(const std::string& column) const {
    const std::size_t c = require_column(column);
    std::vector<std::string> out;
    for (const auto& row : rows_) out.push_back(trim(row[c]));
    return out;
  }

 private:
  explicit CsvTable(std::string path) : path_(std::move(path)) {}

  // Characters outside quotes: the separator is what the header uses.
  static char separator_of(const std::string& header) {
    bool quoted = false, semicolon = false, tab = false;
    for (const char ch : header) {
      if (ch == '"') quoted = !quoted;
      if (quoted) continue;
      if (ch == ',') return ',';
      semicolon = semicolon || ch == ';';
      tab = tab || ch == '\t';
    }
    return semicolon ? ';' : tab ? '\t' : ',';
  }

  static std::string trim(const std::string& field) {
    const auto first = field.find_first_not_of(" \t");
    if (first == std::string::npos) return "";
    return field.substr(first, field.find_last_not_of(" \t") - first + 1);
  }

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
      } else if (ch == separator_) {
        fields.emplace_back();
      } else {
        fields.back() += ch;
      }
    }
    if (quoted) throw FormatError(path_ + ": line " + std::to_string(line_number) + " has an unclosed quote");
    return fields;
  }

  void check_header(std::size_t line_number) {
    for (auto& name : header_) name = trim(name);
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
    const std::string where = path_ + ": line " + std::to_string(lines_[row]) + ", column '" + column + "'";
    const std::string text = trim(field);
    const char* begin = text.data();
    const char* const end = begin + text.size();
    if (text.size() > 1 && text[0] == '+' && text[1] != '-') ++begin;  // from_chars reads '-' only
    double v = 0;
    // chars_format::general: decimal with an optional exponent, never hexadecimal (which
    // std::stod would read: "0x10" as 16).
    const auto [stop, error] = std::from_chars(begin, end, v, std::chars_format::general);
    if (error == std::errc::result_out_of_range)
      throw DataError(where + ": " + text + " is out of the range of a double (magnitudes from about 2.2e-308 to 1.8e308)");
    if (error != std::errc() || stop != end || begin == end)
      throw DataError(where + ": '" + field + "' is not a number" + number_hint(text));
    if (!std::isfinite(v)) throw DataError(where + ": " + text + " is not a finite number");
    return v;
  }

  // A row whose fields do not match the header's: say so when it looks separated by another
  // character than the header.
  std::string separator_hint(const std::string& line) const {
    for (const char other : {';', '\t', ','})
      if (other != separator_ && line.find(other) != std::string::npos && line.find(separator_) == std::string::npos)
        return std::string(" (the separator looks like '") + (other == '\t' ? "\\t" : std::string(1, other)) +
               "' on this line, but the header row uses '" + (separator_ == '\t' ? "\\t" : std::string(1, separator_)) + "')";
    return "";
  }

  // Why a field a person meant as a number is not read as one.
  std::string number_hint(const std::string& text) const {
    if (text.starts_with("0x") || text.starts_with("0X") || text.starts_with("-0x") || text.starts_with("+0x"))
      return " (hexadecimal numbers are not read; write it in decimal)";
    if (const auto comma = text.find(','); comma != std::string::npos && separator_ != ',') {
      std::string pointed = text;
      pointed[comma] = '.';
      return " (a decimal comma? write it with a point: " + pointed + ")";
    }
    return "";
  }

  std::string path_;
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<std::size_t> lines_;  // file line of each row, for messages
  char separator_ = ',';
};

}  // namespace cnnlstm
