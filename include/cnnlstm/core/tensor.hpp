#pragma once
// Tensor vocabulary of the library: row-major Eigen tensors and matrices, a read-only view that
// every layer takes as input, and a grow-only buffer that every layer writes its outputs into.
//
// Layouts follow PyTorch: row-major, batch first. Images are (N, C, H, W), sequences (N, T, F),
// feature vectors (N, F).

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>
#include <unsupported/Eigen/CXX11/Tensor>

#include "errors.hpp"

namespace cnnlstm {

using Index = Eigen::Index;

template <int Rank>
using Shape = std::array<Index, Rank>;

template <class T, int Rank>
using Tensor = Eigen::Tensor<T, Rank, Eigen::RowMajor>;

template <class T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using MatrixMap = Eigen::Map<Matrix<T>>;
template <class T>
using ConstMatrixMap = Eigen::Map<const Matrix<T>>;

template <std::size_t Rank>
Index element_count(const std::array<Index, Rank>& shape) {
  Index n = 1;
  for (Index d : shape) n *= d;
  return n;
}

// "(4, 10, 5, 5)"; works for std::array, std::vector and Eigen::DSizes.
template <class Dims>
std::string shape_string(const Dims& dims) {
  std::string s = "(";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(dims[i]);
  }
  return s + ")";
}

// Throws a ShapeError that names the layer, what it expected and what it got. With string
// literals for layer and expected, a passing check allocates nothing.
template <std::size_t Rank>
void require_shape(bool ok, std::string_view layer, std::string_view expected,
                   const std::array<Index, Rank>& got) {
  if (!ok)
    throw ShapeError(std::string(layer) + ": expected input " + std::string(expected) + ", got " +
                     shape_string(got));
}

// Position of element `index` in a row-major tensor of the given shape.
template <std::size_t Rank>
Index row_major_offset(const std::array<Index, Rank>& shape, const std::array<Index, Rank>& index) {
  Index offset = 0;
  for (std::size_t d = 0; d < Rank; ++d) offset = offset * shape[d] + index[d];
  return offset;
}

template <class T, int Rank>
class TensorBuffer;

// A read-only view of a contiguous row-major tensor: what layers take as input. Converts
// implicitly from Tensor, Eigen::TensorMap and TensorBuffer, so callers never copy to pass data.
template <class T, int Rank>
class TensorRef {
 public:
  TensorRef() : data_(nullptr), shape_{} {}
  TensorRef(const T* data, const Shape<Rank>& shape) : data_(data), shape_(shape) {}
  TensorRef(const Tensor<T, Rank>& t) : TensorRef(t.data(), t.dimensions()) {}  // NOLINT implicit
  TensorRef(const Eigen::TensorMap<Tensor<T, Rank>>& t)                         // NOLINT implicit
      : TensorRef(t.data(), t.dimensions()) {}
  TensorRef(const Eigen::TensorMap<const Tensor<T, Rank>>& t)  // NOLINT implicit
      : TensorRef(t.data(), t.dimensions()) {}
  TensorRef(const TensorBuffer<T, Rank>& b) : TensorRef(b.data(), b.shape()) {}  // NOLINT implicit

  const T* data() const { return data_; }
  const Shape<Rank>& shape() const { return shape_; }
  Index dimension(int i) const { return shape_[static_cast<std::size_t>(i)]; }
  Index size() const { return element_count(shape_); }

  Eigen::TensorMap<const Tensor<T, Rank>> map() const { return {data_, shape_}; }
  // The data seen as a (rows, cols) row-major matrix; rows * cols must equal size().
  ConstMatrixMap<T> matrix(Index rows, Index cols) const { return {data_, rows, cols}; }

  template <class... I>
  const T& operator()(I... index) const {
    static_assert(sizeof...(I) == Rank, "one index per dimension");
    return data_[row_major_offset(shape_, std::array<Index, Rank>{static_cast<Index>(index)...})];
  }

 private:
  const T* data_;
  Shape<Rank> shape_;
};

// Owned, contiguous, row-major storage that only grows: resizing to a smaller or equal element
// count reuses the memory, so a layer that sees batch sizes 32 and 23 in turn allocates once.
template <class T, int Rank>
class TensorBuffer {
 public:
  TensorBuffer() { shape_.fill(0); }
  explicit TensorBuffer(const Shape<Rank>& shape) { resize(shape); }

  void resize(const Shape<Rank>& shape) {
    const auto n = static_cast<std::size_t>(element_count(shape));
    if (n > storage_.size()) storage_.resize(n);
    shape_ = shape;
  }
  void set_zero() { std::fill_n(storage_.data(), size(), T(0)); }

  T* data() { return storage_.data(); }
  const T* data() const { return storage_.data(); }
  const Shape<Rank>& shape() const { return shape_; }
  Index dimension(int i) const { return shape_[static_cast<std::size_t>(i)]; }
  Index size() const { return element_count(shape_); }

  TensorRef<T, Rank> view() const { return *this; }
  Eigen::TensorMap<Tensor<T, Rank>> map() { return {data(), shape_}; }
  MatrixMap<T> matrix(Index rows, Index cols) { return {data(), rows, cols}; }
  ConstMatrixMap<T> matrix(Index rows, Index cols) const { return {data(), rows, cols}; }

  template <class... I>
  T& operator()(I... index) {
    static_assert(sizeof...(I) == Rank, "one index per dimension");
    return data()[row_major_offset(shape_, std::array<Index, Rank>{static_cast<Index>(index)...})];
  }
  template <class... I>
  const T& operator()(I... index) const {
    return view()(index...);
  }

 private:
  std::vector<T, Eigen::aligned_allocator<T>> storage_;
  Shape<Rank> shape_;
};

// The owning buffer type for what a TensorRef views: BufferFor<TensorRef<T, R>>::type.
template <class Ref>
struct BufferFor;
template <class T, int Rank>
struct BufferFor<TensorRef<T, Rank>> {
  using type = TensorBuffer<T, Rank>;
};

}  // namespace cnnlstm
