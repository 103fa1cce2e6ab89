#pragma once
// Elementwise activations ReLU, Tanh and Sigmoid, on tensors of any rank.
// Each caches its output y, from which its derivative follows (value and gradient act on vectors):
//   ReLU     y = max(x, 0)         dx = dy where y > 0, else 0   (PyTorch: 0 at x <= 0)
//   Tanh     y = tanh(x)           dx = dy (1 - y^2)
//   Sigmoid  y = 1 / (1 + e^-x)    dx = dy y (1 - y)
// Inside a model they run on the lane layout, a vector at a time (kernels/vector_math.hpp);
// forward/backward in PyTorch's layout come from TorchLayout (torch_layout.hpp).

#include "../core/context.hpp"
#include "../kernels/lane_tensor.hpp"
#include "../kernels/vector_math.hpp"
#include "../core/tensor.hpp"
#include "torch_layout.hpp"

namespace cnnlstm {

struct ReluFunction {
  static constexpr const char* name = "ReLU";
  template <class T>
  static kernels::Lanes<T> value(const kernels::Lanes<T>& x) {
    return xsimd::select(x <= T(0), kernels::Lanes<T>(T(0)), x);  // NaN stays NaN, as in torch.relu
  }
  template <class T>
  static kernels::Lanes<T> gradient(const kernels::Lanes<T>& dy, const kernels::Lanes<T>& y) {
    return xsimd::select(y > T(0), dy, kernels::Lanes<T>(T(0)));
  }
};

struct TanhFunction {
  static constexpr const char* name = "Tanh";
  template <class T>
  static kernels::Lanes<T> value(const kernels::Lanes<T>& x) { return kernels::tanh(x); }
  template <class T>
  static kernels::Lanes<T> gradient(const kernels::Lanes<T>& dy, const kernels::Lanes<T>& y) {
    return dy * xsimd::fnma(y, y, kernels::Lanes<T>(T(1)));
  }
};

struct SigmoidFunction {
  static constexpr const char* name = "Sigmoid";
  template <class T>
  static kernels::Lanes<T> value(const kernels::Lanes<T>& x) { return kernels::sigmoid(x); }
  template <class T>
  static kernels::Lanes<T> gradient(const kernels::Lanes<T>& dy, const kernels::Lanes<T>& y) {
    return dy * y * (kernels::Lanes<T>(T(1)) - y);
  }
};

template <class T, int Rank, class Function>
class Activation : public TorchLayout<Activation<T, Rank, Function>, T, Rank, Rank> {
 public:
  // x (any shape) -> y (same shape), in lanes
  kernels::LaneTensor<T, Rank> forward_lanes(const kernels::LaneTensor<T, Rank>& x, const Context& ctx) {
    const kernels::LaneView<T> in = x.lanes;
    const kernels::LaneSpan<T> out = y_lanes_.resize(in.rows, in.cols);
    kernels::for_each_piece<T>(in.rows, in.cols, in.ld, [&](Index at, auto count) {
      kernels::store_lanes(out.data + at, Function::value(kernels::load_lanes(in.data + at, count)), count);
    });
    shape_ = x.shape;
    cached_ = ctx.training();
    return {out, shape_};
  }

  // dy -> dx = dy * f'(x), in lanes
  kernels::LaneTensor<T, Rank> backward_lanes(const kernels::LaneTensor<T, Rank>& dy) {
    if (!cached_)
      throw UsageError(std::string(Function::name) + ": backward needs a training-mode forward");
    if (dy.shape != shape_)
      throw ShapeError(std::string(Function::name) + " backward: expected input " + shape_string(shape_) +
                       ", got " + shape_string(dy.shape));
    const kernels::LaneView<T> g = dy.lanes, y = y_lanes_.view();
    const kernels::LaneSpan<T> out = dx_lanes_.resize(g.rows, g.cols);
    kernels::for_each_piece<T>(g.rows, g.cols, g.ld, [&](Index at, auto count) {
      const auto grad =
          Function::gradient(kernels::load_lanes(g.data + at, count), kernels::load_lanes(y.data + at, count));
      kernels::store_lanes(out.data + at, grad, count);
    });
    return {out, shape_};
  }

 private:
  bool cached_ = false;
  Shape<Rank> shape_{};
  kernels::LaneBuffer<T> y_lanes_, dx_lanes_;
};

template <class T, int Rank>
using ReLU = Activation<T, Rank, ReluFunction>;
template <class T, int Rank>
using Tanh = Activation<T, Rank, TanhFunction>;
template <class T, int Rank>
using Sigmoid = Activation<T, Rank, SigmoidFunction>;

}  // namespace cnnlstm
