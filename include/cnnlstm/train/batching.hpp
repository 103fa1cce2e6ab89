#pragma once
// Gathering mini-batches: rows of a data set, picked by index, copied into batch buffers.
//   source (N, ...) , rows [b] -> batch (b, ...)

#include <cstdint>
#include <span>
#include <tuple>
#include <utility>

#include "../core/tensor.hpp"

namespace cnnlstm {

template <class T, int Rank>
void gather_rows(TensorRef<T, Rank> source, std::span<const std::int64_t> rows,
                 TensorBuffer<T, Rank>& batch) {
  Shape<Rank> shape = source.shape();
  const Index row_size = shape[0] == 0 ? 0 : source.size() / shape[0];
  shape[0] = static_cast<Index>(rows.size());
  batch.resize(shape);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] < 0 || rows[i] >= source.dimension(0))
      throw DataError("row index " + std::to_string(rows[i]) + " is outside 0.." +
                      std::to_string(source.dimension(0) - 1));
    std::copy_n(source.data() + rows[i] * row_size, row_size, batch.data() + static_cast<Index>(i) * row_size);
  }
}

// Batch buffers for a tuple of inputs (one per model branch).
template <class Inputs>
struct BatchBuffers;
template <class... Refs>
struct BatchBuffers<std::tuple<Refs...>> {
  std::tuple<typename BufferFor<Refs>::type...> buffers;

  void gather(const std::tuple<Refs...>& sources, std::span<const std::int64_t> rows) {
    gather_all(sources, rows, std::index_sequence_for<Refs...>{});
  }
  std::tuple<Refs...> views() const { return views(std::index_sequence_for<Refs...>{}); }

 private:
  template <std::size_t... I>
  void gather_all(const std::tuple<Refs...>& sources, std::span<const std::int64_t> rows,
                  std::index_sequence<I...>) {
    (gather_rows(std::get<I>(sources), rows, std::get<I>(buffers)), ...);
  }
  template <std::size_t... I>
  std::tuple<Refs...> views(std::index_sequence<I...>) const {
    return {std::get<I>(buffers).view()...};
  }
};

}  // namespace cnnlstm
