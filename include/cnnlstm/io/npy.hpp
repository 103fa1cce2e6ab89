#pragma once
// Loading and saving NumPy .npy arrays (little-endian, C order; see npy_header.hpp).
//
//   auto x = load_npy_tensor<float, 4>("x_cnn.npy");     // (N, 10, 5, 5), any float dtype
//   NpyArray<double> y = load_npy<double>("y.npy");        // data and shape
//   save_npy("pred.npy", predictions.data(), {n});         // '<f4' for float, '<f8' for double
//
// Loading converts the file's dtype to the requested type (dtype.hpp) chunk by chunk, straight
// into the result, and checks that the data has exactly the size the shape says. Saving writes
// version 1.0 (2.0 for an enormous header) through AtomicFile.

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "atomic_file.hpp"
#include "dtype.hpp"
#include "npy_header.hpp"

namespace cnnlstm {

template <class T>
struct NpyArray {
  std::vector<T> data;  // row-major
  std::vector<Index> shape;
};

namespace detail {

inline std::ifstream open_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw os_error("open", path, errno);
  return in;
}

// Throws unless the file holds exactly header.data_size() bytes after the header.
inline void check_npy_data_size(std::istream& in, const NpyHeader& header,
                                const std::string& source) {
  in.seekg(0, std::ios::end);
  const auto file_size = static_cast<std::uint64_t>(in.tellg());
  in.seekg(static_cast<std::streamoff>(header.data_offset));
  if (!in) throw IoError("cannot seek in '" + source + "'");
  const std::uint64_t actual = file_size - header.data_offset;
  if (actual == header.data_size()) return;
  throw FormatError(source + ": " + (actual < header.data_size() ? "truncated" : "trailing") +
                    " data: shape " + shape_string(header.shape) + " of " +
                    npy_descr(header.dtype) + " needs " + std::to_string(header.data_size()) +
                    " bytes after the header, the file has " + std::to_string(actual));
}

template <class T>
void check_npy_convertible(const NpyHeader& header, const std::string& source) {
  if (!kinds_convert(header.dtype, dtype_of<T>()))
    throw FormatError(source + ": holds " + npy_descr(header.dtype) + " data, which cannot be " +
                      "loaded as " + dtype_name(dtype_of<T>()) + " without dropping fractions");
}

inline void read_chunk(std::istream& in, void* buffer, std::uint64_t size,
                       const std::string& source) {
  in.read(static_cast<char*>(buffer), static_cast<std::streamsize>(size));
  if (static_cast<std::uint64_t>(in.gcount()) != size)
    throw IoError("cannot read '" + source + "': the file ended early (changed?)");
}

// Reads the data that follows the header into `out` (header.element_count() elements).
template <class T>
void read_npy_data(std::istream& in, const NpyHeader& header, const std::string& source, T* out) {
  if (copies_verbatim(header.dtype, dtype_of<T>())) {
    read_chunk(in, out, header.data_size(), source);
    return;
  }
  const auto read = [&](unsigned char* buffer, std::uint64_t, std::uint64_t n) {
    read_chunk(in, buffer, n * dtype_size(header.dtype), source);
  };
  if (!convert_in_chunks(header.dtype, dtype_of<T>(), out, header.element_count(), read))
    throw DataError(source + ": holds a value that " + dtype_name(dtype_of<T>()) +
                    " cannot represent");
}

// Reads and checks the header and the data size of `in`, leaving it at the first data byte.
template <class T>
NpyHeader read_checked_header(std::ifstream& in, const std::string& path) {
  NpyHeader header = read_npy_header(in, path);
  check_npy_data_size(in, header, path);
  check_npy_convertible<T>(header, path);
  return header;
}

}  // namespace detail

// Loads an array of any supported dtype, converted to T (float, double, int32, int64 or uint8).
template <class T>
NpyArray<T> load_npy(const std::string& path) {
  static_assert(!std::is_same_v<T, bool>, "load boolean arrays as std::uint8_t");
  std::ifstream in = detail::open_npy(path);
  const NpyHeader header = detail::read_checked_header<T>(in, path);
  NpyArray<T> array{std::vector<T>(header.element_count()), header.shape};
  detail::read_npy_data(in, header, path, array.data.data());
  return array;
}

// Loads an array of rank R; throws ShapeError if the file's array has another rank.
template <class T, int R>
Tensor<T, R> load_npy_tensor(const std::string& path) {
  std::ifstream in = detail::open_npy(path);
  const NpyHeader header = detail::read_checked_header<T>(in, path);
  if (header.shape.size() != static_cast<std::size_t>(R))
    throw ShapeError(path + ": expected an array of rank " + std::to_string(R) + ", got shape " +
                     shape_string(header.shape));
  Shape<R> dims;
  for (std::size_t i = 0; i < dims.size(); ++i) dims[i] = header.shape[i];
  Tensor<T, R> tensor(dims);
  detail::read_npy_data(in, header, path, tensor.data());
  return tensor;
}

// Saves a row-major array; the dtype follows T ('<f4' for float, '|b1' for bool, ...).
template <class T>
void save_npy(const std::string& path, const T* data, const std::vector<Index>& shape) {
  const bool negative = std::any_of(shape.begin(), shape.end(), [](Index d) { return d < 0; });
  if (negative || detail::npy_size_overflows(shape, dtype_of<T>()))
    throw ShapeError(path + ": cannot save an array of shape " + shape_string(shape));
  const NpyHeader header{dtype_of<T>(), shape};
  const std::string preamble = format_npy_header(header.dtype, shape);
  AtomicFile file(path);
  file.write(preamble.data(), preamble.size());
  file.write(data, header.data_size());
  file.commit();
}

template <class T, int R>
void save_npy(const std::string& path, const Tensor<T, R>& tensor) {
  const auto& dims = tensor.dimensions();
  save_npy(path, tensor.data(), std::vector<Index>(dims.begin(), dims.end()));
}

}  // namespace cnnlstm
