#pragma once
// The header of a NumPy .npy file: reading it strictly and writing it the way NumPy does.
//
//   "\x93NUMPY"  major  minor  header length  header                                  data
//    6 bytes     1 byte 1 byte 2 bytes (1.0),  "{'descr': '<f4', 'fortran_order': False,
//                              4 bytes (2.0, 'shape': (308, 10), }" + spaces + "\n"
//                              3.0), LE        so that the data starts at a multiple of 64
//
// The header is a Python dict literal with exactly the keys 'descr', 'fortran_order' and 'shape'.
// Whitespace, key order and trailing commas are free; a shape is a tuple of non-negative
// integers: (), (308,), (308, 10, 5, 5). Versions 2.0 and 3.0 differ from 1.0 only in the
// length field (3.0 also allows UTF-8, which no supported header needs).

#include <cstddef>
#include <cstdint>
#include <istream>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "dtype.hpp"

namespace cnnlstm {

struct NpyHeader {
  DType dtype = DType::F32;
  std::vector<Index> shape;
  std::uint64_t data_offset = 0;  // bytes from the start of the file to the first element

  std::uint64_t element_count() const {
    std::uint64_t n = 1;
    for (Index d : shape) n *= static_cast<std::uint64_t>(d);
    return n;
  }
  std::uint64_t data_size() const { return element_count() * dtype_size(dtype); }
};

// NumPy's type string: "<f4", "|u1".
inline const char* npy_descr(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return "<f4";
    case DType::F64:
      return "<f8";
    case DType::I32:
      return "<i4";
    case DType::I64:
      return "<i8";
    case DType::U8:
      return "|u1";
    case DType::Bool:
      return "|b1";
  }
  throw UsageError("invalid DType value");
}

namespace detail {

inline constexpr std::string_view npy_magic = "\x93NUMPY";
inline constexpr std::uint32_t npy_max_header_length = 1 << 20;

// True when the product of the non-zero dimensions times the element size exceeds the largest
// Index, which no real file reaches.
inline bool npy_size_overflows(const std::vector<Index>& shape, DType dtype) {
  auto remaining = static_cast<std::uint64_t>(std::numeric_limits<Index>::max());
  remaining /= dtype_size(dtype);
  for (Index d : shape) {
    if (d == 0) continue;
    if (static_cast<std::uint64_t>(d) > remaining) return true;
    remaining /= static_cast<std::uint64_t>(d);
  }
  return false;
}

// Reads the subset of Python literals an .npy header uses; every error names the file.
class NpyDictParser {
 public:
  NpyDictParser(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  struct Dict {
    std::optional<std::string> descr;
    std::optional<bool> fortran_order;
    std::optional<std::vector<Index>> shape;
  };

  Dict parse() {
    Dict dict;
    expect('{', "the header is not a Python dict");
    while (!accept('}')) {
      read_entry(dict);
      if (!accept(',')) {
        expect('}', "expected ',' or '}' after a value");
        break;
      }
    }
    skip_space();
    if (pos_ != text_.size()) fail("unexpected text after the header dict");
    return dict;
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw FormatError(source_ + ": bad .npy header (" + problem + ") in " + quoted_header());
  }

  std::string quoted_header() const {
    constexpr std::size_t shown = 200;
    std::string s(text_.substr(0, shown));
    while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.pop_back();
    return "\"" + s + (text_.size() > shown ? "...\"" : "\"");
  }

  void skip_space() {
    while (pos_ < text_.size() && std::string_view(" \t\r\n").find(text_[pos_]) != npos) ++pos_;
  }

  bool accept(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  void expect(char c, const std::string& problem) {
    if (!accept(c)) fail(problem);
  }

  bool accept_word(std::string_view word) {
    skip_space();
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  void read_entry(Dict& dict) {
    const std::string key = read_string("a key");
    expect(':', "expected ':' after key '" + key + "'");
    if (key == "descr") {
      set_once(dict.descr, read_string("'descr' (a type string such as '<f4')"), key);
    } else if (key == "fortran_order") {
      set_once(dict.fortran_order, read_bool(), key);
    } else if (key == "shape") {
      set_once(dict.shape, read_shape(), key);
    } else {
      fail("unexpected key '" + key + "'");
    }
  }

  template <class V>
  void set_once(std::optional<V>& slot, V value, const std::string& key) {
    if (slot) fail("key '" + key + "' appears twice");
    slot = std::move(value);
  }

  std::string read_string(const std::string& what) {
    skip_space();
    const char quote = pos_ < text_.size() ? text_[pos_] : '\0';
    if (quote != '\'' && quote != '"') fail("expected a quoted string for " + what);
    const auto end = text_.find(quote, pos_ + 1);
    if (end == npos) fail("unterminated string");
    std::string value(text_.substr(pos_ + 1, end - pos_ - 1));
    if (value.find('\\') != std::string::npos) fail("escape sequences are not supported");
    pos_ = end + 1;
    return value;
  }

  bool read_bool() {
    if (accept_word("True")) return true;
    if (accept_word("False")) return false;
    fail("'fortran_order' must be True or False");
  }

  std::vector<Index> read_shape() {
    expect('(', "'shape' must be a tuple such as (308, 10)");
    std::vector<Index> shape;
    bool trailing_comma = false;
    while (!accept(')')) {
      shape.push_back(read_dimension());
      trailing_comma = accept(',');
      if (!trailing_comma) {
        expect(')', "expected ',' or ')' in 'shape'");
        break;
      }
    }
    if (shape.size() == 1 && !trailing_comma)
      fail("'shape' (" + std::to_string(shape[0]) + ") is not a tuple; write (" +
           std::to_string(shape[0]) + ",)");
    return shape;
  }

  Index read_dimension() {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == '-') fail("negative dimension in 'shape'");
    const std::size_t begin = pos_;
    std::uint64_t value = 0;
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<Index>::max());
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const auto digit = static_cast<std::uint64_t>(text_[pos_] - '0');
      if (value > (max - digit) / 10) fail("dimension in 'shape' is too large");
      value = value * 10 + digit;
      ++pos_;
    }
    if (pos_ == begin) fail("'shape' must hold non-negative integers");
    accept_word("L");  // Python 2 wrote long integers as 3L
    return static_cast<Index>(value);
  }

  static constexpr auto npos = std::string_view::npos;
  std::string_view text_;
  const std::string& source_;
  std::size_t pos_ = 0;
};

inline DType npy_dtype_from_descr(const std::string& descr, const std::string& source) {
  for (DType d : {DType::F32, DType::F64, DType::I32, DType::I64, DType::U8, DType::Bool})
    if (descr == npy_descr(d)) return d;
  if (descr == "<u1") return DType::U8;
  if (!descr.empty() && descr[0] == '>')
    throw FormatError(source + ": big-endian dtype '" + descr +
                      "' is not supported (save it with arr.astype('<" + descr.substr(1) + "'))");
  throw FormatError(source + ": unsupported dtype '" + descr +
                    "' (supported: <f4, <f8, <i4, <i8, |u1, |b1)");
}

// Reads `size` bytes or throws a FormatError saying which part of the header was cut short.
inline std::string read_header_bytes(std::istream& in, std::size_t size, const std::string& source,
                                     const std::string& part) {
  std::string bytes(size, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  const auto got = static_cast<std::size_t>(in.gcount());
  if (got != size)
    throw FormatError(source + ": truncated header (the file ends inside the " + part +
                      ", after " + std::to_string(got) + " of its " + std::to_string(size) +
                      " bytes)");
  return bytes;
}

inline std::uint32_t read_header_length(std::istream& in, int major, const std::string& source) {
  const std::size_t width = major == 1 ? 2 : 4;
  const std::string bytes = read_header_bytes(in, width, source, "header length field");
  std::uint32_t length = 0;
  for (std::size_t i = width; i-- > 0;) length = length << 8 | static_cast<unsigned char>(bytes[i]);
  if (length > npy_max_header_length)
    throw FormatError(source + ": header length " + std::to_string(length) +
                      " is above the limit of " + std::to_string(npy_max_header_length) + " bytes");
  return length;
}

template <class V>
const V& required(const std::optional<V>& value, const char* key, const std::string& source) {
  if (!value) throw FormatError(source + ": bad .npy header (missing key '" + key + "')");
  return *value;
}

// Python's tuple syntax: (), (3,), (3, 4).
inline std::string npy_shape_literal(const std::vector<Index>& shape) {
  std::string literal = shape_string(shape);
  if (shape.size() == 1) {
    literal.pop_back();
    literal += ",)";
  }
  return literal;
}

}  // namespace detail

// Reads and checks the header of an .npy file from the start of `in`; `source` names the file in
// errors. Leaves `in` at the first data byte. Does not look at the data.
inline NpyHeader read_npy_header(std::istream& in, const std::string& source) {
  const std::string magic = detail::read_header_bytes(in, 6, source, "magic string");
  if (magic != detail::npy_magic)
    throw FormatError(source + ": not an .npy file (bad magic: it does not start with \\x93NUMPY)");
  const std::string version = detail::read_header_bytes(in, 2, source, "version field");
  const int major = static_cast<unsigned char>(version[0]);
  const int minor = static_cast<unsigned char>(version[1]);
  if (major < 1 || major > 3 || minor != 0)
    throw FormatError(source + ": unsupported .npy version " + std::to_string(major) + "." +
                      std::to_string(minor) + " (supported: 1.0, 2.0, 3.0)");
  const std::uint32_t length = detail::read_header_length(in, major, source);
  const std::string text = detail::read_header_bytes(in, length, source, "header dict");

  const auto dict = detail::NpyDictParser(text, source).parse();
  NpyHeader header;
  const std::string& descr = detail::required(dict.descr, "descr", source);
  header.dtype = detail::npy_dtype_from_descr(descr, source);
  if (detail::required(dict.fortran_order, "fortran_order", source))
    throw FormatError(source + ": fortran_order is True; only C-order (row-major) arrays are " +
                      "supported (save np.ascontiguousarray(arr))");
  header.shape = detail::required(dict.shape, "shape", source);
  if (detail::npy_size_overflows(header.shape, header.dtype))
    throw FormatError(source + ": shape " + shape_string(header.shape) +
                      " is absurd (its size in bytes overflows)");
  header.data_offset = 6 + 2 + (major == 1 ? 2 : 4) + std::uint64_t{length};
  return header;
}

// The bytes NumPy writes before the data: magic, version, length and the dict, padded with
// spaces and a newline so the data starts at a multiple of 64. Version 1.0 unless the padded dict
// is longer than 65535 bytes, then 2.0.
inline std::string format_npy_header(DType dtype, const std::vector<Index>& shape) {
  const std::string dict = "{'descr': '" + std::string(npy_descr(dtype)) +
                           "', 'fortran_order': False, 'shape': " +
                           detail::npy_shape_literal(shape) + ", }";
  const auto padded_length = [&](std::size_t preamble) {
    constexpr std::size_t alignment = 64;
    const std::size_t unpadded = preamble + dict.size() + 1;  // + final newline
    return dict.size() + 1 + (alignment - unpadded % alignment) % alignment;
  };
  const bool fits_version_1 = padded_length(10) <= 0xFFFF;
  const std::size_t length_bytes = fits_version_1 ? 2 : 4;
  const std::size_t length = padded_length(8 + length_bytes);

  std::string out(detail::npy_magic);
  out += static_cast<char>(fits_version_1 ? 1 : 2);
  out += '\0';
  for (std::size_t i = 0; i < length_bytes; ++i) out += static_cast<char>(length >> (8 * i) & 0xFF);
  out += dict;
  out.append(length - dict.size() - 1, ' ');
  out += '\n';
  return out;
}

}  // namespace cnnlstm
