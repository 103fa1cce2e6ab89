#pragma once
// 2-D max pooling, PyTorch's nn.MaxPool2d with a square window, no padding, floor mode.
//   x (N, C, H, W)  ->  y (N, C, Ho, Wo),   Ho = floor((H - k) / s) + 1 (Wo likewise)
//
// The maximum of a window is chosen by PyTorch's CPU rule: scanning the window row-major,
// a value replaces the running maximum if it is greater or NaN. Ties therefore go to the first
// maximum, and a window with NaN outputs NaN (the last NaN in scan order). Backward sends each
// output's gradient to that one input, adding up where overlapping windows (s < k) share it.

#include <cmath>
#include <limits>
#include <string>

#include "../context.hpp"
#include "../tensor.hpp"

namespace cnnlstm {

template <class T>
class MaxPool2d {
 public:
  // stride 0 means stride = kernel, PyTorch's default.
  explicit MaxPool2d(Index kernel, Index stride = 0)
      : kernel_(kernel), stride_(stride == 0 ? kernel : stride) {
    if (kernel < 1)
      throw ConfigError("MaxPool2d: kernel must be positive, got " + std::to_string(kernel));
    if (stride < 0)
      throw ConfigError("MaxPool2d: stride must be >= 0 (0 means the kernel), got " +
                        std::to_string(stride));
  }

  Index kernel() const { return kernel_; }
  Index stride() const { return stride_; }

  // (Ho, Wo) for an input of (height, width); throws if the window does not fit once.
  Shape<2> output_size(Index height, Index width) const {
    if (height < kernel_ || width < kernel_)
      throw ShapeError("MaxPool2d: input " + std::to_string(height) + "x" + std::to_string(width) +
                       " is smaller than kernel " + std::to_string(kernel_));
    return {(height - kernel_) / stride_ + 1, (width - kernel_) / stride_ + 1};
  }

  // x (N, C, H, W) -> y (N, C, Ho, Wo); in training also argmax (N, C, Ho, Wo)
  TensorRef<T, 4> forward(TensorRef<T, 4> x, const Context& ctx) {
    const auto [ho, wo] = output_size(x.dimension(2), x.dimension(3));
    const Index h = x.dimension(2), w = x.dimension(3), planes = x.dimension(0) * x.dimension(1);
    input_shape_ = x.shape();
    cached_ = ctx.training();
    y_.resize({x.dimension(0), x.dimension(1), ho, wo});
    if (cached_) argmax_.resize(y_.shape());
    T* y = y_.data();
    for (Index plane = 0; plane < planes; ++plane) {
      const T* in = x.data() + plane * h * w;  // (H, W)
      for (Index oh = 0; oh < ho; ++oh)
        for (Index ow = 0; ow < wo; ++ow) {
          const Index out = (plane * ho + oh) * wo + ow;
          const Index at = window_argmax(in, w, oh * stride_, ow * stride_);
          y[out] = in[at];
          if (cached_) argmax_.data()[out] = plane * h * w + at;
        }
    }
    return y_;
  }

  // dy (N, C, Ho, Wo) -> dx (N, C, H, W): dx[argmax[i]] += dy[i], zero elsewhere
  TensorRef<T, 4> backward(TensorRef<T, 4> dy) {
    if (!cached_) throw UsageError("MaxPool2d: backward needs a training-mode forward");
    if (dy.shape() != y_.shape())
      throw ShapeError("MaxPool2d backward: expected gradient " + shape_string(y_.shape()) +
                       ", got " + shape_string(dy.shape()));
    dx_.resize(input_shape_);
    dx_.set_zero();
    const Index* from = argmax_.data();
    for (Index i = 0; i < dy.size(); ++i) dx_.data()[from[i]] += dy.data()[i];
    return dx_;
  }

 private:
  // Offset in the plane (H, W) of the maximum of the window whose top-left corner is
  // (top, left): PyTorch's `val > maxval || isnan(val)`, starting from -inf at the first element.
  Index window_argmax(const T* plane, Index width, Index top, Index left) const {
    Index best = top * width + left;
    T best_value = -std::numeric_limits<T>::infinity();
    for (Index i = 0; i < kernel_; ++i)
      for (Index j = 0; j < kernel_; ++j) {
        const Index at = (top + i) * width + left + j;
        if (plane[at] > best_value || std::isnan(plane[at])) {
          best_value = plane[at];
          best = at;
        }
      }
    return best;
  }

  Index kernel_, stride_;
  bool cached_ = false;
  Shape<4> input_shape_{};        // (N, C, H, W) of the last forward
  TensorBuffer<T, 4> y_;          // (N, C, Ho, Wo)
  TensorBuffer<Index, 4> argmax_; // (N, C, Ho, Wo): offset of the chosen input in x
  TensorBuffer<T, 4> dx_;         // (N, C, H, W)
};

}  // namespace cnnlstm
