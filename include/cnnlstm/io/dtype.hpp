#pragma once
// Element types of the file formats (npy, safetensors) and the conversion between a file's
// little-endian bytes and the caller's C++ type.
//
// Conversion rules, the same for reading and writing:
//   float <-> float       always (double to float rounds)
//   integer -> float      always
//   float -> integer      refused: it would silently drop fractions
//   integer -> integer    element by element, refused for a value the target cannot hold
// BOOL is a byte holding 0 or 1; any other byte is an invalid value.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/errors.hpp"

namespace cnnlstm {

static_assert(std::endian::native == std::endian::little,
              "cnnlstm's file formats store little-endian data and assume a little-endian host");

enum class DType { F32, F64, I32, I64, U8, Bool };

// Size of one element in bytes.
inline std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::F32:
    case DType::I32:
      return 4;
    case DType::F64:
    case DType::I64:
      return 8;
    case DType::U8:
    case DType::Bool:
      return 1;
  }
  throw UsageError("invalid DType value");
}

// The safetensors spelling, also used in messages: "F32", "BOOL".
inline const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return "F32";
    case DType::F64:
      return "F64";
    case DType::I32:
      return "I32";
    case DType::I64:
      return "I64";
    case DType::U8:
      return "U8";
    case DType::Bool:
      return "BOOL";
  }
  throw UsageError("invalid DType value");
}

inline bool is_floating(DType dtype) { return dtype == DType::F32 || dtype == DType::F64; }

// The DType of a C++ element type the library reads into or writes from.
template <class T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, float>) return DType::F32;
  else if constexpr (std::is_same_v<T, double>) return DType::F64;
  else if constexpr (std::is_same_v<T, std::int32_t>) return DType::I32;
  else if constexpr (std::is_same_v<T, std::int64_t>) return DType::I64;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return DType::U8;
  else if constexpr (std::is_same_v<T, bool>) return DType::Bool;
  else
    static_assert(sizeof(T) == 0, "element type must be float, double, int32, int64, uint8, bool");
}

// False for float -> integer, the one conversion that is refused whatever the values.
inline bool kinds_convert(DType from, DType to) { return !is_floating(from) || is_floating(to); }

// True when elements of `from` can be copied as they are into `to`, with no conversion or check
// (BOOL bytes are always checked: a byte other than 0 or 1 is not a valid bool).
inline bool copies_verbatim(DType from, DType to) { return from == to && from != DType::Bool; }

namespace detail {

// The C++ type a DType's bytes are copied into (BOOL as its byte, checked on conversion).
template <DType D>
using storage_t = std::conditional_t<
    D == DType::F32, float,
    std::conditional_t<
        D == DType::F64, double,
        std::conditional_t<D == DType::I32, std::int32_t,
                           std::conditional_t<D == DType::I64, std::int64_t, std::uint8_t>>>>;

// Converts one value; false if `to` cannot hold it or the conversion is refused.
template <DType From, DType To>
bool convert_value(storage_t<From> value, storage_t<To>& out) {
  if constexpr (From == DType::Bool) {
    if (value > 1) return false;
  }
  if constexpr (To == DType::F32 || To == DType::F64) {
    out = static_cast<storage_t<To>>(value);
    return true;
  } else if constexpr (From == DType::F32 || From == DType::F64) {
    return false;  // float -> integer: refused before any data is converted (kinds_convert)
  } else {
    const bool fits =
        To == DType::Bool ? value == 0 || value == 1 : std::in_range<storage_t<To>>(value);
    if (fits) out = static_cast<storage_t<To>>(value);
    return fits;
  }
}

template <DType From, DType To>
bool convert_elements(const unsigned char* in, unsigned char* out, std::size_t count) {
  using Src = storage_t<From>;
  using Dst = storage_t<To>;
  if constexpr (From == To && From != DType::Bool) {
    std::memcpy(out, in, count * sizeof(Src));
    return true;
  } else {
    for (std::size_t i = 0; i < count; ++i) {
      Src value;
      Dst converted;
      std::memcpy(&value, in + i * sizeof(Src), sizeof(Src));
      if (!convert_value<From, To>(value, converted)) return false;
      std::memcpy(out + i * sizeof(Dst), &converted, sizeof(Dst));
    }
    return true;
  }
}

template <DType From>
bool convert_from(const unsigned char* in, DType to, unsigned char* out, std::size_t count) {
  switch (to) {
    case DType::F32:
      return convert_elements<From, DType::F32>(in, out, count);
    case DType::F64:
      return convert_elements<From, DType::F64>(in, out, count);
    case DType::I32:
      return convert_elements<From, DType::I32>(in, out, count);
    case DType::I64:
      return convert_elements<From, DType::I64>(in, out, count);
    case DType::U8:
      return convert_elements<From, DType::U8>(in, out, count);
    case DType::Bool:
      return convert_elements<From, DType::Bool>(in, out, count);
  }
  throw UsageError("invalid DType value");
}

}  // namespace detail

// Converts `count` elements stored as `from` at `in` into elements of type `to` at `out`
// (both little-endian, no alignment required). Returns false if a value does not fit `to`;
// `out` is then partly written. Check kinds_convert first to report float -> integer clearly.
inline bool convert_elements(DType from, const void* in, DType to, void* out, std::size_t count) {
  const auto* src = static_cast<const unsigned char*>(in);
  auto* dst = static_cast<unsigned char*>(out);
  switch (from) {
    case DType::F32:
      return detail::convert_from<DType::F32>(src, to, dst, count);
    case DType::F64:
      return detail::convert_from<DType::F64>(src, to, dst, count);
    case DType::I32:
      return detail::convert_from<DType::I32>(src, to, dst, count);
    case DType::I64:
      return detail::convert_from<DType::I64>(src, to, dst, count);
    case DType::U8:
      return detail::convert_from<DType::U8>(src, to, dst, count);
    case DType::Bool:
      return detail::convert_from<DType::Bool>(src, to, dst, count);
  }
  throw UsageError("invalid DType value");
}

// Converts `count` elements of `from` that read(buffer, first, n) supplies n at a time (elements
// first .. first + n - 1, as raw bytes) into `out` as `to`, so only one small chunk is ever held
// besides the destination. Returns false at the first value `to` cannot hold.
template <class Read>
bool convert_in_chunks(DType from, DType to, void* out, std::uint64_t count, Read&& read) {
  constexpr std::uint64_t chunk_elements = 8192;
  std::vector<unsigned char> chunk(chunk_elements * dtype_size(from));
  auto* destination = static_cast<unsigned char*>(out);
  for (std::uint64_t first = 0; first < count; first += chunk_elements) {
    const std::uint64_t n = std::min(chunk_elements, count - first);
    read(chunk.data(), first, n);
    if (!convert_elements(from, chunk.data(), to, destination + first * dtype_size(to), n))
      return false;
  }
  return true;
}

}  // namespace cnnlstm
