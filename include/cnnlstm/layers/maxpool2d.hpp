#pragma once
// 2-D max pooling, PyTorch's nn.MaxPool2d with a square window, no padding, floor mode.
//   x (N, C, H, W)  ->  y (N, C, Ho, Wo),   Ho = floor((H - k) / s) + 1 (Wo likewise)
//
// The maximum of a window is chosen by PyTorch's CPU rule: scanning the window row-major,
// a value replaces the running maximum if it is greater or NaN. Ties therefore go to the first
// maximum, and a window with NaN outputs NaN (the last NaN in scan order). Backward sends each
// output's gradient to that one input, adding up where overlapping windows (s < k) share it.
//
// ReluMaxPool2d is ReLU followed by MaxPool2d in one pass (the CNN branch's conv blocks end with
// both): the same values and gradients as the two layers, without the ReLU's own pass over the
// convolution's output (see kernels::Pooling::relu_max).
// forward/backward in PyTorch's layout come from TorchLayout (torch_layout.hpp).

#include <string>

#include "../core/context.hpp"
#include "../kernels/lane_tensor.hpp"
#include "../kernels/maxpool.hpp"
#include "../core/tensor.hpp"
#include "torch_layout.hpp"

namespace cnnlstm {

template <class T, kernels::Pooling P>
class Pool2d : public TorchLayout<Pool2d<T, P>, T, 4, 4> {
 public:
  static constexpr const char* name = P == kernels::Pooling::max ? "MaxPool2d" : "ReluMaxPool2d";

  // stride 0 means stride = kernel, PyTorch's default.
  explicit Pool2d(Index kernel, Index stride = 0)
      : kernel_(kernel), stride_(stride == 0 ? kernel : stride) {
    if (kernel < 1)
      throw ConfigError(std::string(name) + ": kernel must be positive, got " + std::to_string(kernel));
    if (stride < 0)
      throw ConfigError(std::string(name) + ": stride must be >= 0 (0 means the kernel), got " +
                        std::to_string(stride));
  }

  Index kernel() const { return kernel_; }
  Index stride() const { return stride_; }

  // (Ho, Wo) for an input of (height, width); throws if the window does not fit once.
  Shape<2> output_size(Index height, Index width) const {
    if (height < kernel_ || width < kernel_)
      throw ShapeError(std::string(name) + ": input " + std::to_string(height) + "x" + std::to_string(width) +
                       " is smaller than kernel " + std::to_string(kernel_));
    return {(height - kernel_) / stride_ + 1, (width - kernel_) / stride_ + 1};
  }

  // x (N, C, H, W) -> y (N, C, Ho, Wo); in training also the argmax of each window
  // (in lanes, kernels/maxpool.hpp)
  kernels::LaneTensor<T, 4> forward_lanes(const kernels::LaneTensor<T, 4>& x, const Context& ctx) {
    const auto [ho, wo] = output_size(x.shape[2], x.shape[3]);
    input_shape_ = x.shape;
    output_shape_ = {x.shape[0], x.shape[1], ho, wo};
    cached_ = ctx.training();
    const kernels::LaneSpan<T> y = kernels::resize_lanes(y_lanes_, output_shape_);
    T* argmax = cached_ ? kernels::resize_lanes(argmax_, output_shape_).data : nullptr;
    kernels::maxpool_forward<P, T>(geometry(), x.stride(), x.lanes, y, argmax);
    return {y, output_shape_};
  }

  // dy (N, C, Ho, Wo) -> dx (N, C, H, W): dx at each window's argmax += dy, zero elsewhere
  kernels::LaneTensor<T, 4> backward_lanes(const kernels::LaneTensor<T, 4>& dy) {
    if (!cached_) throw UsageError(std::string(name) + ": backward needs a training-mode forward");
    if (dy.shape != output_shape_)
      throw ShapeError(std::string(name) + " backward: expected gradient " + shape_string(output_shape_) +
                       ", got " + shape_string(dy.shape));
    const kernels::LaneSpan<T> dx = kernels::resize_lanes(dx_lanes_, input_shape_);
    kernels::maxpool_backward(geometry(), dy.stride(), dy.lanes, argmax_.view().data, dx);
    return {dx, input_shape_};
  }

 private:
  kernels::PoolGeometry geometry() const {
    return {input_shape_[2], input_shape_[3], kernel_, stride_, output_shape_[2], output_shape_[3]};
  }

  Index kernel_, stride_;
  bool cached_ = false;
  Shape<4> input_shape_{}, output_shape_{};  // (N, C, H, W) and (N, C, Ho, Wo) of the last forward
  kernels::LaneBuffer<T> y_lanes_, dx_lanes_;
  kernels::LaneBuffer<T> argmax_;             // like y: the chosen window offset i * k + j (or -1)
};

template <class T>
using MaxPool2d = Pool2d<T, kernels::Pooling::max>;
template <class T>
using ReluMaxPool2d = Pool2d<T, kernels::Pooling::relu_max>;

}  // namespace cnnlstm
