#pragma once
// Max pooling in the lane layout (lane_matrix.hpp), PyTorch's CPU rule per window: scanning the
// window row-major from -inf, a value replaces the running maximum if it is greater or NaN (or,
// fused with a ReLU before it, see Pooling).
//   x (C, H*W*Np) -> y (C, Ho*Wo*Np), argmax (C, Ho*Wo*Np): the chosen window offset i*k + j
// Backward sends each output gradient to its chosen input, adding where windows overlap.
// Several samples are vectors along the lanes; one sample (Np == 1) is a plain scalar loop.

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "lane_matrix.hpp"

namespace cnnlstm::kernels {

// max: PyTorch's max pooling. relu_max: ReLU then max pooling in one pass, the same rule from 0
// instead of -inf (ReLU maps values <= 0 to 0 and keeps NaN, so a window with NaN outputs NaN). A
// window with nothing above 0, or with NaN, has no argmax (-1), so it passes no gradient, as
// ReLU's backward would (its gradient is 0 where its output is not above 0).
enum class Pooling { max, relu_max };

struct PoolGeometry {
  Index height = 0, width = 0;  // input
  Index kernel = 1, stride = 1;
  Index out_height = 0, out_width = 0;
};

namespace detail {

template <class T>
bool is_nan(T v) { return std::isnan(v); }
template <class T>
auto is_nan(const Lanes<T>& v) { return xsimd::isnan(v); }
template <class V>
auto takes_max(const V& v, const V& best) { return (v > best) | is_nan(v); }  // no branch
template <class T>
T pick(bool take, T a, T b) { return take ? a : b; }
template <class T, class Mask>
Lanes<T> pick(const Mask& take, const Lanes<T>& a, const Lanes<T>& b) { return xsimd::select(take, a, b); }

template <class V, class T>
V load_value(const T* p) {
  if constexpr (std::is_same_v<V, T>) return *p;
  else return load(p);
}
template <class V, class T>
void store_value(T* p, const V& v) {
  if constexpr (std::is_same_v<V, T>) *p = v;
  else store(p, v);
}

// Calls f(c, in_offset_of_window_corner, out_offset) for every output position.
template <class F>
void for_each_window(const PoolGeometry& g, Index channels, Index np, F&& f) {
  for (Index c = 0; c < channels; ++c)
    for (Index oh = 0; oh < g.out_height; ++oh)
      for (Index ow = 0; ow < g.out_width; ++ow)
        f(c, (oh * g.stride * g.width + ow * g.stride) * np, (oh * g.out_width + ow) * np);
}

// All windows for `V` lanes at a time (a vector, or a scalar for one sample): max into y and, if
// WithArgmax, the chosen offset into argmax (laid out like y).
template <Pooling P, bool WithArgmax, class V, class T>
void pool_windows(const PoolGeometry& g, Index np, const LaneView<T>& x, const LaneSpan<T>& y, T* argmax) {
  constexpr Index step = std::is_same_v<V, T> ? 1 : lane_width<T>;
  const Index k = g.kernel, width = g.width;
  for_each_window(g, x.rows, np, [&, k, width](Index c, Index in, Index out) {
    for (Index n = 0; n < np; n += step) {
      const T* window = x.row(c) + in + n;
      constexpr bool relu = P == Pooling::relu_max;
      V best(relu ? T(0) : -std::numeric_limits<T>::infinity()), at(relu ? T(-1) : T(0));
      for (Index i = 0; i < k; ++i)
        for (Index j = 0; j < k; ++j) {
          const V v = load_value<V>(window + (i * width + j) * np);
          const auto take = takes_max(v, best);
          best = pick(take, v, best);
          if constexpr (WithArgmax) at = pick(take, V(static_cast<T>(i * k + j)), at);
        }
      if constexpr (relu && WithArgmax) at = pick(is_nan(best), V(T(-1)), at);
      store_value(y.row(c) + out + n, best);
      if constexpr (WithArgmax) store_value(argmax + c * y.ld + out + n, at);
    }
  });
}

// dx at the window's chosen input += dy, for `V` lanes.
template <class V, class T>
void window_backward(const PoolGeometry& g, Index np, const T* dy, const T* argmax, T* dx) {
  const V d = load_value<V>(dy), at = load_value<V>(argmax);
  for (Index i = 0; i < g.kernel; ++i)
    for (Index j = 0; j < g.kernel; ++j) {
      T* target = dx + (i * g.width + j) * np;
      const V here(static_cast<T>(i * g.kernel + j));
      store_value(target, load_value<V>(target) + pick(at == here, d, V(T(0))));
    }
}

// The windows of one sample without argmax (evaluation): the maximum and a NaN flag kept apart,
// which compiles without branches; a window with a NaN gives NaN, as PyTorch's rule does.
template <Pooling P, class T>
void pool_one_sample(const PoolGeometry& g, const LaneView<T>& x, const LaneSpan<T>& y) {
  const Index k = g.kernel, s = g.stride, width = g.width, out_width = g.out_width;
  for (Index c = 0; c < x.rows; ++c)
    for (Index oh = 0; oh < g.out_height; ++oh)
      for (Index ow = 0; ow < out_width; ++ow) {
        const T* window = x.row(c) + oh * s * width + ow * s;
        T best = P == Pooling::relu_max ? T(0) : -std::numeric_limits<T>::infinity();
        bool nan = false;
        for (Index i = 0; i < k; ++i)
          for (Index j = 0; j < k; ++j) {
            const T v = window[i * width + j];
            best = v > best ? v : best;
            nan |= v != v;
          }
        y.row(c)[oh * out_width + ow] = nan ? std::numeric_limits<T>::quiet_NaN() : best;
      }
}

}  // namespace detail

// x (C, H*W*Np) -> y (C, Ho*Wo*Np); argmax (same shape as y) is written unless null.
template <Pooling P, class T>
void maxpool_forward(const PoolGeometry& g, Index np, const std::type_identity_t<LaneView<T>>& x,
                     const LaneSpan<T>& y, T* argmax) {
  if (np == 1 && argmax) detail::pool_windows<P, true, T>(g, np, x, y, argmax);
  if (np == 1 && !argmax) detail::pool_one_sample<P>(g, x, y);
  if (np > 1 && argmax) detail::pool_windows<P, true, Lanes<T>>(g, np, x, y, argmax);
  if (np > 1 && !argmax) detail::pool_windows<P, false, Lanes<T>>(g, np, x, y, argmax);
}

// dy (C, Ho*Wo*Np), argmax as written by maxpool_forward -> dx (C, H*W*Np), zeroed first.
template <class T>
void maxpool_backward(const PoolGeometry& g, Index np, const std::type_identity_t<LaneView<T>>& dy,
                      const T* argmax, const LaneSpan<T>& dx) {
  for (Index c = 0; c < dx.rows; ++c) std::fill_n(dx.row(c), dx.cols, T(0));
  detail::for_each_window(g, dy.rows, np, [&](Index c, Index in, Index out) {
    const T* d = dy.row(c) + out;
    const T* at = argmax + c * dy.ld + out;
    T* target = dx.row(c) + in;
    if (np == 1) {
      detail::window_backward<T>(g, np, d, at, target);
      return;
    }
    for (Index n = 0; n < np; n += lane_width<T>)
      detail::window_backward<Lanes<T>>(g, np, d + n, at + n, target + n);
  });
}

}  // namespace cnnlstm::kernels
