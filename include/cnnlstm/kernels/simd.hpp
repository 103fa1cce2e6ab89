#pragma once
// The SIMD vocabulary of the kernels: the widest vector xsimd offers for the target chosen at
// compile time (16 floats with AVX-512, 8 with AVX2, 4 with SSE2), and loops over arrays in
// whole vectors.
//
// Every element goes through the same vector code whatever its position: a tail shorter than a
// vector is computed as a vector too. So the result for an element never depends on where it
// sits (first lane, last lane, tail), which makes a sample's prediction bit-identical whatever
// the batch size, the chunking or the number of threads. Two ways to handle a tail:
//  - load_n / store_n copy it through a zero-filled vector: safe on any memory;
//  - load_lanes / store_lanes read a whole vector and write back only the tail's lanes (the
//    others keep what memory held): for lane buffers only, which have a vector of slack after
//    their last element (lane_matrix.hpp).

#include <algorithm>
#include <array>
#include <cstddef>
#include <type_traits>

// GCC 12 reports "used uninitialized" for the _mm512_undefined_* placeholders inside its own
// AVX-512 intrinsics once xsimd's functions are inlined (GCC bug 105593); not about this code.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <xsimd/xsimd.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include "../core/tensor.hpp"

namespace cnnlstm::kernels {

template <class T>
using Lanes = xsimd::batch<T>;

template <class T>
inline constexpr Index lane_width = static_cast<Index>(Lanes<T>::size);

// The element count of a whole vector, known at compile time (see for_each_vector).
template <class T>
using Whole = std::integral_constant<Index, lane_width<T>>;

constexpr Index round_up(Index n, Index multiple) { return (n + multiple - 1) / multiple * multiple; }

template <class T>
Lanes<T> load(const T* p) { return Lanes<T>::load_unaligned(p); }
template <class T>
void store(T* p, const Lanes<T>& v) { v.store_unaligned(p); }

// `count` elements at p as a vector (the other lanes zero); count is an Index or Whole<T>.
template <class T, class Count>
Lanes<T> load_n(const T* p, Count count) {
  if constexpr (std::is_same_v<Count, Whole<T>>) {
    return load(p);
  } else {
    alignas(64) std::array<T, Lanes<T>::size> tmp{};
    std::copy_n(p, count, tmp.data());
    return Lanes<T>::load_aligned(tmp.data());
  }
}

// Writes the first `count` lanes of v to p.
template <class T, class Count>
void store_n(T* p, const Lanes<T>& v, Count count) {
  if constexpr (std::is_same_v<Count, Whole<T>>) {
    store(p, v);
  } else {
    alignas(64) std::array<T, Lanes<T>::size> tmp;
    v.store_aligned(tmp.data());
    std::copy_n(tmp.data(), count, p);
  }
}

// A whole vector at p, of which the first `count` lanes matter: p must point into a lane buffer.
template <class T, class Count>
Lanes<T> load_lanes(const T* p, Count) {
  return load(p);
}

// Writes the first `count` lanes of v to p, keeping the memory of the others: p must point into
// a lane buffer that no other thread writes.
template <class T, class Count>
void store_lanes(T* p, const Lanes<T>& v, Count count) {
  if constexpr (std::is_same_v<Count, Whole<T>>) {
    store(p, v);
  } else {
    alignas(64) static constexpr auto index = [] {
      std::array<T, Lanes<T>::size> i{};
      for (std::size_t k = 0; k < i.size(); ++k) i[k] = static_cast<T>(k);
      return i;
    }();
    const auto head = Lanes<T>::load_aligned(index.data()) < Lanes<T>(static_cast<T>(count));
    store(p, xsimd::select(head, v, load(p)));
  }
}

// Calls f(i, count) for consecutive pieces of [0, n): whole vectors (count is Whole<T>), then
// one shorter tail (count an Index) if n is not a multiple of the width.
template <class T, class F>
void for_each_vector(Index n, F&& f) {
  constexpr Index w = lane_width<T>;
  Index i = 0;
  for (; i + w <= n; i += w) f(i, Whole<T>{});
  if (i < n) f(i, n - i);
}

}  // namespace cnnlstm::kernels
