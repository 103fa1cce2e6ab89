#pragma once
// Vectorised sigmoid and tanh (and the exp under them) for the activations and the LSTM cell.
// In float they are written here, short and branch-free, with a relative error below 2e-7 (a few
// units in the last place; tests/kernels/test_kernel_elementwise.cpp checks them against double);
// in double, where speed does not matter (gradient checks), they are xsimd's.
//
//   exp(x):     x = k ln2 + r, |r| <= ln2/2;  e^r = 1 + r + r^2 P(r);  e^x = e^r 2^k,
//               for x in [-87.3, 88] (x is clamped there: only sigmoid and tanh use it)
//   sigmoid(x)  = 1 / (1 + exp(-x))
//   tanh(x):    |x| < 0.625: x + x^3 Q(x^2) (no cancellation near 0);
//               else sign(x) (1 - 2 / (1 + exp(2|x|)))
// P and Q are fits of minimal relative error on those intervals; 1 / d is a Newton step with
// AVX-512 (see inverse).

#include <cstdint>

#include "simd.hpp"

namespace cnnlstm::kernels {

namespace detail {

// c[0] + s (c[1] + s (c[2] + ...)) by Horner's rule
template <class V, std::size_t N>
V horner(const V& s, const float (&c)[N]) {
  V p(c[N - 1]);
  for (std::size_t i = N - 1; i-- > 0;) p = xsimd::fma(p, s, V(c[i]));
  return p;
}

// e^x for x clamped to [-87.3, 88]: the bounds keep 2^k a normal float, and beyond them sigmoid
// and tanh are already 0 or 1 to within 1e-38.
inline Lanes<float> exp_float(const Lanes<float>& x_in) {
  using V = Lanes<float>;
  constexpr float p[] = {0.49999994f, 0.166665211f, 0.0416683890f, 0.00836871099f, 0.00138146081f};
  // max(low, x) and min(high, x) return x when x is NaN (x86 maxps/minps return their second
  // operand when unordered, NEON propagates NaN), so NaN passes through
  const V x = xsimd::min(V(88.0f), xsimd::max(V(-87.3f), x_in));
  // round(x / ln2) + 127 lands in the low mantissa bits of t: adding 1.5 * 2^23 rounds to an integer
  const V magic(12582912.0f + 127.0f);
  const V t = xsimd::fma(x, V(1.44269504f), magic);
  const V k = t - magic;  // the rounded exponent, k in [-126, 127]
  V r = xsimd::fnma(k, V(0.693359375f), x);  // x - k ln2, ln2 in two parts
  r = xsimd::fnma(k, V(-2.12194440e-4f), r);
  const V e_r = xsimd::fma(horner(r, p), r * r, r) + V(1.0f);
  return e_r * xsimd::bitwise_cast<V>(xsimd::bitwise_cast<xsimd::batch<std::int32_t>>(t) << 23);
}

// 1 / d. With AVX-512, whose reciprocal approximation (rcp14) is good to 2^-14, one Newton step
// written as r + r (1 - d r) reaches float precision and is cheaper than a division (the LSTM
// cell needs five per vector); other targets divide.
inline Lanes<float> inverse(const Lanes<float>& d) {
  if constexpr (sizeof(Lanes<float>) == 64) {
    const Lanes<float> r = xsimd::reciprocal(d);
    return xsimd::fma(r, xsimd::fnma(d, r, Lanes<float>(1.0f)), r);
  } else {
    return Lanes<float>(1.0f) / d;
  }
}

inline Lanes<float> tanh_float(const Lanes<float>& x) {
  using V = Lanes<float>;
  constexpr float q[] = {-0.333332807f, 0.133314446f, -0.0537398271f, 0.0206393693f, -0.00570523227f};
  const V a = xsimd::abs(x), s = x * x;
  const V small = xsimd::fma(x * s, horner(s, q), x);
  const V large = xsimd::fnma(V(2.0f), inverse(V(1.0f) + exp_float(a + a)), V(1.0f));
  return xsimd::select(a < V(0.625f), small, xsimd::copysign(large, x));
}

}  // namespace detail

template <class T>
Lanes<T> sigmoid(const Lanes<T>& x) {
  if constexpr (std::is_same_v<T, float>)
    return detail::inverse(Lanes<T>(T(1)) + detail::exp_float(-x));
  else
    return Lanes<T>(T(1)) / (Lanes<T>(T(1)) + xsimd::exp(-x));
}

template <class T>
Lanes<T> tanh(const Lanes<T>& x) {
  if constexpr (std::is_same_v<T, float>)
    return detail::tanh_float(x);
  else
    return xsimd::tanh(x);
}

}  // namespace cnnlstm::kernels
