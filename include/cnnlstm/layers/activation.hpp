#pragma once
// Elementwise activations ReLU, Tanh and Sigmoid, on tensors of any rank.
// Each caches its output y, from which its derivative follows:
//   ReLU     y = max(x, 0)         dy/dx = 1 if y > 0 else 0   (PyTorch: 0 at x <= 0)
//   Tanh     y = tanh(x)           dy/dx = 1 - y^2
//   Sigmoid  y = 1 / (1 + e^-x)    dy/dx = y (1 - y)

#include <cmath>

#include "../context.hpp"
#include "../tensor.hpp"

namespace cnnlstm {

struct ReluFunction {
  static constexpr const char* name = "ReLU";
  template <class T>
  static T value(T x) { return x > T(0) ? x : T(0); }
  template <class T>
  static T slope_from_output(T y) { return y > T(0) ? T(1) : T(0); }
};

struct TanhFunction {
  static constexpr const char* name = "Tanh";
  template <class T>
  static T value(T x) { return std::tanh(x); }
  template <class T>
  static T slope_from_output(T y) { return T(1) - y * y; }
};

struct SigmoidFunction {
  static constexpr const char* name = "Sigmoid";
  template <class T>
  static T value(T x) { return T(1) / (T(1) + std::exp(-x)); }
  template <class T>
  static T slope_from_output(T y) { return y * (T(1) - y); }
};

template <class T, int Rank, class Function>
class Activation {
 public:
  // x (any shape) -> y (same shape)
  TensorRef<T, Rank> forward(TensorRef<T, Rank> x, const Context& ctx) {
    y_.resize(x.shape());
    const T* in = x.data();
    T* out = y_.data();
    for (Index i = 0; i < x.size(); ++i) out[i] = Function::value(in[i]);
    cached_ = ctx.training();
    return y_;
  }

  // dy -> dx = dy * f'(x)
  TensorRef<T, Rank> backward(TensorRef<T, Rank> dy) {
    if (!cached_)
      throw UsageError(std::string(Function::name) + ": backward needs a training-mode forward");
    require_shape(dy.shape() == y_.shape(), std::string(Function::name) + " backward",
                  shape_string(y_.shape()), dy.shape());
    dx_.resize(dy.shape());
    const T* g = dy.data();
    const T* y = y_.data();
    T* out = dx_.data();
    for (Index i = 0; i < dy.size(); ++i) out[i] = g[i] * Function::slope_from_output(y[i]);
    return dx_;
  }

 private:
  bool cached_ = false;
  TensorBuffer<T, Rank> y_;
  TensorBuffer<T, Rank> dx_;
};

template <class T, int Rank>
using ReLU = Activation<T, Rank, ReluFunction>;
template <class T, int Rank>
using Tanh = Activation<T, Rank, TanhFunction>;
template <class T, int Rank>
using Sigmoid = Activation<T, Rank, SigmoidFunction>;

}  // namespace cnnlstm
